"""Spec-like tests of the event core: each callback logs (name, now); the test asserts the log."""

from __future__ import annotations

import pytest

from factoryos.simulate.core import EmptySchedule, Environment


def test_callbacks_run_in_time_order_and_ties_in_scheduling_order() -> None:
    env = Environment()
    log: list[tuple[str, float]] = []
    for name, delay in [("c", 3.0), ("a", 1.0), ("b1", 2.0), ("b2", 2.0), ("b3", 2.0)]:
        env.schedule(delay, lambda n: log.append((n, env.now)), name)
    env.run()
    assert log == [("a", 1.0), ("b1", 2.0), ("b2", 2.0), ("b3", 2.0), ("c", 3.0)]
    assert env.events_processed == 5


def test_callbacks_can_schedule_more_and_run_until_stops_at_the_horizon() -> None:
    env = Environment()
    log: list[tuple[str, float]] = []

    def tick(n: int) -> None:
        log.append((f"tick{n}", env.now))
        env.schedule(1.5, tick, n + 1)

    env.schedule(0.0, tick, 0)
    env.run(until_s=4.5)
    assert log == [("tick0", 0.0), ("tick1", 1.5), ("tick2", 3.0), ("tick3", 4.5)]
    assert env.now == 4.5
    env.run(until_s=5.0)
    assert env.now == 5.0
    assert len(log) == 4


def test_cancelled_callbacks_never_run_and_are_not_counted() -> None:
    env = Environment()
    log: list[str] = []
    keep = env.schedule(1.0, log.append, "keep")
    drop = env.schedule(0.5, log.append, "drop")
    env.cancel(drop)
    assert env.peek() == 1.0
    env.run()
    assert log == ["keep"]
    assert env.events_processed == 1
    assert keep[0] == 1.0


def test_stop_ends_run_at_the_current_time() -> None:
    env = Environment()
    env.schedule(2.0, lambda _: env.stop())
    env.schedule(3.0, lambda _: pytest.fail("ran past stop()"))
    env.run(until_s=10.0)
    assert env.now == 2.0


def test_step_and_schedule_at() -> None:
    env = Environment(initial_time_s=10.0)
    log: list[float] = []
    env.schedule_at(12.0, lambda _: log.append(env.now))
    env.step()
    assert log == [12.0]
    with pytest.raises(EmptySchedule):
        env.step()


def test_rejects_time_travel() -> None:
    env = Environment(initial_time_s=5.0)
    with pytest.raises(ValueError, match=r"negative delay -1\.0"):
        env.schedule(-1.0, print)
    with pytest.raises(ValueError, match="before now"):
        env.run(until_s=1.0)
