"""From the solver's integer solution to the plant-facing ``factoryos.model.schedule.Schedule``."""

from __future__ import annotations

import datetime as dt

from factoryos.model.schedule import Schedule, ScheduledOperation
from factoryos.schedule.problem import Problem
from factoryos.schedule.solution import SolveResult

__all__ = ["EPOCH", "to_schedule"]

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def to_schedule(
    problem: Problem,
    result: SolveResult,
    *,
    origin: dt.datetime = EPOCH,
    time_unit: dt.timedelta = dt.timedelta(seconds=1),
    objective_name: str = "makespan",
) -> Schedule:
    """Map time unit ``t`` to ``origin + t * time_unit`` and machine indices to equipment units."""
    if origin.tzinfo is None:
        raise ValueError("origin must be timezone-aware")
    origin = origin.astimezone(dt.UTC)
    ops = []
    for a in result.solution.assignments:
        job = problem.jobs[a.job]
        op = job.operations[a.op]
        equipment, unit = problem.machine_unit(a.machine)
        ops.append(
            ScheduledOperation(
                order_id=job.name or f"J{a.job}",
                product=op.product or job.product,
                operation_id=op.name or f"O{a.op}",
                equipment_id=equipment,
                unit_index=unit,
                start=origin + a.start * time_unit,
                end=origin + a.end * time_unit,
            )
        )
    return Schedule(
        operations=tuple(ops),
        status=result.status,
        objective=result.objective,
        best_bound=result.best_bound,
        wall_time_s=result.wall_time_s,
        objective_name=objective_name,
        solver=result.solver,
    )
