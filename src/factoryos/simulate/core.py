"""The discrete-event core: a clock and a heap of timed callbacks.

Why not SimPy processes: the twin's hot loop is "a machine finishes a part, the part moves on".
SimPy models that as a generator per machine plus ``Store.get``/``put`` and ``Timeout`` event
objects, about 13 engine events and several generator resumptions per part on a 5-station line.
Here a machine schedules one plain callback when its part is done, so a part costs one heap push,
one heap pop and one Python call per station. Measured with ``bench/twin.py`` (1 M parts or 20 s
each, same line, same random variates) on the 2-core development box shared with other jobs, which
runs SimPy 3-6x slower than the figure quoted in issue 3; runs 3 and 4 interleave the two engines
in slices so that both see the same load. Model events are counted by the queueing model, three
per completed service (arrival in the queue, service start, service end: 15 per part for both
engines), so their ratio is like for like; native events are each engine's own count (SimPy ~13
per part, this core 5 callbacks) and measure the implementation, not the work:

    run  SimPy 4.1.2 parts/s (model ev/s)   factoryos parts/s (model ev/s)   ratio   native ev/s
    1     17,000 (255,000)                   89,600 (1,344,000)               x5.3    x2.0
    2      7,700 (116,000)                   52,600 (789,000)                 x6.9    x2.6
    3     10,100 (152,000)                   66,700 (1,001,000)               x6.6    x2.6
    4     18,900 (283,000)                  114,100 (1,711,000)               x6.0    x2.3

Runs 1-3 printed parts/s and native events/s only; their model events/s are 15 x parts/s.

The loop stays small on purpose: one heap of ``[time, seq, callback, arg]`` entries, lazy
cancellation, and ``stop()`` by exception so the loop itself carries no per-event flag test. Real
time is a subclass in :mod:`factoryos.simulate.rt`, as SimPy does it, so the core pays nothing.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any, Final

__all__ = ["Callback", "EmptySchedule", "Environment", "Handle", "StopSimulation"]

Callback = Callable[[Any], object]
"""A scheduled action: called with the ``arg`` given to :meth:`Environment.schedule`."""

Handle = list[Any]
"""An entry on the event heap, ``[time, seq, callback, arg]``; pass it to ``cancel``."""

INFINITY: Final = float("inf")


class StopSimulation(Exception):
    """Raised inside a callback (via :meth:`Environment.stop`) to end :meth:`Environment.run`."""


class EmptySchedule(Exception):
    """Raised by :meth:`Environment.step` when nothing is scheduled."""


class Environment:
    """Simulation clock in seconds and the heap of pending callbacks.

    Callbacks at equal times run in the order they were scheduled (a sequence number breaks
    ties), so a run is fully determined by the model and its random streams.
    """

    def __init__(self, initial_time_s: float = 0.0) -> None:
        self._now = float(initial_time_s)
        self._queue: list[Handle] = []
        self._seq = itertools.count()
        self.events_processed = 0
        """Callbacks executed so far (cancelled entries are not counted)."""

    @property
    def now(self) -> float:
        """Current simulation time in seconds."""
        return self._now

    def schedule(self, delay_s: float, callback: Callback, arg: Any = None) -> Handle:
        """Call ``callback(arg)`` ``delay_s`` seconds from now; returns a handle for ``cancel``."""
        if delay_s < 0:
            raise ValueError(f"negative delay {delay_s!r}")
        entry: Handle = [self._now + delay_s, next(self._seq), callback, arg]
        heapq.heappush(self._queue, entry)
        return entry

    def schedule_at(self, time_s: float, callback: Callback, arg: Any = None) -> Handle:
        """Call ``callback(arg)`` at absolute time ``time_s`` (not before now)."""
        return self.schedule(time_s - self._now, callback, arg)

    @staticmethod
    def cancel(handle: Handle) -> None:
        """Forget a scheduled callback; its heap entry is skipped when it comes up."""
        handle[2] = None

    def peek(self) -> float:
        """Time of the next live entry, or infinity when nothing is scheduled."""
        queue = self._queue
        while queue and queue[0][2] is None:
            heapq.heappop(queue)
        return queue[0][0] if queue else INFINITY

    def step(self) -> None:
        """Advance to the next live entry and run it."""
        queue = self._queue
        while queue:
            time_s, _, callback, arg = heapq.heappop(queue)
            if callback is not None:
                self._now = time_s
                self.events_processed += 1
                callback(arg)
                return
        raise EmptySchedule

    @staticmethod
    def stop() -> None:
        """End the current :meth:`run` after the running callback (raises StopSimulation)."""
        raise StopSimulation

    def run(self, until_s: float = INFINITY) -> None:
        """Run callbacks in time order up to and including ``until_s``; then the clock is
        ``until_s`` (when finite) unless a callback called :meth:`stop`."""
        if until_s < self._now:
            raise ValueError(f"until_s={until_s!r} lies before now={self._now!r}")
        queue = self._queue
        pop = heapq.heappop
        processed = 0
        try:
            # The hot loop: locals only, no per-event checks beyond the horizon.
            while queue and queue[0][0] <= until_s:
                time_s, _, callback, arg = pop(queue)
                if callback is not None:
                    self._now = time_s
                    processed += 1
                    callback(arg)
        except StopSimulation:
            return
        finally:
            self.events_processed += processed
        if until_s != INFINITY:
            self._now = until_s
