"""Repair after a disruption: frozen work stays, downtime and rush orders are respected."""

from __future__ import annotations

import pytest

from factoryos.schedule import (
    Alternative,
    Assignment,
    Job,
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
from factoryos.schedule.repair import Disruption, repair, right_shift, scrap_and_remake

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
    out = repair(ft06, old, d, FAST)
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
    out = repair(p, old, d, FAST)
    shifted = right_shift(out.problem, old, d.now)
    check(out.problem, shifted)
    check(out.problem, out.result.solution)
    assert out.result.solution.makespan + out.deviation <= shifted.makespan + sum(
        abs(shifted.by_ref()[a.ref].start - a.start) for a in old.assignments if a.start >= d.now
    )


@pytest.mark.parametrize("seed", range(5))
def test_random_disruptions_always_yield_valid_plans(seed: int) -> None:
    p = random_fjsp(6, 4, seed=seed)
    old = solve(p, SolverParams(0.5, 1, seed=seed)).solution
    now = old.makespan // 2
    extra = random_fjsp(1, 4, seed=seed + 100).jobs
    d = Disruption(now=now, down=((seed % 4, now, now + 10),), new_jobs=extra)
    out = repair(p, old, d, SolverParams(0.5, 1, seed=seed))
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
    out = repair(p, old, Disruption(now=5, scrap=((0, 1),)), FAST)
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
    out = repair(p, old, Disruption(now=8, scrap=((0, 1),)), FAST)
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
        repair(p, old, Disruption(now=5, scrap=((0, 2),)), FAST)


@pytest.mark.parametrize("seed", range(3))
def test_random_scrap_always_yields_valid_plans(seed: int) -> None:
    p = random_fjsp(6, 4, seed=seed)
    old = solve(p, SolverParams(0.5, 1, seed=seed)).solution
    now = old.makespan // 2
    started = sorted(a.ref for a in old.assignments if a.start < now)
    scrap = tuple(started[:: max(1, len(started) // 2)])
    out = repair(p, old, Disruption(now=now, scrap=scrap), SolverParams(0.5, 1, seed=seed))
    check(out.problem, out.result.solution)
    assert len(out.remakes) >= len(scrap)
    assert all(out.result.solution.by_ref()[r].start >= now for r in out.remakes)
