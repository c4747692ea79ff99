"""The ``factoryos`` command as a person runs it: validate, kpi (table and JSON)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from factoryos.cli.main import app
from factoryos.store.duckdb_store import DuckDBStore
from tests.kpi.test_known_answers import CNC1, _day_of_cnc1

FIXTURES = Path(__file__).parents[1] / "fixtures"
ROBOT_PLANT = Path(__file__).parents[2] / "examples" / "robot_factory.yaml"
runner = CliRunner(env={"COLUMNS": "200"})


def test_validate_prints_capacity_and_bottleneck() -> None:
    result = runner.invoke(
        app, ["validate", str(ROBOT_PLANT), "--year", "2026", "--demand", "10000"]
    )
    assert result.exit_code == 0, result.output
    assert "OK" in result.output
    assert "bottleneck:" in result.output
    assert "nominal output" in result.output


def test_validate_names_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = (FIXTURES / "mini_plant.yaml").read_text()
    bad.write_text(text.replace("skills: [assembly]\n", "skills: [weld]\n", 1))
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "bad.yaml:29: areas[0].lines[0].equipment[1].skills[0]: unknown skill 'weld'" in (
        result.output
    )


def test_kpi_json_follows_the_documented_schema(tmp_path: Path) -> None:
    db = tmp_path / "events.duckdb"
    with DuckDBStore(db) as store:
        store.append(_day_of_cnc1())
    result = runner.invoke(
        app,
        [
            "kpi",
            "--db",
            str(db),
            "--plant",
            str(FIXTURES / "mini_plant.yaml"),
            "--from",
            "2026-01-05",
            "--to",
            "2026-01-06",
            "--node",
            CNC1,
            "--by",
            "day",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["schema"] == "factoryos.kpi/2"
    assert report["modelling_errors"] == []
    assert report["by"] == "day"
    assert [g["group"]["local_day"] for g in report["groups"]] == ["2026-01-05"]
    total = report["total"]
    assert total["time_elements_s"]["apt"] == 19800
    assert abs(total["kpis"]["oee_index"] - 600 * 28 / 27000) < 1e-12
    assert report["downtime_pareto"][0]["reason"] == "spindle"


def test_kpi_table_and_a_clear_error_for_a_missing_store(tmp_path: Path) -> None:
    plant = str(FIXTURES / "mini_plant.yaml")
    missing = runner.invoke(app, ["kpi", "--db", str(tmp_path / "none.duckdb"), "--plant", plant])
    assert missing.exit_code == 1
    assert "no event store" in missing.output
    db = tmp_path / "events.duckdb"
    with DuckDBStore(db) as store:
        store.append(_day_of_cnc1())
    table = runner.invoke(app, ["kpi", "--db", str(db), "--plant", plant, "--node", CNC1])
    assert table.exit_code == 0, table.output
    assert "OEE" in table.output and "62.2%" in table.output
    assert "spindle" in table.output


def test_kpi_chart_is_written(tmp_path: Path) -> None:
    db, chart = tmp_path / "events.duckdb", tmp_path / "kpi.png"
    with DuckDBStore(db) as store:
        store.append(_day_of_cnc1())
    plant = str(FIXTURES / "mini_plant.yaml")
    args = ["kpi", "--db", str(db), "--plant", plant, "--by", "day", "--chart", str(chart)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert chart.stat().st_size > 10_000  # a drawn figure, not an empty canvas
