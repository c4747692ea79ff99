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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from factoryos.schedule.cpsat import CpSatJobShop, SolverParams
from factoryos.schedule.decompose import solve_by_orders
from factoryos.schedule.errors import NoSolutionError
from factoryos.schedule.problem import OpRef, Problem
from factoryos.schedule.rules import best_rule
from factoryos.schedule.solution import Objective, Solution, SolveResult

__all__ = ["LnsConfig", "solve"]


@dataclass(frozen=True, slots=True)
class LnsConfig:
    """Budget split and neighbourhood tuning.

    The default gives the whole budget to one warm-started full solve: at 20 s with 2 workers our
    own neighbourhood search did not beat CP-SAT's built-in LNS on la21/la29/ta01/ta05/mk06/mk10
    (docs/scheduling.md has the figures). ``initial_fraction < 1`` turns it on.
    """

    initial_fraction: float = 1.0
    """Share of the budget for the first full solve (warm-started from the best rule)."""
    final_fraction: float = 0.0
    """Share kept for the last full solve that tries to prove the incumbent optimal."""
    sub_time_limit_s: float = 0.5
    kind_weights: tuple[float, float, float] = (0.5, 0.25, 0.25)
    """Odds of the window, machines and jobs neighbourhoods."""
    initial_size: float = 0.3
    min_size: float = 0.05
    max_size: float = 0.9
    accept_equal: bool = True
    full_ignore_subsolvers: tuple[str, ...] = ()
    decompose_above_ops: int = 1000
    """Larger problems go to the order-window decomposition (:mod:`.decompose`)."""


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


def _try_solve(model: CpSatJobShop, params: SolverParams) -> SolveResult | None:
    try:
        return model.solve(params)
    except NoSolutionError:
        return None


def solve(
    problem: Problem,
    params: SolverParams,
    *,
    objective: Objective | None = None,
    config: LnsConfig | None = None,
    hint: Solution | None = None,
    on_improvement: Callable[[float, int], None] | None = None,
) -> SolveResult:
    """Minimise ``objective`` (default makespan): best rule, full CP-SAT solve, LNS, full solve."""
    cfg = config or LnsConfig()
    obj = objective or Objective()
    t_start = time.perf_counter()
    deadline = t_start + params.time_limit_s
    rng = random.Random(params.seed)

    def left() -> float:
        return deadline - time.perf_counter()

    def score(solution: Solution) -> int:
        return obj.score(problem, solution)

    if problem.num_operations > cfg.decompose_above_ops:
        return solve_by_orders(problem, params, objective=obj, hint=hint)

    if hint is None:
        _, hint = best_rule(problem, score=score)
    best = hint
    lower = float(obj.lower_bound(problem))

    def model_for(
        machines: dict[OpRef, int] | None = None,
        precedences: list[tuple[OpRef, OpRef]] | None = None,
    ) -> CpSatJobShop:
        # Neighbourhoods use the incumbent's makespan as horizon. The full model does not:
        # measured at 15 s / 2 workers with the same hint, that horizon made la27 and la29
        # worse in 5 runs of 5 (e.g. la29 1289 vs 1247) and did nothing on mk10.
        restricted = machines is not None
        return CpSatJobShop(
            problem,
            upper_bound=best.makespan if obj.is_makespan and restricted else None,
            objective=obj,
            objective_upper_bound=None if obj.is_makespan else score(best),
            fixed_machines=machines,
            fixed_precedences=precedences or (),
        )

    def full(limit: float) -> SolveResult | None:
        model = model_for()
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
            objective=float(score(best)),
            best_bound=float(score(best)) if status_optimal else lower,
            wall_time_s=time.perf_counter() - t_start,
            solver="factoryos-lns",
        )

    res = full(max(0.05, cfg.initial_fraction * params.time_limit_s))
    if res is not None:
        lower = max(lower, res.best_bound)
        if score(res.solution) <= score(best):
            best = res.solution
        if res.status == "optimal" or score(best) <= lower:
            return finish(True)

    sizes = dict.fromkeys(KINDS, cfg.initial_size)
    reserve = cfg.final_fraction * params.time_limit_s
    # One neighbourhood per worker, each solved single-threaded: CP-SAT releases the GIL while
    # solving, and independent small solves beat one two-thread solve of the same neighbourhood.
    parallel = max(1, params.num_workers)
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        while left() > reserve + 0.05 and score(best) > lower:
            limit = min(cfg.sub_time_limit_s, left() - reserve)
            jobs = []
            for _ in range(parallel):
                kind = rng.choices(KINDS, weights=cfg.kind_weights)[0]
                relaxed = _relaxed(problem, best, kind, sizes[kind], rng)
                machines, precedences = _frozen_constraints(problem, best, relaxed)
                model = model_for(machines, precedences)
                model.add_hint(best)
                sub = SolverParams(limit, 1, rng.randrange(1 << 30), False)
                jobs.append((kind, len(relaxed), pool.submit(_try_solve, model, sub)))
            incumbent = best
            for kind, n_relaxed, fut in jobs:
                r = fut.result()
                size = sizes[kind]
                if r is None or r.status != "optimal":
                    sizes[kind] = max(cfg.min_size, size * 0.9)
                else:
                    sizes[kind] = min(cfg.max_size, size * 1.1)
                if r is None:
                    continue
                mk = score(r.solution)
                if params.log:
                    print(
                        f"{time.perf_counter() - t_start:6.2f}s {kind:8s} n={n_relaxed:4d} "
                        f"size={size:.2f} {r.status:8s} {r.wall_time_s:.2f}s mk={mk} "
                        f"best={score(best)}"
                    )
                if mk < score(best) or (
                    cfg.accept_equal and mk == score(best) and best is incumbent
                ):
                    if mk < score(best) and on_improvement is not None:
                        on_improvement(time.perf_counter() - t_start, mk)
                    best = r.solution
                if r.status == "optimal" and n_relaxed == problem.num_operations:
                    lower = max(lower, float(mk))

    if score(best) > lower and left() > 0.05:
        res = full(left())
        if res is not None:
            lower = max(lower, res.best_bound)
            if score(res.solution) <= score(best):
                best = res.solution
    return finish(score(best) <= lower)
