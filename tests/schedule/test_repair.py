"""Repair after a disruption: frozen work stays, downtime and rush orders are respected."""

from __future__ import annotations

import dataclasses

import pytest

from factoryos.schedule import (
    Alternative,
    Assignment,
    Job,
    Objective,
    Operation,
    Problem,
    SchedulingError,
    Solution,
    SolverParams,
    check,
    random_fjsp,
    random_jssp,
    solve,
    validate,
)
from factoryos.schedule.repair import Disruption, repair, scrap_and_remake
from factoryos.schedule.right_shift import right_shift

FAST = SolverParams(time_limit_s=2.0, num_workers=2)


Refs = dict[tuple[int, int], Assignment]


def _assert_frozen_kept(old_by: Refs, new_by: Refs, frozen: frozenset[tuple[int, int]]) -> None:
    for ref in frozen:
        assert (new_by[ref].machine, new_by[ref].start) == (old_by[ref].machine, old_by[ref].start)


def test_breakdown_and_rush_order_on_ft06(ft06: Problem) -> None:
    old = solve(ft06, FAST).solution
    rush = Job(
        (Operation((Alternative(0, 4),)), Operation((Alternative(1, 3),))),
        name="rush",
        release_date=20,
        due_date=30,
        weight=10,
    )
    d = Disruption(now=20, down=((0, 22, 35),), new_jobs=(rush,))
    out = repair(ft06, old, d, FAST, deviation_unit=1)
    check(out.problem, out.result.solution)
    assert {v.kind for v in validate(out.problem, old)} >= {
        "missing"
    }  # the old plan lacks the rush
    new_by, old_by = out.result.solution.by_ref(), old.by_ref()
    _assert_frozen_kept(old_by, new_by, out.frozen)
    for ref, a in new_by.items():
        if ref not in out.frozen:
            assert a.start >= 20
    # machine 0 does nothing from 22 to 35 unless it started before now
    for a in out.result.solution.assignments:
        if a.machine == 0 and a.ref not in out.frozen:
            assert a.end <= 22 or a.start >= 35
    assert out.result.wall_time_s < 5


