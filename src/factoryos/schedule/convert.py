"""From the solver's integer solution to the plant-facing ``factoryos.model.schedule.Schedule``."""

from __future__ import annotations

import datetime as dt
import itertools

from factoryos.model.schedule import Schedule, ScheduledOperation
from factoryos.schedule.clock import TimeAxis, WallClock
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
    axis: TimeAxis | None = None,
) -> Schedule:
    """Map plan times to UTC instants (``origin + t * time_unit`` unless a time ``axis`` is
    given) and machine indices to equipment units."""
    if origin.tzinfo is None:
        raise ValueError("origin must be timezone-aware")
    origin = origin.astimezone(dt.UTC)
    clock: TimeAxis = axis or WallClock(origin, time_unit)
    ops = []
    setups = result.solution.setups(problem) if problem.has_setups else {}
    # a changeover sits right before its operation unless unavailable time is in the way
    previous_end: dict[tuple[int, int], int] = {}
    if setups and problem.unavailable:
        for seq in result.solution.machine_sequences(problem.num_machines):
            for before, after in itertools.pairwise([None, *seq]):
                assert after is not None  # the first one's setup runs from the plan's start
                previous_end[after.ref] = 0 if before is None else before.end
    for a in result.solution.assignments:
        setup = setups.get(a.ref, 0)
        job = problem.jobs[a.job]
        op = job.operations[a.op]
        equipment, unit = problem.machine_unit(a.machine)
        setup_at = a.start - setup
        if setup and a.ref in previous_end:
            slot = problem.changeover_slot(a.machine, previous_end[a.ref], a.start, setup)
            setup_at = setup_at if slot is None else slot
        ops.append(
            ScheduledOperation(
                order_id=job.name or f"J{a.job}",
                product=op.product or job.product,
                operation_id=op.name or f"O{a.op}",
                equipment_id=equipment,
                unit_index=unit,
                start=clock.start_at(a.start),
                end=clock.end_at(a.end) if a.end > a.start else clock.start_at(a.start),
                setup_start=clock.start_at(setup_at) if setup else None,
                setup_duration=setup * time_unit,
                quantity=op.quantity,
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
