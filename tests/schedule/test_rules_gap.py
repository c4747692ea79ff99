"""Dispatching rules fill the end of a working stretch that their first choice cannot use."""

from __future__ import annotations

from factoryos.schedule import Alternative, Job, Operation, Problem, check
from factoryos.schedule.rules import dispatch


def _lot(name: str, release: int, duration: int) -> Job:
    return Job((Operation((Alternative(0, duration),)),), name=name, release_date=release)


def test_a_shorter_lot_takes_the_stretch_end_the_rules_choice_does_not_fit() -> None:
    # the calendar pauses at 100; x runs 0-50; then LPT prefers the 60-unit lot, which needs
    # one stretch and would wait until 100: the 30-unit lot runs 50-80 first instead
    p = Problem((_lot("x", 0, 50), _lot("long", 50, 60), _lot("short", 50, 30)), 1, breaks=(100,))
    plan = dispatch(p, "LPT")
    check(p, plan)
    starts = {p.jobs[a.job].name: a.start for a in plan.assignments}
    assert starts == {"x": 0, "short": 50, "long": 100}
    assert plan.makespan == 160  # 190 with the stretch end left idle
