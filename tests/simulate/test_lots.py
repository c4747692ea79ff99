"""Lots, transfer batches and batch equipment in the twin: known answers, deterministic plant."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from factoryos.model import (
    Event,
    EventKind,
    MachineState,
    OperationEvent,
    ProductionCount,
    StateChange,
    load_plant_text,
)
from factoryos.simulate.demand import ProductionOrder, steady_demand
from factoryos.simulate.results import TwinResult
from factoryos.simulate.twin import PlantTwin
from tests.tiny_plants import tiny_plant

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)

PLANT = tiny_plant(
    "mill, bake",
    """areas:
  - id: a
    lines:
      - id: l
        equipment:
          - {id: mill, kind: cnc, skills: [mill]}
          - {id: oven, kind: oven, category: thermal, skills: [bake], batch_capacity: 4}
products:
  - id: p
    family: f
    value_added_cny: 1
    lot_size: LOT
    TRANSFER
    routing:
      - {id: milling, skill: mill, run_time: 1 min, setup_time: 10 min}
      - {id: baking, skill: bake, run_time: 30 min}
""",
)


def _run(lot: int, transfer: str = "", override: int | None = None) -> list[OperationEvent]:
    text = PLANT.replace("LOT", str(lot)).replace("TRANSFER", transfer)
    plant = load_plant_text(text)
    events: list[OperationEvent] = []
    orders = [ProductionOrder("o1", "p", 8, 0.0, 86400.0)]
    twin = PlantTwin(
        plant,
        orders,
        start=START,
        horizon_s=86400.0,
        sink=lambda e: events.append(e) if isinstance(e, OperationEvent) else None,
        lot_size=override,
    )
    result = twin.run()
    assert result.finished == {"p": 8}
    return events


def _starts(events: list[OperationEvent], op: str) -> list[float]:
    return [
        (e.ts - START).total_seconds() / 60
        for e in events
        if e.kind == EventKind.OPERATION_START and e.operation == op
    ]


def _events_of(text: str, quantity: int, *, seed: int = 0) -> tuple[TwinResult, list[Event]]:
    """A day of the plant ``text`` making one order of ``quantity`` released at the start."""
    events: list[Event] = []
    result = PlantTwin(
        load_plant_text(text),
        [ProductionOrder("o1", "p", quantity, 0.0, 86400.0)],
        start=START,
        horizon_s=86400.0,
        seed=seed,
        sink=events.append,
    ).run()
    return result, events


def test_one_setup_per_lot_and_whole_lot_transfer_into_full_oven_loads() -> None:
    events = _run(lot=4)
    # two lots of 4, each a 10 min setup (the first unit's start event) + 4 x 1 min;
    # a lot moves on when all 4 are milled
    assert _starts(events, "milling") == [0, 11, 12, 13, 14, 25, 26, 27]
    # the oven bakes each lot of 4 in one 30 min cycle
    assert _starts(events, "baking") == [14, 14, 14, 14, 44, 44, 44, 44]


def test_the_command_line_lot_size_replaces_the_products() -> None:
    events = _run(lot=4, override=8)
    assert _starts(events, "milling") == [0, 11, 12, 13, 14, 15, 16, 17]
    assert _starts(events, "baking") == [18, 18, 18, 18, 48, 48, 48, 48]


def test_a_transfer_batch_lets_the_next_step_start_before_the_lot_is_done() -> None:
    events = _run(lot=8, transfer="transfer_batch: 2")
    assert _starts(events, "milling") == [0, 11, 12, 13, 14, 15, 16, 17]
    # the first two units reach the oven at 12 and start a cycle with what is there
    assert _starts(events, "baking")[:2] == [12, 12]


def test_an_unattended_step_runs_through_off_shift_time_an_attended_one_pauses() -> None:
    short_day = PLANT.replace('start: "00:00", end: "24:00"', 'start: "00:00", end: "01:00"')
    short_day = short_day.replace("LOT", "4").replace("TRANSFER", "")
    ends = {}
    for unattended in (True, False):
        text = short_day.replace(
            "run_time: 30 min}", f"run_time: 90 min, unattended: {str(unattended).lower()}}}"
        )
        events: list[Event] = []
        PlantTwin(
            load_plant_text(text),
            [ProductionOrder("o1", "p", 4, 0.0, 86400.0)],
            start=START,
            horizon_s=3 * 86400.0,
            sink=events.append,
        ).run()
        ends[unattended] = next(
            (e.ts - START).total_seconds() / 60
            for e in events
            if isinstance(e, OperationEvent)
            and e.kind == EventKind.OPERATION_END
            and e.operation == "baking"
        )
    assert ends[True] == 14 + 90  # through the night
    assert ends[False] == 24 * 60 + (14 + 90 - 60)  # 46 min left after 01:00, next day


def test_minor_stops_and_speed_loss_make_effectiveness_below_one() -> None:
    performance = (
        "{id: mill, kind: cnc, skills: [mill], performance: {speed_loss: 0.2, minor_stops: "
        "{time_between: {dist: fixed, value: 10 min}, "
        "duration: {dist: gamma, shape: 2, mean: 1 min}}}}"
    )
    text = PLANT.replace("LOT", "100").replace("TRANSFER", "")
    text = text.replace("{id: mill, kind: cnc, skills: [mill]}", performance)
    result, events = _events_of(text, 100)
    mill = next(p for p in result.pools if p.equipment == "mill")
    producing = mill.time_in_state_s[MachineState.PRODUCING]
    stopped = mill.time_in_state_s[MachineState.MINOR_STOP]
    # 100 units of 1 min planned run 100 / 0.8 = 125 min; a stop after every 10 min running
    assert producing == pytest.approx(125 * 60)
    assert (
        12
        <= sum(isinstance(e, StateChange) and e.state == MachineState.MINOR_STOP for e in events)
        <= 13
    )
    assert stopped > 0
    assert mill.good_planned_s == pytest.approx(100 * 60)
    assert mill.good_planned_s / (producing + stopped) < 0.8


def test_a_speed_loss_drawn_per_cycle_varies_the_cycles_around_its_expectation() -> None:
    performance = (
        "{id: mill, kind: cnc, skills: [mill], "
        "performance: {speed_loss: {dist: uniform, low: 0.0, high: 0.4}}}"
    )
    text = PLANT.replace("LOT", "100").replace("TRANSFER", "")
    text = text.replace("{id: mill, kind: cnc, skills: [mill]}", performance)
    result, _ = _events_of(text, 100)
    mill = next(p for p in result.pools if p.equipment == "mill")
    producing = mill.time_in_state_s[MachineState.PRODUCING]
    # 100 cycles of 1 min, each 1 / (1 - U(0, 0.4)) min: mean ln(1 / 0.6) / 0.4 = 1.277 min
    expected = 100 * 60 * math.log(1 / 0.6) / 0.4
    assert producing != pytest.approx(100 * 60 / 0.8)  # not a fixed 20 % loss
    assert producing == pytest.approx(expected, rel=0.05)
    assert 100 * 60 < producing < 100 * 60 / 0.6


def test_a_warm_up_is_simulated_and_left_out_of_the_figures() -> None:
    text = PLANT.replace("LOT", "4").replace("TRANSFER", "")
    orders = [ProductionOrder(f"o{k}", "p", 4, k * 3600.0, 3 * 86400.0) for k in range(48)]

    def run(warmup_s: float) -> TwinResult:
        twin = PlantTwin(
            load_plant_text(text), orders, start=START, horizon_s=2 * 86400.0, warmup_s=warmup_s
        )
        return twin.run()

    whole, measured = run(0.0), run(86400.0)
    # one lot an hour, 4 per hour through the oven: 24 lots a day, each day alike
    assert whole.horizon_s == 2 * 86400.0
    assert measured.horizon_s == 86400.0
    assert 0 < measured.finished["p"] < whole.finished["p"]
    mill = next(p for p in measured.pools if p.equipment == "mill")
    assert sum(mill.time_in_state_s.values()) == pytest.approx(86400.0)
    assert measured.orders_released == 24


def test_a_scrapped_unit_is_replaced_inside_its_lot_so_the_lot_still_moves_on() -> None:
    text = PLANT.replace("LOT", "4").replace("TRANSFER", "")
    text = text.replace("setup_time: 10 min}", "setup_time: 10 min, scrap_rate: 0.5}")
    result, _ = _events_of(text, 8, seed=3)
    # half the milled units are scrapped; every replacement joins its lot, none is stranded
    assert result.finished == {"p": 8}
    assert result.orders_finished == 1


def test_maintenance_by_counts_stops_the_unit_after_every_n_units() -> None:
    text = PLANT.replace("LOT", "8").replace("TRANSFER", "")
    text = text.replace(
        "products:",
        "maintenance:\n  - {equipment: [mill], usage: {counts: 4, duration: 30 min}, "
        "reason: nozzle change}\nproducts:",
    )
    _, events = _events_of(text, 8)
    services = [
        ((e.ts - START).total_seconds() / 60, e.reason)
        for e in events
        if isinstance(e, StateChange) and e.state == MachineState.MAINTENANCE
    ]
    # setup 10 + 4 x 1 min: the first service at 14; 4 more after it: at 14 + 30 + 4 = 48
    assert services == [(14.0, "nozzle change"), (48.0, "nozzle change")]


def test_rework_at_another_station_repairs_there_then_repeats_the_step() -> None:
    text = PLANT.replace("LOT", "4").replace("TRANSFER", "")
    text = text.replace("skills: [mill, bake]", "skills: [mill, bake, repair]")
    text = text.replace(
        "          - {id: oven",
        "          - {id: repair_bench, kind: assembly_station, skills: [repair]}\n"
        "          - {id: oven",
    )
    text = text.replace(
        "setup_time: 10 min}",
        "setup_time: 10 min, rework_rate: 0.5, rework_at: repair_bench, rework_time: 5 min}",
    )
    result, events = _events_of(text, 8, seed=5)
    assert result.finished == {"p": 8}
    repairs = [
        e
        for e in events
        if isinstance(e, OperationEvent)
        and e.kind == EventKind.OPERATION_END
        and e.path.endswith("repair_bench")
    ]
    reworked = sum(e.rework for e in events if isinstance(e, ProductionCount))
    assert reworked > 0
    assert len(repairs) == reworked  # every reworked unit was repaired at the bench
    bench = next(p for p in result.pools if p.equipment == "repair_bench")
    assert bench.time_in_state_s[MachineState.PRODUCING] == pytest.approx(reworked * 300)


def test_more_demand_above_capacity_never_gives_fewer_finished_units() -> None:
    """The issue's compare symptom as an invariant: below capacity more demand gives more
    units; above it, output stays at capacity (scrap replacements included)."""
    text = PLANT.replace("LOT", "10").replace("TRANSFER", "")
    text = text.replace("setup_time: 10 min}", "setup_time: 10 min, scrap_rate: 0.1}")
    plant = load_plant_text(text)
    finished = []
    for per_year in (30_000, 60_000, 240_000):  # the oven: 4 units per 30 min, ~70,000 a year
        orders = steady_demand(plant, per_year, 7 * 86400.0)
        result = PlantTwin(plant, orders, start=START, horizon_s=7 * 86400.0, seed=2).run()
        finished.append(sum(result.finished.values()))
    assert finished[1] > finished[0]
    assert finished[2] >= 0.97 * finished[1]
