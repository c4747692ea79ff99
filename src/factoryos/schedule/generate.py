"""Seeded random JSSP / FJSP instances, so methods are checked beyond the published benchmarks."""

from __future__ import annotations

import dataclasses
import random

from factoryos.schedule.problem import Alternative, Job, Operation, Problem

__all__ = ["random_fjsp", "random_jssp", "with_families"]


def random_jssp(
    num_jobs: int, num_machines: int, *, seed: int, max_duration: int = 99, min_duration: int = 1
) -> Problem:
    """Taillard-style: each job visits every machine once in a random order, uniform durations."""
    rng = random.Random(seed)
    jobs = []
    for j in range(num_jobs):
        order = list(range(num_machines))
        rng.shuffle(order)
        ops = tuple(
            Operation((Alternative(m, rng.randint(min_duration, max_duration)),), name=f"J{j}O{k}")
            for k, m in enumerate(order)
        )
        jobs.append(Job(ops, name=f"J{j}"))
    return Problem(tuple(jobs), num_machines, name=f"rjssp_{num_jobs}x{num_machines}_s{seed}")


def random_fjsp(
    num_jobs: int,
    num_machines: int,
    *,
    seed: int,
    ops_per_job: tuple[int, int] = (2, 6),
    max_alternatives: int = 3,
    max_duration: int = 20,
) -> Problem:
    """Brandimarte-style: random routings, 1..``max_alternatives`` eligible machines per op."""
    rng = random.Random(seed)
    jobs = []
    for j in range(num_jobs):
        ops = []
        for k in range(rng.randint(*ops_per_job)):
            n_alt = rng.randint(1, min(max_alternatives, num_machines))
            machines = rng.sample(range(num_machines), n_alt)
            alts = tuple(Alternative(m, rng.randint(1, max_duration)) for m in machines)
            ops.append(Operation(alts, name=f"J{j}O{k}"))
        jobs.append(Job(tuple(ops), name=f"J{j}"))
    return Problem(tuple(jobs), num_machines, name=f"rfjsp_{num_jobs}x{num_machines}_s{seed}")


def with_families(
    problem: Problem, *, seed: int, families: int = 3, max_setup: int = 10, sparse: float = 0.3
) -> Problem:
    """``problem`` with a product family per job and a random changeover matrix per machine.

    A share ``sparse`` of the matrix entries is left out, so those changes fall back on each
    operation's own ``setup_default``.
    """
    rng = random.Random(seed)
    names = [f"F{k}" for k in range(families)]
    jobs = []
    for job in problem.jobs:
        family = rng.choice(names)
        ops = tuple(
            dataclasses.replace(op, family=family, setup_default=rng.randint(0, max_setup))
            for op in job.operations
        )
        jobs.append(dataclasses.replace(job, operations=ops))
    matrix = tuple(
        (m, a, b, rng.randint(1, max_setup))
        for m in range(problem.num_machines)
        for a in names
        for b in names
        if a != b and rng.random() >= sparse
    )
    return dataclasses.replace(
        problem, jobs=tuple(jobs), setup_matrix=matrix, name=f"{problem.name}_setups"
    )
