"""A serial flow line on the core: stations, finite buffers, blocking after service.

Small on purpose: the benchmark line and the theory tests (M/M/1, two stations with a finite
buffer) run on it, and the plant executor uses the same rules. Semantics:

* A station serves one part at a time; its service time comes from its own random stream.
* ``capacity`` is the number of parts that may wait in front of a station, not counting the part
  in service (``None``: unbounded).
* Blocking after service: a finished part that finds the next buffer full stays on its
  station, which is *blocked* until the next station takes a part from its buffer.
* A station with nothing to do is *starved*. The first station is either fed by a Poisson
  source or saturated (a raw part is always available, so it is never starved).

A part is represented by its release time, enough for sojourn times.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from heapq import heappush

from factoryos.simulate.core import Environment
from factoryos.simulate.streams import Draw, RandomStreams

__all__ = ["LineStats", "SerialLine", "Station", "StationState", "StationStats"]


class StationState(IntEnum):
    """What a station is doing; indexes ``Station.time_in_s``."""

    STARVED = 0
    BUSY = 1
    BLOCKED = 2


STARVED, BUSY, BLOCKED = StationState.STARVED, StationState.BUSY, StationState.BLOCKED


class Station:
    """One server with the buffer in front of it."""

    __slots__ = (
        "_current",
        "_draw",
        "_heap",
        "_holding",
        "_on_finish",
        "_saturated",
        "_seq",
        "_since",
        "_state",
        "_waiting",
        "capacity",
        "completed",
        "downstream",
        "env",
        "line",
        "name",
        "queue",
        "time_in_s",
    )

    def __init__(
        self,
        line: SerialLine,
        name: str,
        draw: Draw,
        capacity: int | None,
        saturated: bool,
    ) -> None:
        self.line = line
        self.env = line.env
        self.name = name
        self._draw = draw
        self.capacity = capacity
        self._saturated = saturated
        self.queue: deque[float] = deque()
        self.downstream: Station | None = None
        self._waiting: Station | None = None  # upstream station blocked on this buffer
        self._holding = 0.0  # part kept while blocked
        self._current = 0.0  # part in service
        self._state = STARVED
        self._since = self.env.now
        self.time_in_s = [0.0, 0.0, 0.0]
        self.completed = 0
        self._heap = self.env._queue
        self._seq = self.env._seq
        self._on_finish = self._finish

    @property
    def state(self) -> StationState:
        return StationState(self._state)

    def _set_state(self, state: StationState) -> None:
        now = self.env.now
        self.time_in_s[self._state] += now - self._since
        self._since = now
        self._state = state

    def close_books(self) -> None:
        """Account the current state up to now (call before reading ``time_in_s``)."""
        self._set_state(self._state)

    def can_accept(self) -> bool:
        return self._state == STARVED or self.capacity is None or len(self.queue) < self.capacity

    def accept(self, part: float) -> None:
        """Take a part from upstream; the caller checked ``can_accept``."""
        if self._state == STARVED:
            self._start(part)
        else:
            self.queue.append(part)

    # The three methods below are the benchmark's hot path: state accounting and scheduling are
    # inlined (straight onto the environment's heap, as Environment.schedule would) because each
    # saved Python call is ~5 % of the line's speed.
    def _start(self, part: float) -> None:
        now = self.env._now
        self.time_in_s[self._state] += now - self._since
        self._since = now
        self._state = BUSY
        self._current = part
        heappush(self._heap, [now + self._draw(), next(self._seq), self._on_finish, None])

    def _finish(self, _: object) -> None:
        self.completed += 1
        part = self._current
        downstream = self.downstream
        if downstream is None:
            self.line.depart(part)
        elif downstream._state == STARVED:
            downstream._start(part)
        elif downstream.capacity is None or len(downstream.queue) < downstream.capacity:
            downstream.queue.append(part)
        else:
            self._set_state(BLOCKED)
            self._holding = part
            downstream._waiting = self
            return
        if self._waiting is None and self.queue:
            self._start(self.queue.popleft())
        else:
            self._next()

    def _next(self) -> None:
        queue = self.queue
        blocked = self._waiting
        if blocked is not None:
            # Room has appeared in our buffer: the blocked upstream part moves in.
            self._waiting = None
            queue.append(blocked._holding)
            blocked._next()
        if queue:
            self._start(queue.popleft())
        elif self._saturated:
            self.line._count_wip(+1)
            self._start(self.env._now)
        else:
            self._set_state(STARVED)


@dataclass(frozen=True, slots=True)
class StationStats:
    """Time shares of one station over the observed period."""

    name: str
    completed: int
    busy_share: float
    blocked_share: float
    starved_share: float


@dataclass(frozen=True, slots=True)
class LineStats:
    """Line-level observations since the last ``reset_stats`` (or the start)."""

    duration_s: float
    departures: int
    throughput_per_s: float
    mean_wip: float
    """Time-average number of parts in the line (queues, in service and blocked)."""
    mean_sojourn_s: float
    """Mean release-to-departure time of the parts that departed in the period."""
    stations: tuple[StationStats, ...]


class SerialLine:
    """Stations in series; build it, then ``env.run(...)`` and read ``stats()``."""

    def __init__(
        self,
        env: Environment,
        streams: RandomStreams,
        mean_process_s: Sequence[float],
        capacities: Sequence[int | None],
        arrival_mean_s: float | None = None,
        names: Sequence[str] | None = None,
    ) -> None:
        """``capacities[i]`` is the buffer in front of station ``i + 1`` (one per gap);
        ``arrival_mean_s=None`` makes the first station saturated."""
        if len(capacities) != len(mean_process_s) - 1:
            raise ValueError(
                f"{len(mean_process_s)} stations need {len(mean_process_s) - 1} buffers, "
                f"got {len(capacities)}"
            )
        self.env = env
        if names is None:
            names = [f"S{i + 1}" for i in range(len(mean_process_s))]
        self.stations = [
            Station(
                self,
                name,
                streams.exponential(name, mean_s),
                None if i == 0 else capacities[i - 1],
                saturated=(i == 0 and arrival_mean_s is None),
            )
            for i, (name, mean_s) in enumerate(zip(names, mean_process_s, strict=True))
        ]
        for upstream, downstream in zip(self.stations, self.stations[1:], strict=False):
            upstream.downstream = downstream
        self.departures = 0
        self._wip = 0
        self._wip_area = 0.0
        self._wip_since = env.now
        self._sojourn_sum_s = 0.0
        self._observed_from = env.now
        if arrival_mean_s is None:
            self._count_wip(+1)
            self.stations[0]._start(env.now)
        else:
            self._interarrival = streams.exponential("source", arrival_mean_s, "arrival")
            env.schedule(self._interarrival(), self._arrive)

    # -- flow ------------------------------------------------------------------------------------
    def _arrive(self, _: object) -> None:
        env = self.env
        self._count_wip(+1)
        self.stations[0].accept(env.now)
        env.schedule(self._interarrival(), self._arrive)

    def depart(self, part: float) -> None:
        """Called by the last station for each finished part."""
        now = self.env._now
        self.departures += 1
        self._sojourn_sum_s += now - part
        self._wip_area += self._wip * (now - self._wip_since)
        self._wip_since = now
        self._wip -= 1

    def _count_wip(self, delta: int) -> None:
        now = self.env.now
        self._wip_area += self._wip * (now - self._wip_since)
        self._wip_since = now
        self._wip += delta

    # -- observation -----------------------------------------------------------------------------
    def reset_stats(self) -> None:
        """Start observing afresh from now (end of warm-up)."""
        now = self.env.now
        self._count_wip(0)
        self._wip_area = 0.0
        self._observed_from = now
        self.departures = 0
        self._sojourn_sum_s = 0.0
        for station in self.stations:
            station.close_books()
            station.time_in_s = [0.0, 0.0, 0.0]
            station.completed = 0

    def stats(self) -> LineStats:
        now = self.env.now
        duration = now - self._observed_from
        self._count_wip(0)
        for station in self.stations:
            station.close_books()
        stations = tuple(
            StationStats(
                name=s.name,
                completed=s.completed,
                busy_share=s.time_in_s[BUSY] / duration if duration else 0.0,
                blocked_share=s.time_in_s[BLOCKED] / duration if duration else 0.0,
                starved_share=s.time_in_s[STARVED] / duration if duration else 0.0,
            )
            for s in self.stations
        )
        return LineStats(
            duration_s=duration,
            departures=self.departures,
            throughput_per_s=self.departures / duration if duration else 0.0,
            mean_wip=self._wip_area / duration if duration else 0.0,
            mean_sojourn_s=self._sojourn_sum_s / self.departures if self.departures else 0.0,
            stations=stations,
        )
