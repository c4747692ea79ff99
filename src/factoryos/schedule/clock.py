"""Time axes: wall-clock time, or the working time of a plant calendar.

On a working-time axis, unit ``w`` is the ``w``-th unit of planned operation time (shifts minus
breaks, holidays off). An operation planned on it pauses over breaks, off-shift hours and
weekends and resumes in the next working period; :meth:`WorkingClock.pauses` names the instants
where that happens, so that operations not marked ``resumable`` can be kept inside one stretch.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from dataclasses import dataclass
from typing import Protocol

__all__ = ["TimeAxis", "WallClock", "WorkingClock"]


class TimeAxis(Protocol):
    """Maps integer plan times to UTC instants and back."""

    def start_at(self, units: int) -> dt.datetime: ...

    def end_at(self, units: int) -> dt.datetime: ...

    def to_units(self, instant: dt.datetime) -> int: ...


@dataclass(frozen=True, slots=True)
class WallClock:
    """Continuous time: ``origin + units * unit``."""

    origin: dt.datetime
    unit: dt.timedelta = dt.timedelta(minutes=1)

    def start_at(self, units: int) -> dt.datetime:
        return self.origin + units * self.unit

    def end_at(self, units: int) -> dt.datetime:
        return self.origin + units * self.unit

    def to_units(self, instant: dt.datetime) -> int:
        return math.ceil((instant - self.origin) / self.unit)


class WorkingClock:
    """Working time over sorted, disjoint UTC periods, in whole ``unit`` steps."""

    def __init__(self, periods: list[tuple[dt.datetime, dt.datetime]], unit: dt.timedelta) -> None:
        if not periods:
            raise ValueError("a working clock needs at least one working period")
        self.unit = unit
        self.starts = [p[0] for p in periods]
        self.lengths = [int((hi - lo) // unit) for lo, hi in periods]
        self.cum = [0]
        for n in self.lengths:
            self.cum.append(self.cum[-1] + n)

    @property
    def total(self) -> int:
        return self.cum[-1]

    def pauses(self) -> tuple[int, ...]:
        """Working-time instants with non-working time behind them (a break, a shift end, a
        weekend or holiday): the end of each period not directly followed by the next one."""
        out = []
        for i in range(len(self.lengths) - 1):
            if self.starts[i] + self.lengths[i] * self.unit != self.starts[i + 1]:
                out.append(self.cum[i + 1])
        return tuple(sorted(set(out)))

    def _period_of(self, units: int, *, end: bool) -> int:
        if not 0 <= units <= self.total:
            raise ValueError(f"plan time {units} is outside the calendar (0..{self.total})")
        # an end at a period boundary belongs to the period it closes
        i = (
            bisect.bisect_left(self.cum, units) - 1
            if end
            else bisect.bisect_right(self.cum, units) - 1
        )
        return max(0, min(i, len(self.lengths) - 1))

    def start_at(self, units: int) -> dt.datetime:
        i = self._period_of(units, end=False)
        return self.starts[i] + (units - self.cum[i]) * self.unit

    def end_at(self, units: int) -> dt.datetime:
        i = self._period_of(units, end=True)
        return self.starts[i] + (units - self.cum[i]) * self.unit

    def to_units(self, instant: dt.datetime) -> int:
        """Working units before ``instant`` (rounded up inside a period)."""
        i = bisect.bisect_right(self.starts, instant) - 1
        if i < 0:
            return 0
        offset = math.ceil((instant - self.starts[i]) / self.unit)
        return self.cum[i] + min(offset, self.lengths[i])
