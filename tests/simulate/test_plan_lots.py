"""The twin following a plan runs each lot of an order at its own planned start (the plan names
lots ``L1.step``, ``L2.step``...; before, every lot waited for the last lot's planned start)."""

from __future__ import annotations

import datetime as dt

from factoryos.model import load_plant_text
from factoryos.schedule import SolveResult, check, dispatch, to_schedule
from factoryos.schedule.orders import Order, build_problem
from factoryos.simulate.demand import ProductionOrder
from factoryos.simulate.twin import DispatchRule, PlantTwin
from tests.tiny_plants import tiny_plant

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)

PLANT = tiny_plant(
    "mill, coat",
    """areas:
  - id: a
    lines:
      - id: l
        equipment:
          - {id: mill, kind: cnc, skills: [mill]}
          - {id: coater, kind: other, skills: [coat]}
products:
  - id: part
    family: f
    lot_size: 4
    routing:
      - {id: coating, skill: coat, run_time: 1 min}
  - id: p
    family: f
    lot_size: 4
    routing:
      - {id: milling, skill: mill, run_time: 10 min, consumes: [{product: part}]}
""",
)


def test_each_lot_of_an_order_starts_when_the_plan_starts_it() -> None:
    plant = load_plant_text(PLANT)
    pp = build_problem(plant, [Order("o1", "p", 12, START, START + dt.timedelta(days=1))])
    solution = dispatch(pp.problem, "EDD")
    check(pp.problem, solution)
    plan = to_schedule(
        pp.problem,
        SolveResult(solution, "feasible", 0.0, 0.0, 0.0, "EDD"),
        origin=pp.origin,
        time_unit=pp.time_unit,
        axis=pp.axis,
    )
    twin = PlantTwin(
        plant,
        [ProductionOrder("o1", "p", 12, 0.0, 86400.0)],
        start=START,
        horizon_s=86400.0,
        rule=DispatchRule.PLAN,
        schedule=plan,
    )
    twin.run()
    # three lots: coated 0-4, 4-8, 8-12, milled 4-44, 44-84, 84-124 (the plan's end)
    assert solution.makespan == 124
    assert twin.orders[0].finished_s == 124 * 60
