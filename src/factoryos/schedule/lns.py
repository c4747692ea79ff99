"""The solve pipeline: best dispatching rule, CP-SAT, tabu search, CP-SAT again.

1. The best dispatching rule gives a complete schedule, used as CP-SAT's solution hint.
2. CP-SAT (its own portfolio: a full search plus its scheduling neighbourhoods) runs on the
   hinted model for ``first_fraction`` of the budget. Small instances end here, proven optimal;
   the others leave a good schedule and a proven lower bound.
3. For makespan problems without changeovers or downtime, a tabu search (:mod:`.tabu`) improves
   the sequences on each machine and moves critical operations to other eligible machines, one
   independent search per worker, until the lower bound or the time left for step 4.
4. CP-SAT restarts from the best schedule (hint) for ``final_fraction`` of the budget: its
   neighbourhoods may find what the tabu search missed, and it may prove the result optimal.
   Steps 3 and 4 repeat ``rounds`` times.

Problems above ``decompose_above_ops`` operations (a plant's weeks of orders), and plans with an
energy-cost term, go to the order-window decomposition of :mod:`.decompose` instead.

Measured (docs/scheduling.md): with 2 workers, CP-SAT alone leaves la29 at 1190 after 10 s;
the tabu search reaches ta01 and ta05 at their optimum in 10 s on one thread, and at 20 s the
pipeline gives mk06/mk10 58/197 against 61/217 for CP-SAT alone. An earlier
Python-side neighbourhood search around CP-SAT sub-models did not beat CP-SAT's own and was
removed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from factoryos.schedule import tabu
from factoryos.schedule.cpsat import CpSatJobShop, SolverParams
from factoryos.schedule.decompose import solve_by_orders
from factoryos.schedule.errors import NoSolutionError
from factoryos.schedule.problem import Problem
from factoryos.schedule.rules import best_rule
from factoryos.schedule.solution import Objective, Solution, SolveResult

__all__ = ["LnsConfig", "solve"]


@dataclass(frozen=True, slots=True)
class LnsConfig:
    """How the budget is split between the phases."""

    first_fraction: float = 0.1
    """Share of the budget for the first CP-SAT solve (the whole budget when tabu cannot run)."""
    final_fraction: float = 0.1
    """Share of each CP-SAT solve after a tabu round, hinted with the tabu search's schedule."""
    rounds: int = 2
    """Tabu search / CP-SAT rounds after the first solve; they share what is left equally.
    CP-SAT's neighbourhoods and the tabu search find different improvements: at 60 s with 2
    workers, one round (15/70/15 %) left ta08/ta09/ta10 at 1223/1280/1262, where CP-SAT alone
    reached 1217/1274/1241; two rounds (10/35/10/35/10 %) gave 1217 or 1243 and kept la38 at
    1196, which CP-SAT alone missed (docs/scheduling.md)."""
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
    if problem.num_operations > cfg.decompose_above_ops or (
        obj.energy_weight and problem.energy is not None
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

    def cpsat(limit: float) -> bool:
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
        try:
            res = model.solve(SolverParams(limit, params.num_workers, params.seed, params.log))
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

    first = cfg.first_fraction if searchable else 1.0
    if cpsat(first * params.time_limit_s) or score(best) <= lower:
        return finish(True)
    if searchable:
        for round_ in range(cfg.rounds):
            rounds_left = cfg.rounds - round_
            cpsat_share = cfg.final_fraction * params.time_limit_s
            found = tabu.improve(
                problem,
                best,
                time_limit_s=left() / rounds_left - cpsat_share,
                lower_bound=int(lower),
                workers=params.num_workers,
                seed=params.seed + round_,
            )
            improved(found.solution)
            limit = left() if rounds_left == 1 else cpsat_share
            if score(best) <= lower or cpsat(limit):
                return finish(True)
    return finish(score(best) <= lower)
