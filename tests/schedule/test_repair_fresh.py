"""Repair starts from a fresh plan of what is left when the old sequence no longer fits, and
what is left at ``now`` (on the coatings plant: a batch plant, reactors with changeovers, a down
reactor and rush orders) merges back into a valid plan with the started work in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from factoryos.model.loader import load_plant
from factoryos.schedule import (
    Alternative,
    Assignment,
    Job,
    Objective,
    Operation,
    Problem,
    Solution,
    SolverParams,
    check,
    dispatch,
)
from factoryos.schedule.bounds import bottleneck_bound
from factoryos.schedule.orders import build_problem, read_orders
from factoryos.schedule.repair import Disruption, repair
from factoryos.schedule.replan import remainder
from factoryos.schedule.right_shift import right_shift

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PLANT = EXAMPLES / "coatings_plant.yaml"
ORDERS = EXAMPLES / "orders_coatings_4w.csv"
RUSH = EXAMPLES / "orders_coatings_rush.csv"
TARDINESS = Objective(0, 1)

pytestmark = pytest.mark.skipif(
    not all(f.is_file() for f in (PLANT, ORDERS, RUSH)), reason="coatings example not present"
)


def _disrupted() -> tuple[Problem, Solution, Disruption]:
    plant = load_plant(PLANT)
    pp = build_problem(plant, read_orders(ORDERS))
    rush = read_orders(RUSH, products=plant.product_by_id)
    new_jobs = build_problem(plant, rush, origin=pp.origin).problem.jobs
    now = pp.to_units(min(o.release for o in rush))
    down = bottleneck_bound(pp.problem).machines[0]
    d = Disruption(now=now, down=((down, now, now + 24 * 60),), new_jobs=new_jobs)
    return pp.problem, dispatch(pp.problem, "EDD"), d


def test_the_remainder_keeps_started_work_and_merges_into_a_valid_plan() -> None:
    problem, old, d = _disrupted()
    rest = remainder(problem, old, d.now)
    started = [a for a in old.assignments if a.start < d.now]
    assert started and set(rest.frozen) == set(started)
    assert rest.problem.num_operations == problem.num_operations - len(started)
    merged = rest.merge(dispatch(rest.problem, "EDD"))
    check(problem, merged)
    by = merged.by_ref()
    assert all(by[a.ref] == a for a in started)
    frozen = {a.ref for a in started}
    assert all(a.start >= d.now for a in merged.assignments if a.ref not in frozen)


def _one_press() -> tuple[Problem, Solution]:
    # the old plan: a long order with a late due date first (there was slack), then ten short
    # ones due at 25; all on time
    long = Job((Operation((Alternative(0, 10),), name="make"),), name="LONG", due_date=1_000)
    short = tuple(
        Job((Operation((Alternative(0, 1),), name="make"),), name=f"S{k}", due_date=25)
        for k in range(10)
    )
    problem = Problem((long, *short), 1, machine_units=(("press", 1),))
    old = Solution.from_assignments(
        [Assignment(0, 0, 0, 0, 10)] + [Assignment(1 + k, 0, 0, 10 + k, 11 + k) for k in range(10)]
    )
    return problem, old


def test_repair_starts_from_a_fresh_plan_when_the_old_sequence_no_longer_fits() -> None:
    # the press is down for the first 10: the old sequence makes the short orders late, a
    # fresh earliest-due-date plan does not (and moves only the long order): the optimum, 1.
    # Started from the right-shift, 0.4 s of order-by-order steps had ended at 25.
    problem, old = _one_press()
    d = Disruption(now=0, down=((0, 0, 10),))
    out = repair(
        problem,
        old,
        d,
        SolverParams(0.4, 2),
        objective=TARDINESS,
        deviation_unit=60,
        max_model_operations=1,
    )
    check(out.problem, out.result.solution)
    old_starts = {a.ref: a.start for a in old.assignments}

    def score(plan: Solution) -> int:
        by = plan.by_ref()
        moved = sum(-(-abs(by[r].start - t) // 60) for r, t in old_starts.items())
        return TARDINESS.score(out.problem, plan) + moved

    shifted = right_shift(out.problem, old, 0)
    assert score(shifted) == 15 + 11  # shorts end 21..30 (1+...+5 late); 11 operations moved
    assert out.result.objective == score(out.result.solution) == 1  # only LONG moved, by 20
    by = out.result.solution.by_ref()
    assert by[(0, 0)].start == 20
