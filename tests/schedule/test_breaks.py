"""Calendar pauses: a non-resumable operation stays inside one working stretch."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from pathlib import Path

import pytest

from factoryos.model.loader import load_plant
from factoryos.schedule import (
    Alternative,
    Assignment,
    CpSatJobShop,
    Job,
    Objective,
    Operation,
    Problem,
    Solution,
    SolverParams,
    check,
    dispatch,
    random_fjsp,
    solve,
    validate,
)
from factoryos.schedule.clock import WorkingClock
from factoryos.schedule.decompose import solve_by_orders
from factoryos.schedule.orders import build_problem, read_orders
from factoryos.schedule.repair import Disruption, repair

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FAST = SolverParams(time_limit_s=2.0, num_workers=2)


def _one_machine(*, resumable: bool) -> Problem:
    # a 4-unit step ready at 2, then a 6-unit step; the calendar pauses at 10 and 20
    job = Job(
        (
            Operation((Alternative(0, 4),), name="prep", resumable=True),
            Operation((Alternative(0, 6),), name="cure", resumable=resumable),
        ),
        name="A",
        release_date=2,
    )
    return Problem((job,), 1, breaks=(10, 20))


@pytest.mark.parametrize(("resumable", "cure_start"), [(False, 10), (True, 6)])
def test_a_non_resumable_step_waits_for_the_next_stretch(resumable: bool, cure_start: int) -> None:
    p = _one_machine(resumable=resumable)
    # prep 2-6; cure 6-12 would contain the pause at 10, so it waits until 10 (ends 16)
    for sol in (dispatch(p, "EDD"), solve(p, FAST).solution):
        check(p, sol)
        assert sol.by_ref()[(0, 1)].start == cure_start
    result = CpSatJobShop(p).solve(FAST)
    assert result.status == "optimal"
    assert result.solution.makespan == cure_start + 6


def test_ending_at_a_pause_is_allowed_and_the_unit_decides() -> None:
    # the step may take M1 (3 units) or M2 (4 units); it is ready at 7 and the calendar pauses
    # at 10: 7-10 on M1 ends at the pause (allowed), 7-11 on M2 would contain it
    first = Operation((Alternative(0, 7),), name="first", resumable=True)
    step = Operation((Alternative(1, 3), Alternative(2, 4)), name="test")
    p = Problem((Job((first, step), name="B"),), 3, breaks=(10,))
    r = CpSatJobShop(p).solve(FAST)
    check(p, r.solution)
    assert (r.solution.makespan, r.solution.by_ref()[(0, 1)].machine) == (10, 1)
    # with M1 unavailable 7-9 it can start there at 9 only, which runs over the pause: best is
    # M1 10-13 (M2 would end at 14)
    q = dataclasses.replace(p, unavailable=((1, 7, 9),))
    r = CpSatJobShop(q).solve(FAST)
    check(q, r.solution)
    assert (r.solution.makespan, r.solution.by_ref()[(0, 1)].machine) == (13, 1)
    check(q, dispatch(q, "SPT"))


def test_validator_rejects_a_plan_running_over_a_pause() -> None:
    p = _one_machine(resumable=False)
    bad = Solution.from_assignments([Assignment(0, 0, 0, 2, 6), Assignment(0, 1, 0, 6, 12)])
    violations = validate(p, bad)
    assert [v.kind for v in violations] == ["break"]
    assert "A/cure" in violations[0].message and "pause at 10" in violations[0].message
    # the same plan is valid once the routing marks the step resumable
    assert validate(_one_machine(resumable=True), bad) == []


@pytest.mark.parametrize("seed", range(4))
def test_random_shops_with_pauses_always_yield_valid_plans(seed: int) -> None:
    rng = random.Random(seed)
    base = random_fjsp(5, 3, seed=seed)
    jobs = tuple(
        dataclasses.replace(
            job,
            operations=tuple(
                dataclasses.replace(op, resumable=rng.random() < 0.5) for op in job.operations
            ),
        )
        for job in base.jobs
    )
    longest = max(op.min_duration for job in jobs for op in job.operations)
    step = longest + rng.randint(0, 5)
    p = dataclasses.replace(base, jobs=jobs, breaks=tuple(range(step, 40 * step, step)))
    check(p, dispatch(p, "MWKR"))
    check(p, solve(p, SolverParams(0.5, 2, seed=seed)).solution)
    old = solve(p, SolverParams(0.5, 2, seed=seed)).solution
    out = repair(
        p, old, Disruption(now=old.makespan // 2), SolverParams(0.5, 2, seed=seed), deviation_unit=1
    )
    check(out.problem, out.result.solution)


def test_working_clock_pauses_only_where_time_is_cut() -> None:
    t0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    h, minute = dt.timedelta(hours=1), dt.timedelta(minutes=1)
    # 08:00-10:00 | 10:10-16:30 + 16:30-18:00 (a shift hand-over, no gap) | next day 08:00-09:00
    periods = [
        (t0 + 8 * h, t0 + 10 * h),
        (t0 + 10 * h + 10 * minute, t0 + 16.5 * h),
        (t0 + 16.5 * h, t0 + 18 * h),
        (t0 + 32 * h, t0 + 33 * h),
    ]
    assert WorkingClock(periods, minute).pauses() == (120, 120 + 380 + 90)


def test_robot_plant_paints_inside_one_stretch() -> None:
    plant = load_plant(EXAMPLES / "robot_factory.yaml")
    pp = build_problem(plant, read_orders(EXAMPLES / "orders_robot_4w.csv"))
    p = pp.problem
    # two-shift calendar: breaks at 10:00, 12:00, 14:30 (working minutes 120, 230, 350), no
    # pause at the 16:30 hand-over, then 18:30, 20:30, 22:30 and the shift end at 01:00
    assert p.breaks[:7] == (120, 230, 350, 580, 690, 780, 920)
    ops = [(job, op) for job in p.jobs for op in job.operations]
    assert {op.name.rsplit(".", 1)[-1] for _, op in ops if not op.resumable} == {"painting"}
    sol = dispatch(p, "EDD")
    check(p, sol)
    by = sol.by_ref()
    spans = [
        (by[(j, o)], op) for j, job in enumerate(p.jobs) for o, op in enumerate(job.operations)
    ]
    # the rule is exercised: lots of resumable steps pause at a break, no painting lot does
    assert any(op.resumable and p.break_inside(a.start, a.end) for a, op in spans)
    assert not any(not op.resumable and p.break_inside(a.start, a.end) for a, op in spans)
    # the decomposition keeps the 4-week plan valid and never worse than its start
    obj = Objective(1, 1)
    r = solve_by_orders(p, SolverParams(0.6, 2), objective=obj, hint=sol)
    check(p, r.solution)
    assert r.objective <= obj.score(p, sol)
