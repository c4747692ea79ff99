"""Each unit's own working stretches: resumable runs pause over its time off, unattended runs go
on through it, others stay inside one stretch; every plan passes the validator."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    dispatch,
    random_fjsp,
    validate,
)
from factoryos.schedule.right_shift import right_shift

FAST = SolverParams(time_limit_s=1.0, num_workers=2)


def _one(mode: str, duration: int = 6) -> Problem:
    # machine 0 is off over [5, 10) and [15, 20); the job is ready at 2
    op = Operation(
        (Alternative(0, duration),),
        name="step",
        resumable=mode == "resumable",
        unattended=mode == "unattended",
    )
    return Problem((Job((op,), name="A", release_date=2),), 1, off=((0, 5, 10), (0, 15, 20)))


@pytest.mark.parametrize(
    ("mode", "start", "end"),
    [
        ("resumable", 2, 13),  # 3 units, paused over [5, 10), 3 more: ends at 13
        ("unattended", 2, 8),  # runs on through the time off
        ("stretch", 20, 26),  # 6 units fit in no stretch before 20
    ],
)
def test_each_mode_meets_the_time_off_its_own_way(mode: str, start: int, end: int) -> None:
    p = _one(mode)
    for sol in (dispatch(p, "EDD"), CpSatJobShop(p).solve(FAST).solution):
        check(p, sol)
        a = sol.by_ref()[(0, 0)]
        assert (a.start, a.end) == (start, end)


def test_a_resumable_run_longer_than_a_stretch_spans_two_pauses() -> None:
    p = _one("resumable", duration=12)
    # 3 units (2-5), 5 units (10-15), 4 units (20-24)
    for sol in (dispatch(p, "EDD"), CpSatJobShop(p).solve(FAST).solution):
        check(p, sol)
        assert sol.by_ref()[(0, 0)].end == 24


@pytest.mark.parametrize(
    ("start", "end", "kind"),
    [
        (2, 8, "wrong_duration"),  # a resumable run does not work through its time off
        (6, 21, "off_shift"),  # nor start inside it (as if from 10: 10-15, 20-21)
        (2, 13, None),
    ],
)
def test_the_validator_reads_a_resumable_run_on_its_units_time(
    start: int, end: int, kind: str | None
) -> None:
    p = _one("resumable")
    found = {v.kind for v in validate(p, Solution((Assignment(0, 0, 0, start, end),)))}
    assert found == ({kind} if kind else set())


def test_the_validator_reports_a_stretch_run_into_time_off() -> None:
    p = _one("stretch")
    found = validate(p, Solution((Assignment(0, 0, 0, 2, 8),)))
    assert [v.kind for v in found] == ["break"]
    assert "neither resumable nor unattended" in found[0].message


def _with_calendars(base: Problem, rng: random.Random) -> Problem:
    """``base`` with random time off per machine, calendar pauses, downtime, step modes and
    overlapping lots."""
    horizon = base.horizon()
    off = []
    for m in range(base.num_machines):
        t = rng.randint(1, 10)
        while t < 3 * horizon:
            length = rng.randint(1, 8)
            off.append((m, t, t + length))
            t += length + rng.randint(4, 25)
    jobs = []
    for job in base.jobs:
        ops = []
        for op in job.operations:
            mode = rng.choice(("resumable", "unattended", "stretch"))
            ops.append(
                dataclasses.replace(
                    op, resumable=mode == "resumable", unattended=mode == "unattended"
                )
            )
        transfers = []
        for a, b in job.precedence_pairs():
            if rng.random() < 0.3:  # overlapping lots
                lot = rng.randint(2, 10)
                transfers.append((a, b, rng.randint(1, lot - 1), lot))
        jobs.append(dataclasses.replace(job, operations=tuple(ops), transfers=tuple(transfers)))
    breaks = tuple(sorted(rng.sample(range(1, 3 * horizon), 3)))
    down = ((0, rng.randint(0, horizon), rng.randint(0, horizon) + horizon),)
    return dataclasses.replace(
        base, jobs=tuple(jobs), off=tuple(off), breaks=breaks, unavailable=down
    )


def _fits_nowhere_earlier(p: Problem, sol: Solution) -> None:
    """Each run starts at the first instant its inputs, its unit and its unit's time allow: no
    idle gap a planner could close by moving it earlier on its own."""
    ends = {a.ref: a.end for a in sol.assignments}
    starts = {a.ref: a.start for a in sol.assignments}
    starts = {a.ref: a.start for a in sol.assignments}
    for seq in sol.machine_sequences(p.num_machines):
        free = 0
        for a in seq:
            op = p.jobs[a.job].operations[a.op]
            ready = p.ready(a.ref, starts, ends)
            dur = op.duration_on(a.machine)
            assert dur is not None
            first = p.earliest_start(a.machine, ready, dur, free=free, mode=p.mode_of(op))
            assert a.start == first, (a, first)
            free = a.end


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 4),
    m=st.integers(1, 3),
    seed=st.integers(0, 10_000),
    flexible=st.booleans(),
)
def test_every_plan_passes_the_validator(n: int, m: int, seed: int, flexible: bool) -> None:
    rng = random.Random(seed)
    base = random_fjsp(n, m, seed=seed, max_alternatives=2 if flexible else 1)
    p = _with_calendars(base, rng)
    for rule in ("EDD", "SPT", "MWKR"):
        sol = dispatch(p, rule)
        check(p, sol)
        _fits_nowhere_earlier(p, sol)
    model = CpSatJobShop(p)
    model.add_hint(dispatch(p, "EDD"))  # as the pipeline does
    res = model.solve(SolverParams(time_limit_s=5.0, num_workers=2))
    check(p, res.solution)
    check(p, right_shift(p, res.solution, now=res.solution.makespan // 2))
