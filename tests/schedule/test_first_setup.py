"""The setup before a unit's first lot: the plan charges it as the twin does."""

from __future__ import annotations

import datetime as dt

from factoryos.model import EventKind, OperationEvent, load_plant_text
from factoryos.schedule import (
    Alternative,
    Assignment,
    CpSatJobShop,
    Job,
    Operation,
    Problem,
    Solution,
    SolverParams,
    check,
)
from factoryos.schedule.orders import Order, build_problem
from factoryos.schedule.rules import dispatch
from factoryos.schedule.validate import validate
from factoryos.simulate.demand import ProductionOrder
from factoryos.simulate.twin import PlantTwin
from tests.tiny_plants import tiny_plant

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)

PLANT = tiny_plant(
    "mill",
    """areas:
  - id: a
    lines:
      - id: l
        equipment:
          - {id: mill, kind: cnc, skills: [mill], setup: SETUP}
products:
  - id: p
    family: f
    value_added_cny: 1
    lot_size: 4
    routing:
      - {id: milling, skill: mill, run_time: 1 min, setup_time: 10 min}
""",
)


def _twin_lot_ends(text: str) -> list[float]:
    events: list[OperationEvent] = []
    PlantTwin(
        load_plant_text(text),
        [ProductionOrder("o1", "p", 8, 0.0, 86400.0)],
        start=START,
        horizon_s=86400.0,
        sink=lambda e: events.append(e) if isinstance(e, OperationEvent) else None,
    ).run()
    ends = sorted(
        (e.ts - START).total_seconds() / 60 for e in events if e.kind == EventKind.OPERATION_END
    )
    return ends[3::4]  # the last unit of each lot of 4


def _plan_lot_ends(text: str) -> list[float]:
    """The lots' ends in the EDD plan, checked to be CP-SAT's optimal makespan too."""
    pp = build_problem(
        load_plant_text(text), [Order("o1", "p", 8, START, START + dt.timedelta(days=1))]
    )
    solution = dispatch(pp.problem, "EDD")
    check(pp.problem, solution)
    optimal = CpSatJobShop(pp.problem).solve(SolverParams(5.0, 1))
    assert optimal.status == "optimal"
    assert optimal.solution.makespan == solution.makespan
    return sorted(float(a.end) for a in solution.assignments)


def test_plan_and_twin_both_set_up_before_a_units_first_lot() -> None:
    # two lots of 4 x 1 min, a 10 min setup each, the first included: lots end at 14 and 28
    per_lot = PLANT.replace("SETUP", "per_lot")
    assert _plan_lot_ends(per_lot) == _twin_lot_ends(per_lot) == [14.0, 28.0]
    # a campaign unit sets up before its first campaign, then runs the family's lots on
    campaign = PLANT.replace("SETUP", "per_family_change")
    assert _plan_lot_ends(campaign) == _twin_lot_ends(campaign) == [14.0, 18.0]


def test_the_validator_wants_the_first_setup_in_available_time() -> None:
    lot = Operation((Alternative(0, 10),), family="f", setup_default=5)
    p = Problem((Job((lot,)),), 1, lot_setup_machines=frozenset({0}), unavailable=((0, 0, 3),))
    early = Solution((Assignment(0, 0, 0, 4, 14),))  # 5 of setup do not fit before 4
    assert [v.kind for v in validate(p, early)] == ["setup", "setup"]
    assert not validate(p, Solution((Assignment(0, 0, 0, 8, 18),)))
    assert dispatch(p, "EDD").makespan == 18
