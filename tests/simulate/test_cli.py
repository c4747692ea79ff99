"""``factoryos simulate`` / ``compare`` end to end on the tiny plant, and ``kpi`` on its events."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from factoryos.cli.main import app
from tests.example_plants import EXAMPLE_PLANTS

from .conftest import TINY_PLANT

runner = CliRunner()


def test_simulate_stores_events_that_kpi_reads(tmp_path: Path) -> None:
    plant = tmp_path / "tiny.yaml"
    plant.write_text(TINY_PLANT, encoding="utf-8")
    db = tmp_path / "twin.duckdb"
    args = ["simulate", str(plant), "--days", "3", "--replications", "2", "--db", str(db)]
    result = runner.invoke(app, [*args, "--demand", "4000", "--start", "2026-03-02"])
    assert result.exit_code == 0, result.output
    assert "Throughput (units/day)" in result.output
    assert "Bottleneck (shifting bottleneck method):" in result.output
    assert "events stored" in result.output

    kpi = ["kpi", "--db", str(db), "--plant", str(plant), "--from", "2026-03-02"]
    report = runner.invoke(app, [*kpi, "--to", "2026-03-05"])
    assert report.exit_code == 0, report.output
    assert "OEE" in report.output


def test_compare_shows_base_scenario_and_difference(tmp_path: Path) -> None:
    plant = tmp_path / "tiny.yaml"
    plant.write_text(TINY_PLANT, encoding="utf-8")
    scenario = tmp_path / "half_day.yaml"
    scenario.write_text(
        "description: a short day\n"
        "calendars:\n  day:\n    shifts:\n"
        '      - {name: day, start: "06:00", end: "12:00", days: [mon, tue, wed, thu, fri]}\n',
        encoding="utf-8",
    )
    args = ["compare", str(plant), "--scenario", str(scenario), "--days", "3"]
    result = runner.invoke(app, [*args, "--replications", "3", "--demand", "4000"])
    assert result.exit_code == 0, result.output
    assert "significant" in result.output  # half the hours: fewer units, beyond noise
    assert "Bottleneck: base" in result.output


def test_a_bad_scenario_is_reported_without_a_traceback(tmp_path: Path) -> None:
    plant = tmp_path / "tiny.yaml"
    plant.write_text(TINY_PLANT, encoding="utf-8")
    scenario = tmp_path / "bad.yaml"
    scenario.write_text("areas: [{id: parts, lines: [{id: cutting, input_buffer: -1}]}]\n")
    result = runner.invoke(app, ["simulate", str(plant), "--scenario", str(scenario)])
    assert result.exit_code == 1
    assert "input_buffer" in result.output


def test_rerun_is_idempotent_but_a_scenario_is_a_new_run(tmp_path: Path) -> None:
    plant = tmp_path / "tiny.yaml"
    plant.write_text(TINY_PLANT, encoding="utf-8")
    scenario = tmp_path / "more_benches.yaml"
    scenario.write_text(
        "areas: [{id: final, lines: [{id: assembly, equipment: [{id: bench, units: 3}]}]}]\n"
    )
    db = tmp_path / "twin.duckdb"
    args = ["simulate", str(plant), "--days", "1", "--db", str(db), "--start", "2026-03-02"]
    first = runner.invoke(app, args)
    again = runner.invoke(app, args)
    other = runner.invoke(app, [*args, "--scenario", str(scenario)])
    assert first.exit_code == again.exit_code == other.exit_code == 0, other.output
    assert "\n0 events stored" in again.output
    assert "\n0 events stored" not in first.output
    assert "\n0 events stored" not in other.output


def test_simulate_an_order_book_following_a_plan(tmp_path: Path) -> None:
    plant = tmp_path / "tiny.yaml"
    plant.write_text(TINY_PLANT, encoding="utf-8")
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order,product,quantity,release,due\n"
        + "".join(
            f"w{i},widget,2,2026-03-02T05:00:00+00:00,2026-03-04T00:00:00+00:00\n" for i in range(3)
        ),
        encoding="utf-8",
    )
    plan = tmp_path / "schedule.json"
    rows = [
        {
            "order_id": order,
            "product": "widget",
            "operation_id": "cut",
            "equipment_id": "saw",
            "unit_index": 1,
            "start": f"2026-03-02T0{6 + k}:00:00+00:00",
            "end": f"2026-03-02T0{6 + k}:30:00+00:00",
        }
        for k, order in enumerate(["w2", "w0", "w1"])
    ]
    plan.write_text(json.dumps({"status": "feasible", "operations": rows}), encoding="utf-8")
    args = ["simulate", str(plant), "--days", "2", "--start", "2026-03-02"]
    result = runner.invoke(app, [*args, "--orders", str(orders), "--schedule", str(plan)])
    assert result.exit_code == 0, result.output
    assert "Finished units" in result.output
    # the replication whose events are stored follows the plan too
    stored = runner.invoke(
        app,
        [*args, "--orders", str(orders), "--schedule", str(plan), "--db", str(tmp_path / "e.db")],
    )
    assert stored.exit_code == 0, stored.output
    assert "events stored" in stored.output

    plan.write_text('{"operations": [{"order_id": "w0"}]}', encoding="utf-8")
    bad = runner.invoke(app, [*args, "--orders", str(orders), "--schedule", str(plan)])
    assert bad.exit_code == 1
    assert "not a plan: KeyError('product')" in " ".join(bad.output.split())


def test_simulate_takes_a_warm_up_and_a_lot_size(tmp_path: Path) -> None:
    plant = tmp_path / "tiny.yaml"
    plant.write_text(TINY_PLANT, encoding="utf-8")
    args = ["simulate", str(plant), "--days", "3", "--demand", "4000", "--start", "2026-03-04"]
    result = runner.invoke(app, [*args, "--warmup", "2", "--lot-size", "5"])
    assert result.exit_code == 0, result.output
    assert "Finished units" in result.output
    bad = runner.invoke(app, [*args, "--lot-size", "0"])
    assert bad.exit_code != 0
    assert "--lot-size" in bad.output


def test_an_order_book_that_starts_before_the_run_is_taken_as_late_work() -> None:
    electronics = next(p for p in EXAMPLE_PLANTS if p.name == "electronics")
    args = ["simulate", str(electronics.plant), "--orders", str(electronics.orders)]
    # 2026-03-28 is after some orders are due; the run crosses the DST change of 03-29
    result = runner.invoke(app, [*args, "--start", "2026-03-28", "--days", "1"])
    assert result.exit_code == 0, result.output
    assert "Finished units" in result.output
