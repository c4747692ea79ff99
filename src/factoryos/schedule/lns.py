"""The solve pipeline: best dispatching rule, then CP-SAT and a tabu search side by side.

1. The best dispatching rule gives a complete schedule, CP-SAT's solution hint.
2. For makespan problems without changeovers or downtime, CP-SAT (its own portfolio: a full
   search plus its scheduling neighbourhoods, given the whole budget) and a tabu search
   (:mod:`.tabu`, one thread, GIL released) run at the same time for ``together_fraction`` of
   the budget, both from the rule's schedule. Small instances end here, proven optimal by
   CP-SAT; the tabu search stops then too.
3. If the tabu search's schedule is then better than CP-SAT's, CP-SAT is stopped and restarts
   from it (hint) for the rest of the budget: it polishes that schedule and may prove it optimal.
   Otherwise CP-SAT goes on with its own search, now alone on the cores: a restart would throw
   away what it has learnt (la40 60 s, seeds 0-2: 1222 in all three, against 1 of 4 runs when
   CP-SAT always restarted).

Other problems give CP-SAT the whole budget. Side by side, CP-SAT keeps one uninterrupted
trajectory (alone, in one logged run, it reached la21 and la40 at their optimum after 15 and 28 s,
which the tabu search rarely does), while the tabu search finds la27, la29 and la38, which CP-SAT
misses. Taking turns (10 % CP-SAT, then tabu 35 % / CP-SAT 10 % twice) missed la21, la38 and
la40 (docs/scheduling.md). An earlier Python-side neighbourhood search around CP-SAT sub-models
did not beat CP-SAT's own and was removed.

Problems above ``decompose_above_ops`` operations (a plant's weeks of orders), and plans with an
energy-cost term, go to the order-window decomposition of :mod:`.decompose` instead.

Measured (docs/scheduling.md): with 2 workers, CP-SAT alone leaves la29 at 1190 after 10 s;
the tabu search reaches ta01 and ta05 at their optimum in 10 s on one thread, and at 20 s the
pipeline gives mk06/mk10 58/197 against 61/217 for CP-SAT alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from factoryos.schedule import tabu
from factoryos.schedule.cpsat import CpSatJobShop, SearchWatch, SolverParams
from factoryos.schedule.decompose import solve_by_orders
from factoryos.schedule.errors import NoSolutionError
from factoryos.schedule.problem import Problem
from factoryos.schedule.rules import best_rule
from factoryos.schedule.solution import Objective, Solution, SolveResult

__all__ = ["LnsConfig", "solve"]


@dataclass(frozen=True, slots=True)
class LnsConfig:
    """How the budget is split between the phases."""

    together_fraction: float = 0.8
    """Share of the budget where CP-SAT and the tabu search run side by side; CP-SAT alone has
    the rest (restarted from the tabu search's schedule if that is better)."""
    tabu_threads: int = 1
    """Tabu searches beside CP-SAT's workers."""
    use_tabu: bool = True
    decompose_above_ops: int = 1000
    """Larger problems go to the order-window decomposition (:mod:`.decompose`)."""


def solve(
    problem: Problem,
    params: SolverParams,
    *,
    objective: Objective | None = None,
    config: LnsConfig | None = None,
    hint: Solution | None = None,
    on_improvement: Callable[[float, int], None] | None = None,
) -> SolveResult:
    """Minimise ``objective`` (default makespan) within ``params.time_limit_s``."""
    cfg = config or LnsConfig()
    obj = objective or Objective()
    searchable = cfg.use_tabu and obj.is_makespan and tabu.applies_to(problem)
    if searchable:
        tabu.compile_kernels()  # the first compile (~10 s) is not the search's time
    t_start = time.perf_counter()
    deadline = t_start + params.time_limit_s

    def left() -> float:
        return deadline - time.perf_counter()

    def score(solution: Solution) -> int:
        return obj.score(problem, solution)

    # An energy term prices every start over the whole horizon in one model (a 92-operation plan
    # on the plant calendar: 227k literals, UNKNOWN after 15 s); the decomposition's steps keep
    # starts within a window of the incumbent, so small plans take that path too.
    # Units with their own time off do the same to start domains (a gap per span) and add a
    # stretch table per resumable run: the 4-week coatings plan (270 operations, a year of
    # shift spans) took 23 s to build and was UNKNOWN after 60 s as one model.
    if (
        problem.num_operations > cfg.decompose_above_ops
        or (obj.energy_weight and problem.energy is not None)
        or problem.off
    ):
        return solve_by_orders(problem, params, objective=obj, hint=hint)

    if hint is None:
        _, hint = best_rule(problem, score=score)
    best = hint
    lower = float(obj.lower_bound(problem))

    def improved(solution: Solution) -> None:
        nonlocal best
        if score(solution) < score(best):
            best = solution
            if on_improvement is not None:
                on_improvement(time.perf_counter() - t_start, score(best))

    def cpsat(limit: float, watch: SearchWatch | None = None) -> bool:
        """Hinted full solve; True when it proved ``best`` optimal."""
        nonlocal lower
        if limit < 0.05:
            return False
        model = CpSatJobShop(
            problem,
            objective=obj,
            objective_upper_bound=None if obj.is_makespan else score(best),
        )
        model.add_hint(best)
        # building the model is part of the time limit (a 3,000-operation plan: ~1 s)
        limit = min(limit, left())
        if limit < 0.05:
            return False
        try:
            res = model.solve(
                SolverParams(limit, params.num_workers, params.seed, params.log), watch=watch
            )
        except NoSolutionError:
            return False
        lower = max(lower, res.best_bound)
        improved(res.solution)
        return res.status == "optimal" and score(best) <= res.objective

    def finish(optimal: bool) -> SolveResult:
        return SolveResult(
            solution=best,
            status="optimal" if optimal else "feasible",
            objective=float(score(best)),
            best_bound=float(score(best)) if optimal else lower,
            wall_time_s=time.perf_counter() - t_start,
            solver="factoryos",
        )

    if not searchable:
        return finish(cpsat(params.time_limit_s) or score(best) <= lower)
    watch = SearchWatch()
    cpsat_done = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        whole = pool.submit(cpsat, params.time_limit_s, watch)
        whole.add_done_callback(lambda _: cpsat_done.set())
        found = tabu.improve(
            problem,
            hint,
            time_limit_s=cfg.together_fraction * params.time_limit_s,
            lower_bound=int(lower),
            workers=cfg.tabu_threads,
            seed=params.seed,
            stop=cpsat_done,  # CP-SAT proved its schedule optimal or failed
        )
        # CP-SAT keeps its one trajectory unless the tabu search is ahead of it
        hand_over = score(found.solution) < watch.best
        if hand_over:
            watch.stop()
        proved = whole.result()
    improved(found.solution)
    if proved or score(best) <= lower:
        return finish(True)
    return finish((hand_over and cpsat(left())) or score(best) <= lower)
