"""Decomposition for plant-size problems: re-optimise a few orders at a time around the incumbent.

A step picks the ``k`` orders whose spans lie nearest a random instant of the incumbent, removes
them, and solves them again with CP-SAT while every other order's operations stay where they are
(their time on each machine becomes fixed intervals). The step's model is small whatever the plan
size, so thousands of operations fit in a one-minute budget; a step is kept when the whole plan's
objective does not get worse. ``k`` grows when steps solve to optimality and shrinks on timeouts.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from factoryos.schedule.cpsat import CpSatJobShop, SolverParams
from factoryos.schedule.errors import NoSolutionError
from factoryos.schedule.problem import Operation, Problem
from factoryos.schedule.rules import best_rule
from factoryos.schedule.solution import Assignment, Objective, Solution, SolveResult

__all__ = ["DecomposeConfig", "solve_by_orders"]


@dataclass(frozen=True, slots=True)
class DecomposeConfig:
    orders_per_step: int = 8
    min_orders: int = 2
    max_orders: int = 40
    step_time_limit_s: float = 2.0


def _sub_problem(problem: Problem, jobs: list[int]) -> Problem:
    return Problem(
        tuple(problem.jobs[j] for j in jobs),
        problem.num_machines,
        name=f"{problem.name}[{len(jobs)} orders]",
        machine_units=problem.machine_units,
        unavailable=problem.unavailable,
        setup_matrix=problem.setup_matrix,
        energy=problem.energy,
    )


def _costly_jobs(
    problem: Problem, obj: Objective, spans: dict[int, tuple[int, int]], makespan: int
) -> list[tuple[int, float]]:
    out: list[tuple[int, float]] = []
    for j, (_, end) in spans.items():
        job = problem.jobs[j]
        cost = 0.0
        if obj.tardiness_weight and job.due_date is not None and end > job.due_date:
            cost += obj.tardiness_weight * job.weight * (end - job.due_date)
        if obj.makespan_weight and end == makespan:
            cost += obj.makespan_weight * makespan
        if cost > 0:
            out.append((j, cost))
    return out


def solve_by_orders(
    problem: Problem,
    params: SolverParams,
    *,
    objective: Objective | None = None,
    hint: Solution | None = None,
    config: DecomposeConfig | None = None,
    rules: tuple[str, ...] = ("EDD", "FIFO", "MWKR", "MOPNR"),
) -> SolveResult:
    """Best rule, then order-window re-optimisation until the time limit."""
    cfg = config or DecomposeConfig()
    obj = objective or Objective()
    t_start = time.perf_counter()
    deadline = t_start + params.time_limit_s
    rng = random.Random(params.seed)

    def score(s: Solution) -> int:
        return obj.score(problem, s)

    if hint is None:
        if problem.has_setups and "SETUP" not in rules:
            rules = (*rules, "SETUP")
        _, hint = best_rule(problem, rules, score=score)
    best = hint
    best_score = score(best)
    lower = obj.lower_bound(problem)
    k = min(cfg.orders_per_step, len(problem.jobs))
    while deadline - time.perf_counter() > 0.2 and best_score > lower:
        spans: dict[int, tuple[int, int]] = {}
        for a in best.assignments:
            lo, hi = spans.get(a.job, (a.start, a.end))
            spans[a.job] = (min(lo, a.start), max(hi, a.end))
        # Half the steps centre on an order that costs something (late, or ending the plan),
        # drawn by its cost; the others on a random instant, to move what is in the way.
        costly = _costly_jobs(problem, obj, spans, best.makespan)
        if costly and rng.random() < 0.5:
            focus = rng.choices([j for j, _ in costly], weights=[c for _, c in costly])[0]
            pivot = rng.uniform(*spans[focus])
        else:
            focus = -1
            pivot = rng.uniform(0, best.makespan)
        jobs = sorted(
            spans,
            key=lambda j: (
                j != focus,
                max(0.0, spans[j][0] - pivot, pivot - spans[j][1]),
                rng.random(),
            ),
        )[:k]
        chosen = set(jobs)
        busy: dict[int, list[tuple[int, int]]] = {}
        fixed_ops: dict[int, list[tuple[int, int, Operation]]] = {}
        frozen_end = 0
        kept: list[Assignment] = []
        for a in best.assignments:
            if a.job in chosen:
                continue
            kept.append(a)
            busy.setdefault(a.machine, []).append((a.start, a.end))
            if problem.has_setups:
                op = problem.jobs[a.job].operations[a.op]
                fixed_ops.setdefault(a.machine, []).append((a.start, a.end, op))
            frozen_end = max(frozen_end, a.end)
        sub = _sub_problem(problem, jobs)
        index = {j: i for i, j in enumerate(jobs)}
        sub_hint = Solution.from_assignments(
            [
                Assignment(index[a.job], a.op, a.machine, a.start, a.end)
                for a in best.assignments
                if a.job in chosen
            ]
        )
        horizon = max(best.makespan, frozen_end) + sum(
            max(x.duration for x in op.alternatives) for _, op in sub.iter_operations()
        )
        model = CpSatJobShop(
            sub,
            upper_bound=horizon,
            objective=obj,
            busy=busy,
            makespan_floor=frozen_end,
            fixed_ops=fixed_ops,
        )
        model.add_hint(sub_hint)
        limit = min(cfg.step_time_limit_s, deadline - time.perf_counter() - 0.1)
        if limit <= 0.05:
            break
        # probing the setup circuits took a whole 2 s step on the plant (0.1 s deterministic)
        step = SolverParams(
            limit,
            params.num_workers,
            rng.randrange(1 << 30),
            False,
            probing=not problem.has_setups,
        )
        try:
            r = model.solve(step)
        except NoSolutionError:
            k = max(cfg.min_orders, k - 1)
            continue
        k = (
            min(cfg.max_orders, len(problem.jobs), k + 1)
            if r.status == "optimal"
            else max(cfg.min_orders, k - 1)
        )
        merged = Solution.from_assignments(
            kept
            + [
                Assignment(jobs[a.job], a.op, a.machine, a.start, a.end)
                for a in r.solution.assignments
            ]
        )
        s = score(merged)
        if s <= best_score:
            best, best_score = merged, s
    return SolveResult(
        solution=best,
        status="optimal" if best_score <= lower else "feasible",
        objective=float(best_score),
        best_bound=float(lower),
        wall_time_s=time.perf_counter() - t_start,
        solver="factoryos-orders-lns",
    )
