"""Lots and batch equipment in the plan: an order is made in lots, a batch unit runs one cycle
for up to its capacity."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from factoryos.model.loader import load_plant
from factoryos.model.plant import Plant
from factoryos.schedule import (
    SchedulingError,
    SolverParams,
    best_rule,
    check,
    solve,
    to_schedule,
)
from factoryos.schedule.orders import Order, build_problem

# A board line (6 min a board) feeds a burn-in rack of 20 boards (4 h a cycle, unattended).
PLANT = """
enterprise: {id: acme}
site: {id: plant1, timezone: UTC}
skills: [placing, burn_in]
calendars:
  around:
    shifts:
      - {name: a, start: "00:00", end: "12:00", days: [mon, tue, wed, thu, fri, sat, sun]}
      - {name: b, start: "12:00", end: "00:00", days: [mon, tue, wed, thu, fri, sat, sun]}
default_calendar: around
tariff:
  name: flat
  bands: [{name: flat, price_cny_per_kwh: 0.8, hours: ["00:00-24:00"]}]
cost_rates: {labour_cny_per_h: 80}
workforce: {headcount: 10}
areas:
  - id: main
    lines:
      - id: smt
        equipment:
          - {id: placer, kind: cnc, units: 1, skills: [placing], power: {producing: 5 kW}}
          - id: rack
            kind: burn_in_rack
            category: thermal
            batch_capacity: 20
            skills: [burn_in]
            power: {producing: 10 kW}
products:
  - id: board
    family: boards
    lot_size: 10
    routing:
      - {id: place, skill: placing, run_time: 6 min, setup_time: 30 min}
      - {id: burn, skill: burn_in, run_time: 4 h, unattended: true}
