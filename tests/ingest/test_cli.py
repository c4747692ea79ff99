"""The ingest and dead-letter commands from the command line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from typer.testing import CliRunner

from factoryos.cli.main import app
from factoryos.model import load_plant
from factoryos.model.deadletter import DeadLetter
from factoryos.store.deadletters import DuckDBDeadLetterStore

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_check_lists_units_per_rule() -> None:
    result = runner.invoke(
        app,
        [
            "ingest",
            "check",
            str(ROOT / "examples" / "ingest" / "robot_twin.yaml"),
            "--plant",
            str(ROOT / "examples" / "robot_factory.yaml"),
        ],
    )
    assert result.exit_code == 0, result.output
    units = len(load_plant(ROOT / "examples" / "robot_factory.yaml").work_units)
    assert str(units) in result.output and "Every work unit has a state source" in result.output


def test_check_reports_a_bad_mapping_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  - sparkplug: {group: g, node: n, metric: m}\n    path: a\n")
    result = runner.invoke(
        app, ["ingest", "check", str(bad), "--plant", str(ROOT / "examples" / "robot_factory.yaml")]
    )
    assert result.exit_code == 1
    assert "bad.yaml:2: sources[0].kind" in result.output


def test_deadletters_list_and_show(tmp_path: Path) -> None:
    db = tmp_path / "plant.duckdb"
    store = DuckDBDeadLetterStore(tmp_path / "plant.ingest.duckdb")
    at = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
    store.commit([DeadLetter("dl-1", at, "mqtt", "lab/x/temp", b"\xff", "not UTF-8")], {})
    store.close()
    listed = runner.invoke(app, ["deadletters", "list", "--db", str(db)])
    assert listed.exit_code == 0 and "not UTF-8" in listed.output
    shown = runner.invoke(app, ["deadletters", "show", "dl-1", "--db", str(db)])
    assert shown.exit_code == 0 and "ff" in shown.output and "lab/x/temp" in shown.output
