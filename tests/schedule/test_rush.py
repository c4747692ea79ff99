"""Repair a planner trusts: a heavy rush order goes first where there is slack, the repair says
why it stopped, and the moves it made are listed with their reasons."""

from __future__ import annotations

import pytest

from factoryos.schedule import (
    Alternative,
    Job,
    Objective,
    Operation,
    Problem,
    Solution,
    SolverParams,
    check,
    dispatch,
)
from factoryos.schedule.moves import explain_moves
from factoryos.schedule.repair import Disruption, repair
from factoryos.schedule.right_shift import right_shift

TARDINESS = Objective(0, 1)


def _loaded_with_slack() -> Problem:
    # ten orders of 10 units on one bottleneck unit (then 2 units of packing), due at 300:
    # the plan runs to 100, so every order has 200 units of slack
    jobs = tuple(
        Job(
            (
                Operation((Alternative(0, 10),), name="make"),
                Operation((Alternative(1, 2),), name="pack"),
            ),
            name=f"O{k}",
            due_date=300,
        )
        for k in range(10)
    )
    return Problem(jobs, 2, machine_units=(("press", 1), ("packer", 1)))


RUSH = Job(
    (Operation((Alternative(0, 10),), name="make"), Operation((Alternative(1, 2),), name="pack")),
    name="RUSH",
    release_date=5,
    due_date=25,
    weight=10,
)


@pytest.mark.parametrize("max_model_operations", [1_500, 1])  # one model; order by order
def test_a_heavy_rush_order_goes_first_where_there_is_slack(max_model_operations: int) -> None:
    p = _loaded_with_slack()
    old = dispatch(p, "FIFO")
    d = Disruption(now=5, new_jobs=(RUSH,))
    out = repair(
        p,
        old,
        d,
        SolverParams(3.0, 2),
        objective=TARDINESS,
        max_model_operations=max_model_operations,
        deviation_unit=1,
    )
    check(out.problem, out.result.solution)
    shifted = right_shift(out.problem, old, 5)
    # right-shift puts the rush at the end (100-110, packed by 112): 87 units late x 10
    assert TARDINESS.score(out.problem, shifted) == 870
    rush = [a for a in out.result.solution.assignments if a.job == 10]
    # after the running order (0-10) the press makes the rush (10-20), packed by 22: on time
    assert max(a.end for a in rush) <= 25
    assert out.result.objective < TARDINESS.score(out.problem, shifted)
    assert out.stopped


def test_order_by_order_says_why_it_stopped_before_the_time_limit() -> None:
    p = _loaded_with_slack()
    out = repair(
        p,
        dispatch(p, "FIFO"),
        Disruption(now=5, new_jobs=(RUSH,)),
        SolverParams(20.0, 2),
        objective=TARDINESS,
        max_model_operations=1,
        deviation_unit=1,
    )
    assert out.result.wall_time_s < 20
    assert not out.stopped.startswith("time limit")
    assert "nothing" in out.stopped


def test_each_move_names_its_reason() -> None:
    p = _loaded_with_slack()
    old = dispatch(p, "FIFO")
    out = repair(
        p,
        old,
        Disruption(now=5, down=((0, 40, 50),), new_jobs=(RUSH,)),
        SolverParams(2.0, 2),
        objective=TARDINESS,
        deviation_unit=1,
    )
    moves = explain_moves(out.problem, old, out.result.solution, now=5, down=((0, 40, 50),))
    reasons = {(out.problem.jobs[m.ref[0]].name, m.ref[1]): m.reason for m in moves}
    assert reasons[("RUSH", 0)].startswith("new order (weight 10")
    # the order that was on the press over 40-50 moved because the press is down then
    assert reasons[("O4", 0)] == "its unit press/1 is down over its old time"
    assert all(m.old is None or m.old.start >= 5 for m in moves)  # started work never moves


def _ten_hours_booked() -> tuple[Problem, Solution]:
    """Ten orders of an hour each on one press (time unit: minutes), due in a week: the plan
    runs 0-600 with 9,480 minutes of slack per order."""
    jobs = tuple(
        Job((Operation((Alternative(0, 60),), name="make"),), name=f"O{k}", due_date=10_080)
        for k in range(10)
    )
    p = Problem(jobs, 1, machine_units=(("press", 1),))
    return p, dispatch(p, "FIFO")


@pytest.mark.parametrize("max_model_operations", [1_500, 1])  # one model; order by order
def test_a_long_heavy_rush_order_jumps_the_queue_by_operation_hours(
    max_model_operations: int,
) -> None:
    # a 15 h rush order of weight 10 due at its end: first, it moves the ten orders by 15 h
    # (150 operation-hours, 9,000 operation-minutes); last, it is 10 h late (6,000 weighted)
    p, old = _ten_hours_booked()
    rush = Job(
        (Operation((Alternative(0, 900),), name="make"),), name="RUSH", due_date=900, weight=10
    )
    d = Disruption(now=0, new_jobs=(rush,))

    def rush_start(per_hour: int) -> int:
        out = repair(
            p,
            old,
            d,
            SolverParams(3.0, 2),
            objective=TARDINESS,
            deviation_unit=per_hour,
            max_model_operations=max_model_operations,
        )
        check(out.problem, out.result.solution)
        return out.result.solution.by_ref()[(10, 0)].start

    assert rush_start(60) == 0  # operation-hours: the rush goes first, on time
    assert rush_start(1) == 600  # operation-minutes (before): 9,000 > 6,000, it went last


def test_repair_leaves_the_plan_alone_when_nothing_is_gained() -> None:
    # a rush order that fits after the booked hours on time, and a down hour after the plan:
    # no move can lower tardiness, so none is made
    p, old = _ten_hours_booked()
    rush = Job(
        (Operation((Alternative(0, 60),), name="make"),), name="RUSH", due_date=900, weight=10
    )
    d = Disruption(now=30, down=((0, 700, 760),), new_jobs=(rush,))
    out = repair(p, old, d, SolverParams(2.0, 2), objective=TARDINESS, deviation_unit=60)
    check(out.problem, out.result.solution)
    new = out.result.solution.by_ref()
    assert out.deviation == 0
    assert all(new[a.ref] == a for a in old.assignments)
    assert out.result.objective == 0
