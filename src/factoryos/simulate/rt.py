"""Real time: the simulation clock tied to the wall clock by a speed factor.

A subclass of the core, as ``simpy.rt`` does it, so the fast loop of :class:`Environment` pays
nothing for it. Before each callback the environment sleeps until the wall clock catches up with
``wall_start + (t - sim_start) / speed``. With ``strict=True`` a callback that comes due more than
``tolerance_s`` late raises :class:`RealTimeLagError`, so a live virtual plant never silently
drifts; with ``strict=False`` it runs as fast as it can until it is back on time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from factoryos.simulate.core import INFINITY, EmptySchedule, Environment, StopSimulation
from factoryos.simulate.errors import RealTimeLagError

__all__ = ["RealtimeEnvironment"]


class RealtimeEnvironment(Environment):
    """An :class:`Environment` whose clock advances with the wall clock, ``speed`` times faster."""

    def __init__(
        self,
        initial_time_s: float = 0.0,
        speed: float = 1.0,
        *,
        strict: bool = True,
        tolerance_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``speed`` is simulated seconds per wall-clock second (60: a minute passes per second).
        ``clock`` and ``sleep`` are injectable for tests."""
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed!r}")
        super().__init__(initial_time_s)
        self.speed = float(speed)
        self.strict = strict
        self.tolerance_s = tolerance_s
        self._clock = clock
        self._sleep = sleep
        self.sync()

    def sync(self) -> None:
        """Pin the current simulation time to the current wall time (e.g. after a pause)."""
        self._wall_start = self._clock()
        self._sim_start = self._now

    def _wait_until(self, sim_time_s: float) -> None:
        due = self._wall_start + (sim_time_s - self._sim_start) / self.speed
        delay = due - self._clock()
        if delay > 0:
            self._sleep(delay)
        elif self.strict and -delay > self.tolerance_s:
            raise RealTimeLagError(sim_time_s, -delay)

    def step(self) -> None:
        """Wait for the wall clock, then run the next callback."""
        next_time = self.peek()
        if next_time == INFINITY:
            raise EmptySchedule
        self._wait_until(next_time)
        super().step()

    def run(self, until_s: float = INFINITY) -> None:
        """Like :meth:`Environment.run`, paced by the wall clock; a finite ``until_s`` returns at
        its wall-clock moment."""
        if until_s < self._now:
            raise ValueError(f"until_s={until_s!r} lies before now={self._now!r}")
        try:
            while (next_time := self.peek()) != INFINITY and next_time <= until_s:
                self.step()
        except StopSimulation:
            return
        if until_s != INFINITY:
            self._wait_until(until_s)
            self._now = until_s
