from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from factoryos.model.schedule import Schedule, ScheduledOperation
from factoryos.schedule import Problem, SolverParams, solve, to_schedule

ORIGIN = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)


def test_solution_maps_to_a_utc_schedule(two_by_two: Problem) -> None:
    result = solve(two_by_two, SolverParams(time_limit_s=2.0))
    plan = to_schedule(two_by_two, result, origin=ORIGIN, time_unit=dt.timedelta(minutes=1))
    assert isinstance(plan, Schedule)
    assert len(plan) == two_by_two.num_operations
    assert plan.status == "optimal"
    assert plan.objective == 6 and plan.gap == 0
    assert plan.start == ORIGIN
    assert plan.end == ORIGIN + dt.timedelta(minutes=6)
    assert all(o.start.tzinfo is not None for o in plan)
    assert {o.equipment_id for o in plan} == {"M0", "M1"}
    seq = plan.for_equipment("M1")
    assert [o.order_id for o in seq] == ["J1", "J0"]


def test_schedule_rejects_naive_times_and_bad_status() -> None:
    naive = dt.datetime(2026, 3, 2, 6, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="UTC"):
        ScheduledOperation("o1", "p", "op", "eq", 1, naive, naive)
    op = ScheduledOperation("o1", "p", "op", "eq", 1, ORIGIN, ORIGIN + dt.timedelta(hours=1))
    with pytest.raises(ValueError, match="status"):
        Schedule((op,), "unknown", 1.0, 1.0, 0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="setup"):
        dataclasses.replace(
            op, setup_start=ORIGIN - dt.timedelta(minutes=5), setup_duration=dt.timedelta(hours=1)
        )
