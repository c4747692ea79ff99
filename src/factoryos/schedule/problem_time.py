"""When a machine can work, for :class:`factoryos.schedule.problem.Problem`: its unavailable
time and own time off (sorted, merged), where a run in each mode ends, and the earliest start of
a run or a changeover; what rules, right-shift, bounds and the validator place work with."""

from __future__ import annotations

import bisect
from functools import cached_property
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from factoryos.schedule.problem import Operation

__all__ = ["MachineTime", "RunMode"]

RunMode = Literal["resumable", "stretch", "unattended", "setup"]
"""How a run meets its unit's time off and the calendar pauses: ``resumable`` pauses over both,
``stretch`` fits between them, ``unattended`` runs through both, ``setup`` (a changeover) runs
through the calendar pauses but not in the unit's time off. None ever overlaps unavailable time
(maintenance, downtime), and none starts in time off."""


class MachineTime:
    """The machine-time part of ``Problem`` (a mixin over its ``unavailable``, ``off`` and
    ``breaks`` fields)."""

    unavailable: tuple[tuple[int, int, int], ...]
    off: tuple[tuple[int, int, int], ...]
    breaks: tuple[int, ...]

    def unavailable_on(self, machine: int) -> list[tuple[int, int]]:
        return self._unavailable.get(machine, [])

    def off_on(self, machine: int) -> list[tuple[int, int]]:
        """The unit's own time off, sorted and merged."""
        return self._off.get(machine, [])

    def blocked_on(self, machine: int) -> list[tuple[int, int]]:
        """Unavailable time and time off together, sorted and merged (no changeover there)."""
        return self._blocked.get(machine, [])

    @staticmethod
    def _spans_of(spans: tuple[tuple[int, int, int], ...]) -> dict[int, list[tuple[int, int]]]:
        out: dict[int, list[tuple[int, int]]] = {}
        for m, lo, hi in sorted(spans):
            if hi <= lo:
                continue
            row = out.setdefault(m, [])
            if row and lo <= row[-1][1]:
                row[-1] = (row[-1][0], max(row[-1][1], hi))
            else:
                row.append((lo, hi))
        return out

    @cached_property
    def _unavailable(self) -> dict[int, list[tuple[int, int]]]:
        return self._spans_of(self.unavailable)

    @cached_property
    def _off(self) -> dict[int, list[tuple[int, int]]]:
        return self._spans_of(self.off)

    @cached_property
    def _blocked(self) -> dict[int, list[tuple[int, int]]]:
        return self._spans_of(self.unavailable + self.off)

    @staticmethod
    def mode_of(op: Operation) -> RunMode:
        if op.unattended:
            return "unattended"
        return "resumable" if op.resumable else "stretch"

    def run_end(self, machine: int, start: int, duration: int, mode: RunMode) -> int:
        """Where a run of ``duration`` working units from ``start`` ends: later than
        ``start + duration`` by the unit's time off it pauses over, when ``resumable``."""
        end = start + duration
        if mode != "resumable" or duration <= 0:
            return end
        spans = self.off_on(machine)
        i = bisect.bisect_right(spans, (start, start))
        if i > 0 and spans[i - 1][1] > start:
            end += spans[i - 1][1] - start  # ``start`` inside time off: the run begins at its end
        for lo, hi in spans[i:]:
            if lo >= end:
                break
            end += hi - max(lo, start)
        return end

    def break_inside(self, start: int, end: int) -> int | None:
        """The first calendar pause strictly inside ``(start, end)``, if any."""
        i = bisect.bisect_right(self.breaks, start)
        if i < len(self.breaks) and self.breaks[i] < end:
            return self.breaks[i]
        return None

    def earliest_fit(
        self, machine: int, earliest: int, duration: int, mode: RunMode = "setup"
    ) -> int:
        """First start >= ``earliest`` of a ``duration`` run in ``mode`` (see :data:`RunMode`):
        outside the unit's time off, clear of unavailable time and, in ``stretch`` mode,
        inside one working stretch (pushed to the next pause)."""
        t = earliest
        if duration <= 0:
            return t
        hard = self.unavailable_on(machine)
        off = self.off_on(machine)
        while True:
            moved = False
            for lo, hi in off:
                if lo > t:
                    break
                if t < hi:
                    t, moved = hi, True
            end = self.run_end(machine, t, duration, mode)
            if mode in ("stretch", "setup"):
                for lo, hi in off:
                    if lo >= end:
                        break
                    if t < hi:
                        t, moved = hi, True
                        break
                if moved:
                    continue
            for lo, hi in hard:
                if lo >= end:
                    break
                if t < hi:
                    t, moved = hi, True
                    break
            if moved:
                continue
            cut = self.break_inside(t, end) if mode == "stretch" else None
            if cut is None:
                return t
            t = cut

    def earliest_start(
        self,
        machine: int,
        ready: int,
        duration: int,
        *,
        free: int = 0,
        setup: int = 0,
        mode: RunMode = "resumable",
    ) -> int:
        """:meth:`earliest_fit` from ``ready`` for an operation whose unit is free from ``free``
        and needs a changeover of ``setup`` first: the changeover takes the first stretch of
        available time after ``free``, the operation follows it."""
        done = self.earliest_fit(machine, free, setup) + setup if setup else free
        return self.earliest_fit(machine, max(ready, done), duration, mode)

    def changeover_slot(self, machine: int, free: int, start: int, setup: int) -> int | None:
        """The latest start of a ``setup``-long changeover in ``[free, start)`` that misses the
        machine's unavailable time (it sits right before ``start`` when nothing is in the way);
        ``None`` when the gap holds none."""
        t = start - setup
        spans = self.blocked_on(machine)
        # from the last span that begins before ``start`` back (the changeover ends by then),
        # until one ends by ``t`` (sorted and merged: all before it do too); scanning them all
        # from the end was 1.3 s of a 7,620-operation plan's check (to_schedule and validate)
        for i in range(bisect.bisect_left(spans, (start, start)) - 1, -1, -1):
            lo, hi = spans[i]
            if t < free or hi <= t:
                break
            if lo < t + setup:
                t = lo - setup
        return t if t >= free else None
