"""Cut each work unit's calendar into planned-period tiles (busy, planned down, break, off).

ISO 22400 takes planned operation time from the calendar, not from the machine. Work units of a
line share its calendar; a unit with its own maintenance windows gets its own calendar key. Tiles
are cut at shift, break, maintenance, local-midnight and tariff-band boundaries, so each tile has
one kind, one local day, one shift and one energy price.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from typing import TypeVar

from factoryos.model.aggregates import PeriodKind, PlannedPeriod
from factoryos.model.calendar import Calendar, MaintenanceWindow, Tariff, shift_periods, shift_spans
from factoryos.model.plant import Plant, WorkUnit

_Span = TypeVar("_Span", bound=tuple)  # type: ignore[type-arg]


def _key(plant: Plant, unit: WorkUnit) -> tuple[str, tuple[int, ...]]:
    """Calendar id and the indices of the maintenance windows that apply to the unit."""
    windows = tuple(i for i, w in enumerate(plant.maintenance) if unit.equipment.id in w.equipment)
    return plant.calendar_id_of(unit.line), windows


def _key_name(calendar_id: str, windows: tuple[int, ...]) -> str:
    return calendar_id + "".join(f"+mw{i}" for i in windows)


def calendar_key_of_path(plant: Plant) -> dict[str, str]:
    """Every work unit path -> the key of the tiles that describe its planned time.

    Units with the same calendar and the same maintenance windows share a key, so a year of a
    large plant needs few tiles.
    """
    return {u.path: _key_name(*_key(plant, u)) for u in plant.work_units}


def planned_periods(
    plant: Plant, start: dt.datetime, end: dt.datetime
) -> tuple[PlannedPeriod, ...]:
    """The tiles of every calendar key used by the plant, covering [start, end)."""
    tiles: list[PlannedPeriod] = []
    for calendar_id, windows in sorted({_key(plant, u) for u in plant.work_units}):
        tiles.extend(
            tile_calendar(
                _key_name(calendar_id, windows),
                plant.calendars[calendar_id],
                [plant.maintenance[i] for i in windows],
                plant.tariff,
                plant,
                start,
                end,
            )
        )
    return tuple(tiles)


def tile_calendar(
    key: str,
    calendar: Calendar,
    windows: Iterable[MaintenanceWindow],
    tariff: Tariff,
    plant: Plant,
    start: dt.datetime,
    end: dt.datetime,
) -> list[PlannedPeriod]:
    """Tiles of one calendar key over [start, end), in time order, adjacent equal tiles merged."""
    zone = plant.zone
    busy = [(p.start, p.end) for p in shift_periods(calendar, zone, start, end)]
    spans = list(shift_spans(calendar, zone, start, end))
    down = sorted(s for w in windows for s in w.spans(zone, start, end))

    cuts = {start, end}
    for b_start, b_end in busy:
        cuts.update((b_start, b_end))
    for s_start, s_end, _, _ in spans:
        cuts.update((max(s_start, start), min(s_end, end)))
    for d_start, d_end in down:
        cuts.update((d_start, d_end))
    cuts.update(_local_boundaries(tariff, plant, start, end))
    points = sorted(c for c in cuts if start <= c <= end)

    busy_starts = [b[0] for b in busy]
    span_starts = [s[0] for s in spans]
    down_starts = [d[0] for d in down]
    tiles: list[PlannedPeriod] = []
    for a, b in itertools.pairwise(points):
        local = a.astimezone(zone)
        span = _containing(spans, span_starts, a)
        in_busy = _containing(busy, busy_starts, a) is not None
        if span is None:
            kind, shift, day = PeriodKind.OFF, None, local.date()
        else:
            shift, day = span[2], span[3]
            in_down = _containing(down, down_starts, a) is not None
            kind = (
                (PeriodKind.PLANNED_DOWN if in_down else PeriodKind.BUSY)
                if in_busy
                else PeriodKind.BREAK
            )
        price = tariff.price_at(local)  # the local date-time: weekday and seasonal bands
        tile = PlannedPeriod(key, a, b, day, shift, kind, price)
        last = tiles[-1] if tiles else None
        if last is not None and (last.local_day, last.shift, last.kind, last.price_cny_per_kwh) == (
            day,
            shift,
            kind,
            price,
        ):
            tiles[-1] = PlannedPeriod(key, last.start, b, day, shift, kind, price)
        else:
            tiles.append(tile)
    return tiles


def _containing(
    spans: Sequence[_Span], starts: list[dt.datetime], instant: dt.datetime
) -> _Span | None:
    """The span of a sorted, non-overlapping list that contains ``instant``."""
    i = bisect.bisect_right(starts, instant) - 1
    if i >= 0 and spans[i][0] <= instant < spans[i][1]:
        return spans[i]
    return None


def _local_boundaries(
    tariff: Tariff, plant: Plant, start: dt.datetime, end: dt.datetime
) -> list[dt.datetime]:
    """Local midnights and tariff band edges between start and end, in UTC."""
    zone = plant.zone
    minutes = sorted({0, *(m for band in tariff.bands for r in band.ranges() for m in r)} - {1440})
    out = []
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        midnight = dt.datetime.combine(day, dt.time(0), zone)
        for m in minutes:
            instant = (midnight + dt.timedelta(minutes=m)).astimezone(dt.UTC)
            if start < instant < end:
                out.append(instant)
        day += dt.timedelta(days=1)
    return out
