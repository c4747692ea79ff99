"""A plant's time on the plan's axis: the working clock of its calendars (their union when lines
differ) with each unit's own time off, and the working stretches a step must fit in."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from factoryos.model.calendar import merge_spans, shift_periods
from factoryos.model.plant import Plant, WorkUnit
from factoryos.schedule.clock import WorkingClock
from factoryos.schedule.errors import SchedulingError
from factoryos.schedule.problem import Job

__all__ = ["Stretches", "fit_stretches", "working_clock"]


class Stretches:
    """The longest run of a unit's time a step may take in one go: between unavailable spans,
    also between the unit's time off unless the step pauses there (resumable) or runs through it
    (unattended), also between the calendar pauses unless it does either."""

    def __init__(
        self,
        breaks: tuple[int, ...],
        unavailable: list[tuple[int, int, int]],
        off: list[tuple[int, int, int]],
        total: int,
    ) -> None:
        self._breaks = breaks
        self._total = total
        self._spans: dict[int, list[tuple[int, int]]] = {}
        self._off: dict[int, list[tuple[int, int]]] = {}
        for m, lo, hi in unavailable:
            self._spans.setdefault(m, []).append((lo, hi))
        for m, lo, hi in off:
            self._off.setdefault(m, []).append((lo, hi))
        self._cache: dict[tuple[int, bool], int | None] = {}

    def longest(self, machine: int, *, in_one_go: bool) -> int | None:
        """``None`` when nothing cuts the unit's time (a step of any length fits)."""
        key = (machine, in_one_go)
        if key not in self._cache:
            cuts = self._spans.get(machine, []).copy()
            if in_one_go:
                cuts += [(b, b) for b in self._breaks] + self._off.get(machine, [])
            free = _gaps(sorted(cuts), self._total)
            self._cache[key] = max((hi - lo for lo, hi in free), default=0) if cuts else None
        return self._cache[key]


def fit_stretches(job: Job, stretches: Stretches, unit: dt.timedelta) -> Job:
    """Drop the units on which a lot is longer than every stretch of the unit's time it may take
    in one go (see :class:`_Stretches`)."""
    ops = []
    for op in job.operations:
        in_one_go = not (op.resumable or op.unattended)
        longest = {
            a.machine: stretches.longest(a.machine, in_one_go=in_one_go) for a in op.alternatives
        }
        fits = tuple(
            a for a in op.alternatives if (n := longest[a.machine]) is None or a.duration <= n
        )
        if not fits:
            limit = max(n for n in longest.values() if n is not None)
            reason = (
                f"the longest stretch ({_span(limit, unit)}) between its units' maintenance "
                "windows: split the order"
                if not in_one_go
                else f"the longest working stretch ({_span(limit, unit)}) of its units' "
                "calendar, and is neither resumable nor unattended: mark it 'resumable: true' "
                "(it pauses between stretches) or 'unattended: true' (it runs on) in the "
                "routing, or split the order"
            )
            raise SchedulingError(
                f"order {job.name!r}: step {op.name!r} takes {_span(op.min_duration, unit)}, "
                f"longer than {reason}"
            )
        ops.append(dataclasses.replace(op, alternatives=fits))
    return dataclasses.replace(job, operations=tuple(ops))


def _span(units: int, unit: dt.timedelta) -> str:
    """A plan duration in minutes (hours beside it from 2 h on), as a planner reads it."""
    minutes = units * unit.total_seconds() / 60
    text = f"{minutes:,.0f} min"
    return text if minutes < 120 else f"{text} = {minutes / 60:,.1f} h"


def working_clock(
    plant: Plant,
    units: Sequence[WorkUnit],
    start: dt.datetime,
    unit: dt.timedelta,
    span: dt.timedelta,
    *,
    around: bool = False,
) -> tuple[WorkingClock, list[tuple[int, int, int]]]:
    """The working-time axis of the lines' calendars together, and each unit's time off on it.

    With one calendar the axis is its working time. With several it is their union: the map from
    wall-clock time stays monotone, so precedences between lines on different calendars stay
    exact, and a unit's time off while other lines work is its time off on the axis. With
    ``around`` (an unattended step runs while nobody works) the axis is the wall clock.
    """
    calendar_of = [plant.calendar_id_of(u.line) for u in units]
    own = {
        cid: [(p.start, p.end) for p in shift_periods(cal, plant.zone, start, start + span)]
        for cid, cal in plant.calendars.items()
        if cid in calendar_of
    }
    spans = [p for periods in own.values() for p in periods]
    if around:
        spans.append((start, start + span))
    clock = WorkingClock(merge_spans(spans), unit)
    off: list[tuple[int, int, int]] = []
    if len(own) > 1 or around:
        for cid, periods in own.items():
            gaps = _gaps(
                [(clock.to_units(lo), clock.to_units(hi)) for lo, hi in periods], clock.total
            )
            off.extend(
                (i, lo, hi) for i, c in enumerate(calendar_of) if c == cid for lo, hi in gaps
            )
    return clock, off


def _gaps(spans: list[tuple[int, int]], total: int) -> list[tuple[int, int]]:
    """The parts of ``[0, total)`` outside the sorted ``spans`` (they may overlap)."""
    out, t = [], 0
    for lo, hi in spans:
        if lo > t:
            out.append((t, lo))
        t = max(t, hi)
    if t < total:
        out.append((t, total))
    return out
