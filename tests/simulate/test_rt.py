"""Real-time mode: the clock follows the wall clock at a speed factor."""

from __future__ import annotations

import time

import pytest

from factoryos.simulate.errors import RealTimeLagError
from factoryos.simulate.rt import RealtimeEnvironment


class FakeClock:
    """A wall clock that only moves when slept on (or when a test pushes it)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 9))
        self.now += seconds


def test_sleeps_exactly_the_scaled_gaps_between_callbacks() -> None:
    clock = FakeClock()
    env = RealtimeEnvironment(speed=60.0, clock=clock, sleep=clock.sleep)
    log: list[tuple[float, float]] = []
    for t in (60.0, 90.0, 90.0, 300.0):
        env.schedule(t, lambda _: log.append((env.now, clock.now - 1000.0)))
    env.run(until_s=600.0)
    assert log == [(60.0, 1.0), (90.0, 1.5), (90.0, 1.5), (300.0, 5.0)]
    assert clock.sleeps == [1.0, 0.5, 3.5, 5.0]  # the last one waits for until_s itself
    assert env.now == 600.0


def test_strict_mode_raises_when_behind_and_lenient_mode_catches_up() -> None:
    clock = FakeClock()

    def slow(_: object) -> None:
        clock.now += 2.0  # a callback that takes 2 wall seconds

    env = RealtimeEnvironment(speed=10.0, clock=clock, sleep=clock.sleep, tolerance_s=0.1)
    env.schedule(1.0, slow)
    env.schedule(2.0, lambda _: None)
    with pytest.raises(RealTimeLagError, match=r"behind the wall clock at t=2\.000") as info:
        env.run()
    assert info.value.lag_s == pytest.approx(1.9)

    clock = FakeClock()
    env = RealtimeEnvironment(speed=10.0, strict=False, clock=clock, sleep=clock.sleep)
    env.schedule(1.0, slow)
    env.schedule(2.0, lambda _: None)
    env.schedule(40.0, lambda _: None)
    env.run()
    assert clock.sleeps == [0.1, 1.9]  # late for t=2 (no sleep), back on schedule for t=40


def test_high_speed_factor_against_the_real_clock() -> None:
    speed = 2000.0
    env = RealtimeEnvironment(speed=speed, tolerance_s=0.5)
    stamps: list[float] = []
    start = time.monotonic()
    for t in range(0, 201, 20):
        env.schedule(float(t), lambda _: stamps.append(time.monotonic() - start))
    env.run(until_s=400.0)
    elapsed = time.monotonic() - start
    assert elapsed >= 400.0 / speed  # never ahead of the wall clock
    assert elapsed < 400.0 / speed + 0.5  # generous: the CI box is shared
    for i, stamp in enumerate(stamps):
        assert stamp >= i * 20.0 / speed - 1e-3


def test_rejects_non_positive_speed() -> None:
    with pytest.raises(ValueError, match="speed must be positive, got 0"):
        RealtimeEnvironment(speed=0)
