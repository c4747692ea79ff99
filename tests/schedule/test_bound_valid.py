"""The bottleneck bound is a lower bound: never above the optimum of small random instances
(CP-SAT to optimality, itself checked against brute force on one machine)."""

from __future__ import annotations

import dataclasses
import itertools
import random

import pytest

from factoryos.schedule import (
    Alternative,
    CpSatJobShop,
    Job,
    Operation,
    Problem,
    SolverParams,
    check,
)
from factoryos.schedule.bounds import bottleneck_bound, path_bound
from factoryos.schedule.generate import random_fjsp, with_families


def _plant_like(seed: int) -> Problem:
    """A small flexible shop with families, a random (triangle-breaking) changeover matrix,
    units that set up per lot, release dates and unavailable time."""
    rng = random.Random(seed)
    base = with_families(
        random_fjsp(4, 3, seed=seed, ops_per_job=(1, 3), max_alternatives=2, max_duration=9),
        seed=seed,
        max_setup=6,
    )
    jobs = tuple(dataclasses.replace(j, release_date=rng.randint(0, 15)) for j in base.jobs)
    down = tuple((m, lo, lo + rng.randint(2, 8)) for m in range(3) for lo in (rng.randint(0, 30),))
    return dataclasses.replace(
        base,
        jobs=jobs,
        unavailable=down,
        lot_setup_machines=frozenset(m for m in range(3) if rng.random() < 0.5),
    )


def _optimum(p: Problem) -> int:
    result = CpSatJobShop(p).solve(SolverParams(20.0, 2))
    assert result.status == "optimal"
    check(p, result.solution)
    return result.solution.makespan


@pytest.mark.parametrize("seed", range(12))
def test_the_bound_never_exceeds_the_optimum(seed: int) -> None:
    p = _plant_like(seed)
    optimum = _optimum(p)
    assert max(bottleneck_bound(p).bound, path_bound(p)) <= optimum


def test_cpsat_optimum_with_first_setups_matches_brute_force_on_one_machine() -> None:
    # one unit, per-lot setups (the first lot's too), a matrix between families, releases:
    # every order of the four lots, each started as early as it can
    rng = random.Random(7)
    ops = [
        Operation((Alternative(0, rng.randint(2, 9)),), family=f, setup_default=rng.randint(1, 5))
        for f in ("A", "B", "A", "C")
    ]
    jobs = tuple(
        Job((op,), name=f"j{k}", release_date=rng.randint(0, 12)) for k, op in enumerate(ops)
    )
    matrix = tuple((0, a, b, rng.randint(0, 7)) for a in "ABC" for b in "ABC" if a != b)
    p = Problem(jobs, 1, setup_matrix=matrix, lot_setup_machines=frozenset({0}))
    best = None
    for order in itertools.permutations(range(4)):
        t, prev = 0, None
        for k in order:
            op = ops[k]
            setup = p.first_setup(0, op) if prev is None else p.setup(0, prev, op)
            t = max(jobs[k].release_date, t + setup) + op.alternatives[0].duration
            prev = op
        best = t if best is None else min(best, t)
    assert _optimum(p) == best
    assert bottleneck_bound(p).bound <= best


def _flow_line(seed: int) -> Problem:
    """A small flow line: three stages of one or two units each, on calendars of their own
    (one around the clock), every order through each stage in turn (some joining two parts at
    the second), step modes (resumable, unattended, one stretch), overlapping lots, families
    with changeovers, release dates."""
    rng = random.Random(seed)
    stages: list[list[int]] = []
    for _ in range(3):
        n = rng.randint(1, 2)
        first = sum(len(s) for s in stages)
        stages.append(list(range(first, first + n)))
    machines = sum(len(s) for s in stages)
    off = []
    for stage in stages:
        if rng.random() < 0.3:
            continue  # around the clock
        t, length, gap = rng.randint(2, 10), rng.randint(3, 10), rng.randint(6, 20)
        while t < 200:
            off.extend((m, t, t + length) for m in stage)
            t += length + gap

    def op(stage: list[int], family: str) -> Operation:
        mode = rng.choice(("resumable", "unattended", "stretch"))
        d = rng.randint(2, 9)
        return Operation(
            tuple(Alternative(m, d + rng.randint(0, 1)) for m in stage),
            family=family,
            setup_default=rng.randint(0, 3),
            resumable=mode == "resumable",
            unattended=mode == "unattended",
        )

    jobs = []
    for k in range(rng.randint(3, 4)):
        family = rng.choice("AB")
        join = rng.random() < 0.3
        ops = [op(stages[0], family)] + ([op(stages[0], family)] if join else [])
        ops += [op(stages[1], family), op(stages[2], family)]
        n = len(ops)
        pairs = ((0, n - 2), (1, n - 2), (n - 2, n - 1)) if join else ((0, 1), (1, 2))
        transfers = []
        for a, b in pairs:
            if rng.random() < 0.4:
                lot = rng.randint(2, 6)
                transfers.append((a, b, rng.randint(1, lot - 1), lot))
        jobs.append(
            Job(
                tuple(ops),
                name=f"j{k}",
                release_date=rng.randint(0, 12),
                precedences=pairs,
                transfers=tuple(transfers),
            )
        )
    matrix = tuple((m, a, b, rng.randint(1, 4)) for m in range(machines) for a, b in ("AB", "BA"))
    return Problem(
        tuple(jobs),
        machines,
        setup_matrix=matrix,
        off=tuple(off),
        lot_setup_machines=frozenset(stages[rng.randint(0, 2)]),
    )


@pytest.mark.parametrize("seed", range(12))
def test_the_bound_never_exceeds_the_optimum_of_a_flow_line(seed: int) -> None:
    p = _flow_line(seed)
    optimum = _optimum(p)
    assert max(bottleneck_bound(p).bound, path_bound(p)) <= optimum


def test_the_flow_lines_reach_the_last_start_bound() -> None:
    # the instances above check the bound from the last start, not only the end bound
    assert sum(bottleneck_bound(_flow_line(s)).last_start is not None for s in range(12)) >= 3
