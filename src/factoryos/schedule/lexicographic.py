"""Lexicographic objectives: solve the first, keep it at its value with a bound, then the next.

Each stage is one CP-SAT model of the whole problem with the earlier stages' objectives bounded
by the values they reached (``CpSatJobShop.add_bound``, shifted by the model's pricing error
on the hint when energy tables are coarse) and the previous stage's plan as the
hint, so a stage never loses what an earlier one won (a stage that finds nothing in its time
keeps the previous plan). A stage that stops at a feasible, not proven optimal, value fixes
that value: the order is kept, optimality only as far as proven.
Problems above ``decompose_above_ops`` operations (plant size) run each stage through the
order-window decomposition (:func:`~factoryos.schedule.decompose.solve_by_orders`) with the
earlier stages' values as bounds on the whole plan; a stage is then "optimal" only when the
plan meets that objective's lower bound.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from factoryos.schedule.cpsat import CpSatJobShop, SolverParams
from factoryos.schedule.decompose import DecomposeConfig, solve_by_orders
from factoryos.schedule.errors import NoSolutionError
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
    decompose_above_ops: int = 1000,
    decompose: DecomposeConfig | None = None,
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
        if problem.num_operations > decompose_above_ops:
            result = solve_by_orders(
                problem,
                stage,
                objective=objective,
                hint=hint,
                config=decompose,
                bounds=tuple(bounds),
            )
        else:
            model = CpSatJobShop(problem, objective=objective)
            for earlier, value in bounds:
                model.add_bound(earlier, value, reference=hint)
            model.add_hint(hint)
            found: SolveResult | None = None
            with contextlib.suppress(NoSolutionError):  # nothing found in the stage's time
                found = model.solve(stage, solver_name="factoryos-lexicographic")
            if found is not None and all(o.score(problem, found.solution) <= v for o, v in bounds):
                result = found
            else:
                # nothing found, or coarse energy tables let an earlier objective slip: the
                # previous plan meets every bound
                value = objective.score(problem, hint)
                bound = float(objective.lower_bound(problem))
                result = SolveResult(
                    hint,
                    "feasible",
                    float(value),
                    bound,
                    stage.time_limit_s,
                    "factoryos-lexicographic",
                )
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
