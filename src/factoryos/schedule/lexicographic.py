"""Lexicographic objectives: solve the first, keep it at its value with a bound, then the next.

Each stage is one CP-SAT model of the whole problem with the earlier stages' objectives bounded
by the values they reached (``CpSatJobShop(bounds=...)``) and the previous stage's plan as the
hint, so a stage never loses what an earlier one won. A stage that stops at a feasible, not
proven optimal, value fixes that value: the order is kept, optimality only as far as proven.
Problems of plant size are solved in one model per stage here, not by the decomposition.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from factoryos.schedule.cpsat import CpSatJobShop, SolverParams
from factoryos.schedule.problem import Problem
from factoryos.schedule.rules import best_rule
from factoryos.schedule.solution import Objective, Solution, SolveResult, SolveStatus
from factoryos.schedule.validate import check

__all__ = ["LexicographicResult", "solve_lexicographic"]


@dataclass(frozen=True)
class LexicographicResult:
    """The last stage's result and, per stage, the value reached and whether it was proven."""

    result: SolveResult
    values: tuple[int, ...]
    optimal: tuple[bool, ...]


def solve_lexicographic(
    problem: Problem,
    objectives: Sequence[Objective],
    params: SolverParams,
    *,
    hint: Solution | None = None,
) -> LexicographicResult:
    """Minimise ``objectives`` in order, the time limit split evenly over the stages."""
    if not objectives:
        raise ValueError("no objective given")
    t0 = time.perf_counter()
    first = objectives[0]
    if hint is None:
        _, hint = best_rule(problem, score=lambda s: first.score(problem, s))
    bounds: list[tuple[Objective, int]] = []
    values: list[int] = []
    proven: list[bool] = []
    result: SolveResult | None = None
    for i, objective in enumerate(objectives):
        left = params.time_limit_s - (time.perf_counter() - t0)
        stage = replace(params, time_limit_s=max(0.05, left / (len(objectives) - i)))
        model = CpSatJobShop(problem, objective=objective, bounds=tuple(bounds))
        model.add_hint(hint)
        result = model.solve(stage, solver_name="factoryos-lexicographic")
        check(problem, result.solution)
        value = objective.score(problem, result.solution)
        values.append(value)
        proven.append(result.status == "optimal")
        bounds.append((objective, value))
        hint = result.solution
    assert result is not None
    status: SolveStatus = "optimal" if all(proven) else "feasible"
    final = replace(result, status=status, wall_time_s=time.perf_counter() - t0)
    return LexicographicResult(final, tuple(values), tuple(proven))