def test_repair_is_no_worse_than_the_right_shift() -> None:
    p = random_jssp(8, 4, seed=5)
    old = solve(p, FAST).solution
    d = Disruption(now=old.makespan // 3, down=((1, old.makespan // 3, old.makespan // 2),))
    out = repair(p, old, d, FAST, deviation_unit=1)
    shifted = right_shift(out.problem, old, d.now)
    check(out.problem, shifted)
    check(out.problem, out.result.solution)
    assert out.result.solution.makespan + out.deviation <= shifted.makespan + sum(
        abs(shifted.by_ref()[a.ref].start - a.start) for a in old.assignments if a.start >= d.now
    )


def _one_unit_and_a_rush() -> tuple[Problem, Solution, Disruption, Objective]:
    """Four orders of 10 on one unit, the first two due at once (weight 5), the last two
    loose; a weight-10 rush order due at 20. Rush last: 30 late (300); rush first: the
    first two 10 late and four orders moved 10 (140); after the first: on time, the second
    10 late and three orders moved 10 (80)."""
    dues = (10, 20, 1000, 1000)
    jobs = tuple(
        Job(
            (Operation((Alternative(0, 10),)),),
            name=f"J{i}",
            due_date=due,
            weight=5 if due < 100 else 1,
        )
        for i, due in enumerate(dues)
    )
    p = Problem(jobs, 1, name="one-unit")
    old = Solution.from_assignments([Assignment(i, 0, 0, 10 * i, 10 * i + 10) for i in range(4)])
    rush = Job((Operation((Alternative(0, 10),)),), name="rush", due_date=20, weight=10)
    return p, old, Disruption(now=0, new_jobs=(rush,)), Objective(0, 1)


def test_right_shift_puts_the_rush_order_at_a_given_place() -> None:
    p, old, d, _ = _one_unit_and_a_rush()
    new = dataclasses.replace(p, jobs=p.jobs + d.new_jobs)
    by = right_shift(new, old, 0, new_at=20).by_ref()
    assert [by[(j, 0)].start for j in range(5)] == [0, 10, 30, 40, 20]
    assert right_shift(new, old, 0, new_first=True).by_ref()[(4, 0)].start == 0
    assert right_shift(new, old, 0).by_ref()[(4, 0)].start == 40


def test_repair_puts_a_rush_order_where_it_costs_least_not_first_or_last() -> None:
    p, old, d, obj = _one_unit_and_a_rush()
    new = dataclasses.replace(p, jobs=p.jobs + d.new_jobs)
    costs = {
        how: obj.score(new, s)
        + sum(abs(s.by_ref()[a.ref].start - a.start) for a in old.assignments)
        for how, s in (
            ("last", right_shift(new, old, 0)),
            ("first", right_shift(new, old, 0, new_first=True)),
        )
    }
    assert costs == {"last": 300, "first": 140}
    # no time for a CP-SAT step (order by order, 0.3 s left is the stop): the start alone
    # (before: the better of rush last and rush first, 140)
    out = repair(
        p, old, d, SolverParams(0.2, 1), objective=obj, max_model_operations=0, deviation_unit=1
    )
    check(out.problem, out.result.solution)
    assert out.result.objective == 80
    assert out.result.solution.by_ref()[(4, 0)].start == 10


@pytest.mark.parametrize("seed", range(5))
def test_random_disruptions_always_yield_valid_plans(seed: int) -> None:
    p = random_fjsp(6, 4, seed=seed)
    old = solve(p, SolverParams(0.5, 1, seed=seed)).solution
    now = old.makespan // 2
    extra = random_fjsp(1, 4, seed=seed + 100).jobs
    d = Disruption(now=now, down=((seed % 4, now, now + 10),), new_jobs=extra)
    out = repair(p, old, d, SolverParams(0.5, 1, seed=seed), deviation_unit=1)
    check(out.problem, out.result.solution)
    check(out.problem, right_shift(out.problem, old, now))
    _assert_frozen_kept(old.by_ref(), out.result.solution.by_ref(), out.frozen)


def test_validator_flags_work_during_downtime(two_by_two: Problem) -> None:
    from factoryos.schedule import Solution

    p = Problem(two_by_two.jobs, 2, unavailable=((0, 1, 2),))
    sol = Solution.from_assignments(
        [
            Assignment(0, 0, 0, 0, 3),
            Assignment(0, 1, 1, 4, 6),
            Assignment(1, 0, 1, 0, 4),
            Assignment(1, 1, 0, 4, 5),
        ]
    )
    assert {v.kind for v in validate(p, sol)} == {"unavailable"}
    check(p, solve(p, FAST).solution)


def _cast_paint_pack() -> tuple[Problem, Solution]:
    # one order: cast on M0 (4), paint on M1 (3), pack on M0 (2); planned 0-4, 4-7, 7-9
    job = Job(
        (
            Operation((Alternative(0, 4),), name="cast"),
            Operation((Alternative(1, 3),), name="paint"),
            Operation((Alternative(0, 2),), name="pack"),
        ),
        name="SO-1",
        due_date=9,
    )
    p = Problem((job,), 2)
    old = Solution.from_assignments(
        [Assignment(0, 0, 0, 0, 4), Assignment(0, 1, 1, 4, 7), Assignment(0, 2, 0, 7, 9)]
    )
    check(p, old)
    return p, old


def test_scrap_of_a_running_step_is_remade_and_the_order_waits_for_it() -> None:
    p, old = _cast_paint_pack()
    out = repair(p, old, Disruption(now=5, scrap=((0, 1),)), FAST, deviation_unit=1)
    sol = out.result.solution
    check(out.problem, sol)
    by = {(a.job, out.problem.jobs[a.job].operations[a.op].name): a for a in sol.assignments}
    # painting stops at 5 (M1 free again), is remade 5-8, packing waits for it: 8-10
    assert [(a.machine, a.start, a.end) for a in (by[(0, "paint")], by[(0, "paint#remake")])] == [
        (1, 4, 5),
        (1, 5, 8),
    ]
    assert (by[(0, "pack")].start, by[(0, "pack")].end) == (8, 10)
    assert out.remakes == ((0, 3),) and out.result.solution.makespan == 10
    assert out.result.status == "optimal"


def test_scrap_of_a_done_step_also_remakes_what_it_fed() -> None:
    p, old = _cast_paint_pack()
    # at 8 painting is done and packing (7-9) has consumed its output: both are lost
    out = repair(p, old, Disruption(now=8, scrap=((0, 1),)), FAST, deviation_unit=1)
    check(out.problem, out.result.solution)
    by = {out.problem.jobs[0].operations[a.op].name: a for a in out.result.solution.assignments}
    assert {n: (a.start, a.end) for n, a in by.items()} == {
        "cast": (0, 4),
        "paint": (4, 7),
        "pack": (7, 8),
        "paint#remake": (8, 11),
        "pack#remake": (11, 13),
    }
    # the right-shift alone gives the same plan here
    shifted = right_shift(out.problem, scrap_and_remake(p, old, 8, ((0, 1),))[1], 8)
    check(out.problem, shifted)
    assert shifted.makespan == 13


def test_scrap_of_a_step_not_started_is_refused() -> None:
    p, old = _cast_paint_pack()
    with pytest.raises(SchedulingError, match="cannot scrap SO-1/pack: it has not started"):
        repair(p, old, Disruption(now=5, scrap=((0, 2),)), FAST, deviation_unit=1)


@pytest.mark.parametrize("seed", range(3))
def test_random_scrap_always_yields_valid_plans(seed: int) -> None:
    p = random_fjsp(6, 4, seed=seed)
    old = solve(p, SolverParams(0.5, 1, seed=seed)).solution
    now = old.makespan // 2
    started = sorted(a.ref for a in old.assignments if a.start < now)
    scrap = tuple(started[:: max(1, len(started) // 2)])
    out = repair(
        p, old, Disruption(now=now, scrap=scrap), SolverParams(0.5, 1, seed=seed), deviation_unit=1
    )
    check(out.problem, out.result.solution)
    assert len(out.remakes) >= len(scrap)
    assert all(out.result.solution.by_ref()[r].start >= now for r in out.remakes)