"""

MONDAY = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


@pytest.fixture
def plant(tmp_path: Path) -> Plant:
    path = tmp_path / "boards.yaml"
    path.write_text(PLANT)
    return load_plant(path)


def _durations(plant: Plant, order: Order, lot_size: int | None = None) -> list[tuple[str, int]]:
    pp = build_problem(plant, [order], origin=MONDAY, lot_size=lot_size)
    (job,) = pp.problem.jobs
    return [(op.name, op.alternatives[0].duration) for op in job.operations]


def test_an_order_is_made_in_lots_of_the_products_size(plant: Plant) -> None:
    # 25 boards in lots of 10: 10, 10, 5; a rack cycle for each lot (up to 20 boards)
    order = Order("A", "board", 25, MONDAY)
    assert _durations(plant, order) == [
        ("L1.place", 60),
        ("L1.burn", 240),
        ("L2.place", 60),
        ("L2.burn", 240),
        ("L3.place", 30),
        ("L3.burn", 240),
    ]


def test_the_orders_lot_size_beats_the_command_line_which_beats_the_product(
    plant: Plant,
) -> None:
    # one lot of 25: 150 min placing, two rack cycles (20 + 5 boards)
    own = Order("A", "board", 25, MONDAY, lot_size=25)
    assert _durations(plant, own, lot_size=5) == [("place", 150), ("burn", 480)]
    assert [d for _, d in _durations(plant, Order("B", "board", 25, MONDAY), lot_size=5)] == [
        30,
        240,
    ] * 5


def test_a_lot_plan_passes_the_validator_and_carries_its_quantities(plant: Plant) -> None:
    orders = [Order(f"O{k}", "board", 25, MONDAY, MONDAY + dt.timedelta(days=1)) for k in range(3)]
    pp = build_problem(plant, orders, origin=MONDAY)
    result = solve(pp.problem, SolverParams(2.0, 2))
    check(pp.problem, result.solution)
    plan = to_schedule(pp.problem, result, origin=pp.origin, time_unit=pp.time_unit, axis=pp.axis)
    placed = [o for o in plan if o.operation_id.endswith("place")]
    assert sorted(o.quantity for o in placed) == [5, 5, 5, 10, 10, 10, 10, 10, 10]
    # one placer, which sets up per lot (the default): 3 x 150 min of placing and a 30 min
    # setup before each of the 9 lots, the first included (as in the twin)
    assert max(o.end for o in placed) == MONDAY + dt.timedelta(minutes=450 + 9 * 30)


def test_a_campaign_placer_sets_up_only_on_a_family_change(tmp_path: Path) -> None:
    path = tmp_path / "plant.yaml"
    campaign = "skills: [placing], setup: per_family_change,"
    path.write_text(PLANT.replace("skills: [placing],", campaign))
    pp = build_problem(
        load_plant(path),
        [Order(f"O{k}", "board", 25, MONDAY, MONDAY + dt.timedelta(days=1)) for k in range(3)],
        origin=MONDAY,
    )
    result = solve(pp.problem, SolverParams(2.0, 2))
    check(pp.problem, result.solution)
    plan = to_schedule(pp.problem, result, origin=pp.origin, time_unit=pp.time_unit, axis=pp.axis)
    placed = [o for o in plan if o.operation_id.endswith("place")]
    # one family: 3 x 150 min back to back, no setup between its lots, one 30 min setup
    # before the first campaign
    assert max(o.end for o in placed) == MONDAY + dt.timedelta(minutes=30 + 450)


def test_a_lot_size_below_one_is_refused_with_the_order(plant: Plant) -> None:
    with pytest.raises(SchedulingError, match=r"order 'A'.*lot size must be >= 1"):
        build_problem(plant, [Order("A", "board", 5, MONDAY)], origin=MONDAY, lot_size=0)


def test_overlapping_lots_pass_each_transfer_batch_on(tmp_path: Path) -> None:
    # 10 boards placed (6 min each, after the lot's 30 min setup) then tested (6 min each) in
    # transfer batches of 2: testing starts after 12 min and ends 12 min after placing: 72 min
    # instead of 120
    text = (
        PLANT.replace("lot_size: 10", "lot_size: 10\n    transfer_batch: 2")
        .replace(
            "- {id: burn, skill: burn_in, run_time: 4 h, unattended: true}",
            "- {id: test, skill: burn_in, run_time: 6 min, equipment: [tester]}",
        )
        .replace(
            "          - id: rack",
            "          - {id: tester, kind: cnc, skills: [burn_in], power: {producing: 1 kW}}\n"
            "          - id: rack",
        )
    )
    path = tmp_path / "overlap.yaml"
    path.write_text(text)
    pp = build_problem(load_plant(path), [Order("A", "board", 10, MONDAY)], origin=MONDAY)
    assert pp.problem.jobs[0].transfers == ((0, 1, 2, 10),)
    for solution in (best_rule(pp.problem)[1], solve(pp.problem, SolverParams(2.0, 2)).solution):
        check(pp.problem, solution)
        place, test = sorted(solution.assignments, key=lambda a: a.op)
        assert (place.start, place.end, test.start, test.end) == (30, 90, 42, 102)


def test_what_the_plan_allows_for_is_said(tmp_path: Path) -> None:
    text = PLANT.replace(
        "- {id: place, skill: placing, run_time: 6 min, setup_time: 30 min}",
        "- {id: place, skill: placing, run_time: 6 min, setup_time: 30 min, rework_rate: 0.04}",
    ) + ("maintenance:\n  - equipment: [rack]\n    usage: {hours: 100 h, duration: 2 h}\n")
    path = tmp_path / "plant.yaml"
    path.write_text(text)
    pp = build_problem(load_plant(path), [Order("A", "board", 20, MONDAY)], origin=MONDAY)
    assert len(pp.allowances) == 2
    assert pp.allowances[0].startswith("rework at 1 steps")
    assert "maintenance of rack by usage" in pp.allowances[1]
    assert "2.00% of its operating time" in pp.allowances[1]
    # the book's plant without either: nothing to say
    plain = tmp_path / "plain.yaml"
    plain.write_text(PLANT)
    assert build_problem(load_plant(plain), [Order("A", "board", 20, MONDAY)]).allowances == ()
