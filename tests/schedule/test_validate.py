"""The validator catches each kind of violation on schedules broken on purpose."""

from __future__ import annotations

import dataclasses

import pytest

from factoryos.schedule import (
    Assignment,
    InvalidScheduleError,
    Job,
    Problem,
    Solution,
    check,
    dispatch,
    validate,
)


def _good(two_by_two: Problem) -> Solution:
    return Solution.from_assignments(
        [
            Assignment(0, 0, 0, 0, 3),
            Assignment(0, 1, 1, 4, 6),
            Assignment(1, 0, 1, 0, 4),
            Assignment(1, 1, 0, 4, 5),
        ]
    )


def _replace(sol: Solution, idx: int, **changes: int) -> Solution:
    items = list(sol.assignments)
    items[idx] = dataclasses.replace(items[idx], **changes)
    return Solution(tuple(items))


def test_a_valid_schedule_has_no_violations(two_by_two: Problem) -> None:
    sol = _good(two_by_two)
    assert validate(two_by_two, sol) == []
    check(two_by_two, sol)
    assert sol.makespan == 6


@pytest.mark.parametrize(
    ("idx", "changes", "kind"),
    [
        (0, {"machine": 1}, "ineligible_machine"),
        (0, {"end": 4}, "wrong_duration"),
        (1, {"start": 2, "end": 4}, "precedence"),
        (3, {"start": 2, "end": 3}, "overlap"),
        (0, {"start": -1, "end": 2}, "negative_start"),
        (0, {"job": 7}, "unknown_operation"),
    ],
)
def test_each_violation_kind_is_caught(
    two_by_two: Problem, idx: int, changes: dict[str, int], kind: str
) -> None:
    broken = _replace(_good(two_by_two), idx, **changes)
    kinds = {v.kind for v in validate(two_by_two, broken)}
    assert kind in kinds
    with pytest.raises(InvalidScheduleError) as info:
        check(two_by_two, broken)
    assert any(v.kind == kind for v in info.value.violations)


def test_missing_and_duplicate_operations(two_by_two: Problem) -> None:
    sol = _good(two_by_two)
    missing = Solution(sol.assignments[:-1])
    assert {v.kind for v in validate(two_by_two, missing)} == {"missing"}
    dup = Solution((*sol.assignments, sol.assignments[0]))
    assert {v.kind for v in validate(two_by_two, dup)} == {"duplicate"}


def test_release_date_is_checked(two_by_two: Problem) -> None:
    jobs = (dataclasses.replace(two_by_two.jobs[0], release_date=1), two_by_two.jobs[1])
    late = Problem(jobs, 2)
    assert {v.kind for v in validate(late, _good(two_by_two))} == {"release_date"}
    check(late, dispatch(late, "SPT"))


def test_assembly_join_precedences_are_checked() -> None:
    from factoryos.schedule import Alternative, Operation

    ops = tuple(Operation((Alternative(m, 2),)) for m in range(3))
    # ops 0 and 1 are sub-assemblies, op 2 joins them
    job = Job(ops, precedences=((0, 2), (1, 2)))
    p = Problem((job,), 3)
    parallel = Solution.from_assignments(
        [Assignment(0, 0, 0, 0, 2), Assignment(0, 1, 1, 0, 2), Assignment(0, 2, 2, 2, 4)]
    )
    assert validate(p, parallel) == []
    early = _replace(parallel, 2, start=1, end=3)
    assert {v.kind for v in validate(p, early)} == {"precedence"}
    check(p, dispatch(p))
