"""Line input buffers against a plan: the units a plan keeps waiting before a line, said per
line, and the twin following the plan blocks exactly where they do not fit."""

from __future__ import annotations

import datetime as dt

from factoryos.model import load_plant_text
from factoryos.schedule import SolveResult, check, dispatch, to_schedule
from factoryos.schedule.buffers import buffer_notes, waiting_peaks
from factoryos.schedule.orders import Order, build_problem
from factoryos.simulate.demand import ProductionOrder
from factoryos.simulate.twin import DispatchRule, PlantTwin
from tests.tiny_plants import tiny_plant

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)

# Three makers (1 min a unit) feed three testers (10 min a unit) on a line with a buffer.
PLANT = tiny_plant(
    "make, test",
    """areas:
  - id: a
    lines:
      - id: making
        equipment:
          - {id: maker, kind: cnc, units: 3, skills: [make]}
      - id: testing
        input_buffer: BUFFER
        equipment:
          - {id: tester, kind: test_bench, units: 3, skills: [test]}
products:
  - id: p
    family: f
    lot_size: 4
    routing:
      - {id: making, skill: make, run_time: 1 min}
      - {id: testing, skill: test, run_time: 10 min}
""",
)


def _plan_and_twin(
    buffer: int,
) -> tuple[tuple[str, ...], float, float, dict[str, tuple[float, int]]]:
    plant = load_plant_text(PLANT.replace("BUFFER", str(buffer)))
    due = START + dt.timedelta(days=1)
    pp = build_problem(plant, [Order(f"o{k}", "p", 4, START, due) for k in range(3)])
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
        [ProductionOrder(f"o{k}", "p", 4, 0.0, 86400.0) for k in range(3)],
        start=START,
        horizon_s=86400.0,
        rule=DispatchRule.PLAN,
        schedule=plan,
    )
    twin.run()
    twin_end = max(o.finished_s or 86400.0 for o in twin.orders) / 60
    notes = buffer_notes(plant, pp, solution)
    return notes, twin_end, float(solution.makespan), waiting_peaks(plant, pp, solution)


def test_a_buffer_smaller_than_the_plans_waiting_units_is_said_and_blocks_the_twin() -> None:
    # the three lots are made by 4 min and tested side by side from then: 12 units wait at 4
    notes, twin_end, plan_end, peaks = _plan_and_twin(5)
    assert peaks == {"testing": (12.0, 4)}
    assert plan_end == 44
    assert notes == (
        "not in the plan: line testing's input buffer of 5 units; the plan keeps up to 12 "
        "units waiting before it (2026-03-02 00:04), so the twin following it blocks upstream "
        "there",
    )
    assert twin_end > plan_end  # blocked: the third lot waits for room


def test_a_buffer_that_holds_the_plans_waiting_units_changes_nothing() -> None:
    notes, twin_end, plan_end, _ = _plan_and_twin(12)
    assert notes[0].startswith("fits the plan: line testing's input buffer of 12 units")
    assert twin_end == plan_end
