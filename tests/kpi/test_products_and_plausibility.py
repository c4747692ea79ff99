"""Finished products apart from operation counts; effectiveness above 100 % is a modelling error."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factoryos.cli.kpi import significant
from factoryos.cli.main import app
from factoryos.kpi.from_events import aggregate_events
from factoryos.kpi.report import GroupBy, KpiReport, build_query, compute_report
from factoryos.model import (
    EnergyReading,
    Plant,
    PlantModelError,
    ProductionCount,
    StateChange,
    load_plant_text,
)
from factoryos.model.events import Event
from factoryos.store.duckdb_store import DuckDBStore
from tests.kpi.conftest import local
from tests.model.plants import MINI, replaced

CNC1 = "acme/plant1/main/line1/cnc/1"
BENCH = "acme/plant1/main/line1/bench"
# the widget is assembled, then packed; 'assemble' may be marked as its count point
TWO_STEPS = replaced(
    "{id: assemble, skill: assembly, run_time: 5 min, consumes: [{product: part, quantity: 2}]}",
    "{id: assemble, skill: assembly, run_time: 5 min, consumes: [{product: part, quantity: 2}]}"
    "\n      - {id: pack, skill: assembly, run_time: 1 min}",
)


def _report(plant: Plant, events: list[Event], by: GroupBy = GroupBy.TOTAL) -> KpiReport:
    query = build_query(plant, local(5, 0), local(6, 0), None, by)
    rows = aggregate_events(events, query, by_reason=True)
    units = aggregate_events(events, dataclasses.replace(query, group_by=("path",))).states
    return compute_report(plant, query, by, rows, units)


def _counts(*rows: tuple[str, str, str, int]) -> list[Event]:
    return [
        ProductionCount(
            f"c-{operation}", local(5, 15), path, product, good=good, operation=operation
        )
        for path, product, operation, good in rows
    ]


def test_finished_products_are_counted_once_apart_from_operation_counts() -> None:
    plant = load_plant_text(TWO_STEPS)
    events = _counts(
        (CNC1, "part", "mill", 20), (BENCH, "widget", "assemble", 10), (BENCH, "widget", "pack", 8)
    )
    q = _report(plant, events).total.inputs.quantities
    assert q.gq == 38  # good units summed over every step: 20 parts + 10 + 8
    assert q.finished_good == 8  # widgets at the last step; parts go into widgets
    assert q.value_added_cny == 8 * 1000
    marked = load_plant_text(
        TWO_STEPS.replace(
            "{id: assemble, skill: assembly,", "{id: assemble, count_point: true, skill: assembly,"
        )
    )
    assert _report(marked, events).total.inputs.quantities.finished_good == 10


def test_a_routing_has_at_most_one_count_point() -> None:
    text = TWO_STEPS.replace("run_time: 5 min,", "run_time: 5 min, count_point: true,").replace(
        "run_time: 1 min}", "run_time: 1 min, count_point: true}"
    )
    with pytest.raises(PlantModelError) as caught:
        load_plant_text(text, filename="plant.yaml")
    [issue] = caught.value.issues
    assert issue.field == "products[1].routing[1].count_point"
    assert "a second count point in the routing of 'widget' (the first is step 'assemble')" in (
        issue.message
    )


def _fast_cnc(parts: int) -> list[Event]:
    # producing 08:00-10:00 (APT 7,200 s); 'mill' is planned at 10 min = 600 s per part
    return [
        StateChange("s1", local(5, 8), CNC1, "producing"),
        StateChange("s2", local(5, 10), CNC1, "idle"),
        *_counts((CNC1, "part", "mill", parts)),
    ]


def test_effectiveness_above_100_percent_names_the_unit_and_its_cycle_times() -> None:
    plant = load_plant_text(TWO_STEPS)
    report = _report(plant, _fast_cnc(30), GroupBy.DAY)  # 30 x 600 s = 18,000 s in 7,200 s
    [error] = report.modelling_errors
    assert (error.path, error.apt_s, error.planned_run_s) == (CNC1, 7200, 18000)
    assert error.effectiveness == pytest.approx(2.5)
    assert error.message.startswith(
        f"{CNC1}: effectiveness 250%: the model's cycle times add up to 5.00 h for 30 units, but "
        "the unit produced for 2.00 h in planned busy time (part/mill on cnc: run time 10.0 min "
        "x 30); a modelling error"
    )
    by_unit = _report(plant, _fast_cnc(30), GroupBy.EQUIPMENT)
    assert [e.path for e in by_unit.modelling_errors] == [CNC1]


def test_one_unit_carried_over_from_before_the_window_is_not_an_error() -> None:
    plant = load_plant_text(TWO_STEPS)
    # 13 x 600 s = 7,800 s: one part more than 2 h allow, started before the window
    assert _report(plant, _fast_cnc(13)).modelling_errors == []
    assert len(_report(plant, _fast_cnc(14)).modelling_errors) == 1


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.012345, "0.0123"), (1.2345, "1.23"), (123.45, "123"), (12345.6, "12,346"), (0.0, "0")],
)
def test_kwh_per_unit_keeps_three_significant_digits(value: float, text: str) -> None:
    assert significant(value) == text


def test_kpi_table_and_json_label_both_counts_and_flag_the_error(tmp_path: Path) -> None:
    plant = tmp_path / "plant.yaml"
    plant.write_text(TWO_STEPS)
    db = tmp_path / "events.duckdb"
    events = [
        *_fast_cnc(30),
        *_counts((BENCH, "widget", "assemble", 10), (BENCH, "widget", "pack", 8)),
        EnergyReading("e1", local(5, 9), CNC1, 0.1),
    ]
    with DuckDBStore(db) as store:
        store.append(events)
    runner = CliRunner(env={"COLUMNS": "250"})
    args = [
        "kpi",
        "--db",
        str(db),
        "--plant",
        str(plant),
        "--from",
        "2026-01-05",
        "--to",
        "2026-01-06",
    ]
    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.output
    assert "ops good" in table.output and "products" in table.output
    assert "finished good products" in table.output
    assert "0.0125" in table.output  # 0.1 kWh over 8 products, not "0"
    assert f"modelling error: {CNC1}: effectiveness 250%" in table.output
    report = json.loads(runner.invoke(app, [*args, "--json"]).output)
    quantities = report["total"]["quantities"]
    assert (quantities["gq"], quantities["finished_good"]) == (48, 8)
    [error] = report["modelling_errors"]
    assert error["path"] == CNC1 and error["effectiveness"] == pytest.approx(2.5)
    assert error["cycle_times"] == [
        {"product": "part", "operation": "mill", "equipment": "cnc", "pri_s": 600.0, "units": 30}
    ]


def test_money_of_a_site_in_another_currency_is_reported_in_cny() -> None:
    """The model's money is in the site's currency; the KPIs (value added, operating cost,
    energy per 10,000 CNY of value added) are the programme's figures, in CNY."""
    events = [
        *_counts((CNC1, "part", "mill", 20), (BENCH, "widget", "assemble", 10)),
        EnergyReading("e1", local(5, 9), CNC1, 50.0),
    ]
    in_cny = _report(load_plant_text(MINI), events).total
    in_eur = _report(
        load_plant_text(
            replaced(
                "site: {id: plant1, timezone: Asia/Shanghai}",
                "site: {id: plant1, timezone: Asia/Shanghai, currency: EUR, cny_per_unit: 7.9}",
            )
        ),
        events,
    ).total
    assert in_eur.inputs.quantities.value_added_cny == pytest.approx(
        7.9 * in_cny.inputs.quantities.value_added_cny
    )
    assert in_cny.inputs.quantities.value_added_cny > 0
    cost = in_cny.kpis["operating_cost_cny"]
    assert cost is not None and cost > 0
    assert in_eur.kpis["operating_cost_cny"] == pytest.approx(7.9 * cost)
    assert in_eur.kpis["energy_per_10k_cny_value_added_kwh"] == pytest.approx(
        in_cny.kpis["energy_per_10k_cny_value_added_kwh"] / 7.9
    )
    assert in_eur.inputs.resources.energy_kwh == in_cny.inputs.resources.energy_kwh
