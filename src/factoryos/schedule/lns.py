"""Large-neighbourhood search around the incumbent, on top of the CP-SAT model.

Each step keeps the machine of every operation outside a neighbourhood and the order of those
operations on their machines (precedences between consecutive frozen operations), then lets
CP-SAT re-optimise the rest under a short limit with the incumbent as hint. Neighbourhoods: a
time window of the incumbent, a random subset of machines, a random subset of jobs. Their size
adapts: grows when sub-problems solve to optimality, shrinks when they time out.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from factoryos.schedule.cpsat import CpSatJobShop, SolverParams
from factoryos.schedule.errors import NoSolutionError
from factoryos.schedule.problem import OpRef, Problem
from factoryos.schedule.rules import best_rule
from factoryos.schedule.solution import Solution, SolveResult

__all__ = ["LnsConfig", "solve"]


@dataclass(frozen=True, slots=True)
class LnsConfig:
    """Budget split and neighbourhood tuning (defaults measured on the tuning set)."""

    initial_fraction: float = 0.15
    """Share of the budget for the first full solve (warm-started from the best rule)."""
    final_fraction: float = 0.15
    """Share kept for the last full solve that tries to prove the incumbent optimal."""
    sub_time_limit_s: float = 0.5
    kind_weights: tuple[float, float, float] = (0.5, 0.25, 0.25)
    """Odds of the window, machines and jobs neighbourhoods."""
    initial_size: float = 0.3
    min_size: float = 0.05
    max_size: float = 0.9
    accept_equal: bool = True
    full_ignore_subsolvers: tuple[str, ...] = ()


KINDS = ("window", "machines", "jobs")


def _relaxed(
    problem: Problem, best: Solution, kind: str, size: float, rng: random.Random
) -> set[OpRef]:
    refs = [a.ref for a in best.assignments]
    if kind == "window":
        span = max(best.makespan, 1)
        width = size * span
        t0 = rng.uniform(-0.1 * width, span - 0.9 * width)
        return {a.ref for a in best.assignments if a.end > t0 and a.start < t0 + width}
    if kind == "machines":
        k = max(1, round(size * problem.num_machines))
        ms = set(rng.sample(range(problem.num_machines), min(k, problem.num_machines)))
        return {a.ref for a in best.assignments if a.machine in ms}
    k = max(1, round(size * len(problem.jobs)))
    js = set(rng.sample(range(len(problem.jobs)), min(k, len(problem.jobs))))
    return {r for r in refs if r[0] in js}


def _frozen_constraints(
    problem: Problem, best: Solution, relaxed: set[OpRef]
) -> tuple[dict[OpRef, int], list[tuple[OpRef, OpRef]]]:
    machines = {a.ref: a.machine for a in best.assignments if a.ref not in relaxed}
    precedences: list[tuple[OpRef, OpRef]] = []
    for seq in best.machine_sequences(problem.num_machines):
        frozen = [a.ref for a in seq if a.ref not in relaxed]
        precedences.extend(itertools.pairwise(frozen))
    return machines, precedences


def solve(
    problem: Problem,
    params: SolverParams,
    *,
    config: LnsConfig | None = None,
    hint: Solution | None = None,
    on_improvement: Callable[[float, int], None] | None = None,
) -> SolveResult:
    """Minimise the makespan: best dispatching rule, full CP-SAT solve, LNS, final full solve."""
    cfg = config or LnsConfig()
    t_start = time.perf_counter()
    deadline = t_start + params.time_limit_s
    rng = random.Random(params.seed)

    def left() -> float:
        return deadline - time.perf_counter()

    if hint is None:
        _, hint = best_rule(problem)
    best = hint
    lower = float(problem.trivial_lower_bound())

    def full(limit: float) -> SolveResult | None:
        model = CpSatJobShop(problem, upper_bound=best.makespan)
        model.add_hint(best)
        sub = SolverParams(
            limit, params.num_workers, params.seed, False, cfg.full_ignore_subsolvers
        )
        try:
            return model.solve(sub)
        except NoSolutionError:
            return None

    def finish(status_optimal: bool) -> SolveResult:
        return SolveResult(
            solution=best,
            status="optimal" if status_optimal else "feasible",
            objective=float(best.makespan),
            best_bound=float(best.makespan) if status_optimal else lower,
            wall_time_s=time.perf_counter() - t_start,
            solver="factoryos-lns",
        )

    res = full(max(0.05, cfg.initial_fraction * params.time_limit_s))
    if res is not None:
        lower = max(lower, res.best_bound)
        if res.solution.makespan <= best.makespan:
            best = res.solution
        if res.status == "optimal" or best.makespan <= lower:
            return finish(True)

    sizes = dict.fromkeys(KINDS, cfg.initial_size)
    reserve = cfg.final_fraction * params.time_limit_s
    while left() > reserve + 0.05 and best.makespan > lower:
        kind = rng.choices(KINDS, weights=cfg.kind_weights)[0]
        size = sizes[kind]
        relaxed = _relaxed(problem, best, kind, size, rng)
        machines, precedences = _frozen_constraints(problem, best, relaxed)
        model = CpSatJobShop(
            problem,
            upper_bound=best.makespan,
            fixed_machines=machines,
            fixed_precedences=precedences,
        )
        model.add_hint(best)
        limit = min(cfg.sub_time_limit_s, left() - reserve)
        sub = SolverParams(limit, params.num_workers, rng.randrange(1 << 30), False)
        try:
            r = model.solve(sub)
        except NoSolutionError:
            sizes[kind] = max(cfg.min_size, size * 0.9)
            continue
        if r.status == "optimal":
            sizes[kind] = min(cfg.max_size, size * 1.1)
        else:
            sizes[kind] = max(cfg.min_size, size * 0.9)
        mk = r.solution.makespan
        if params.log:
            print(
                f"{time.perf_counter() - t_start:6.2f}s {kind:8s} n={len(relaxed):4d} "
                f"size={size:.2f} {r.status:8s} {r.wall_time_s:.2f}s mk={mk} best={best.makespan}"
            )
        if mk < best.makespan or (cfg.accept_equal and mk == best.makespan):
            if mk < best.makespan and on_improvement is not None:
                on_improvement(time.perf_counter() - t_start, mk)
            best = r.solution
        if r.status == "optimal" and len(relaxed) == problem.num_operations:
            lower = max(lower, float(mk))

    if best.makespan > lower and left() > 0.05:
        res = full(left())
        if res is not None:
            lower = max(lower, res.best_bound)
            if res.solution.makespan <= best.makespan:
                best = res.solution
    return finish(best.makespan <= lower)
