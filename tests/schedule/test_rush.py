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
    SolverParams,
    check,
    dispatch,
)
from factoryos.schedule.moves import explain_moves
from factoryos.schedule.repair import Disruption, repair, right_shift

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
    )
    moves = explain_moves(out.problem, old, out.result.solution, now=5, down=((0, 40, 50),))
    reasons = {(out.problem.jobs[m.ref[0]].name, m.ref[1]): m.reason for m in moves}
    assert reasons[("RUSH", 0)].startswith("new order (weight 10")
    # the order that was on the press over 40-50 moved because the press is down then
    assert reasons[("O4", 0)] == "its unit press/1 is down over its old time"
    assert all(m.old is None or m.old.start >= 5 for m in moves)  # started work never moves
