"""``factoryos fit`` end to end: a twin's events in a DuckDB file, a table, overlay, figure."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from typer.testing import CliRunner

from factoryos.app.simulation import load_plant_and_scenario, run_simulation
from factoryos.cli.main import app
from factoryos.model.distributions import Weibull
from factoryos.store.duckdb_store import DuckDBStore
from tests.reliability.plants import RELIABILITY_PLANT, reliability_plant

runner = CliRunner(env={"COLUMNS": "220"})
START = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)


def test_fit_prints_pools_and_writes_an_overlay_the_twin_reads(tmp_path: Path) -> None:
    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(RELIABILITY_PLANT, encoding="utf-8")
    db = tmp_path / "plant.duckdb"
    with DuckDBStore(str(db)) as store:
        run_simulation(
            reliability_plant(),
            days=40,
            seed=1,
            demand_per_year=50_000,
            start=START,
            store=store,
            processes=1,
        )
    out, figure = tmp_path / "fitted.yaml", tmp_path / "fit.png"
    result = runner.invoke(
        app,
        [
            "fit",
            "--plant", str(plant_file),
            "--db", str(db),
            "--from", "2026-01-05",
            "--to", "2026-02-14",
            "--out", str(out),
            "--figure", str(figure),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "mill" in result.output and "weibull" in result.output
    assert figure.stat().st_size > 10_000
    failure = load_plant_and_scenario(plant_file, out).equipment_by_id["mill"].failure
    assert failure is not None and isinstance(failure.time_between_failures, Weibull)


def test_an_empty_store_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(RELIABILITY_PLANT, encoding="utf-8")
    DuckDBStore(str(tmp_path / "empty.duckdb")).close()
    result = runner.invoke(
        app, ["fit", "--plant", str(plant_file), "--db", str(tmp_path / "empty.duckdb")]
    )
    assert result.exit_code == 1
    assert "event store is empty" in result.output
    assert "Traceback" not in result.output
