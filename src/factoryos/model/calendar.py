"""Work calendars, planned maintenance and the time-of-use energy tariff.

A calendar says when a work unit is planned to operate (ISO 22400 POT: shifts minus breaks, not on
holidays); maintenance windows are planned downtime, so PBT = POT - planned downtime. Times in the
YAML are local wall-clock times of the site; every period this module returns is in UTC.
"""

from __future__ import annotations

import calendar as stdlib_calendar
import datetime as dt
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from factoryos.model.quantities import DurationS

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse_clock(value: object) -> dt.time:
    """A local wall-clock time of the site; an offset would give it a second, conflicting zone."""
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 08:00 as a sexagesimal integer (480): undo that.
        hours, minutes = divmod(value, 60)
        if 0 <= hours <= 24:
            return dt.time(hours % 24, minutes)
    if isinstance(value, str):
        text = value.strip()
        if text == "24:00":
            return dt.time(0, 0)
        try:
            clock = dt.time.fromisoformat(text)
        except ValueError:
            pass
        else:
            if clock.tzinfo is not None:
                raise ValueError(
                    f"clock time {value!r} has an offset: write the local time of the site "
                    "('HH:MM'); the zone is site.timezone"
                )
            return clock
    raise ValueError(f"expected a clock time 'HH:MM', got {value!r}")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Break(_Frozen):
    """An unpaid break inside a shift, local time."""

    start: dt.time
    end: dt.time

    _clock = field_validator("start", "end", mode="before")(_parse_clock)


class Shift(_Frozen):
    """A shift on the given weekdays; ``end <= start`` means it ends the next day."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    start: dt.time
    end: dt.time
    days: tuple[Weekday, ...] = Field(min_length=1)
    """Weekdays the shift starts on; required, as a plant's working week is no safe guess."""
    breaks: tuple[Break, ...] = ()

    _clock = field_validator("start", "end", mode="before")(_parse_clock)

    @model_validator(mode="after")
    def _breaks_inside(self) -> Shift:
        probe, zone = dt.date(2024, 1, 1), ZoneInfo("UTC")
        start, end = self.span_on(probe, zone)
        for brk, (b_start, b_end) in zip(
            self.breaks, self.break_spans_on(probe, zone), strict=True
        ):
            if not (start <= b_start < b_end <= end):
                raise ValueError(
                    f"break {brk.start:%H:%M}-{brk.end:%H:%M} lies outside shift {self.name!r} "
                    f"({self.start:%H:%M}-{self.end:%H:%M})"
                )
        spans = sorted(
            zip(self.break_spans_on(probe, zone), self.breaks, strict=True),
            key=lambda pair: pair[0],
        )
        for (first_span, first), (second_span, second) in itertools.pairwise(spans):
            if second_span[0] < first_span[1]:
                raise ValueError(
                    f"breaks {_span_text(first)} and {_span_text(second)} of shift "
                    f"{self.name!r} overlap: merge them into one"
                )
        return self

    def runs_on(self, day: dt.date, calendar: Calendar) -> bool:
        """Whether this shift runs on ``day`` (a make-up workday runs every shift)."""
        if day in calendar.holidays:
            return False
        return day in calendar.extra_workdays or WEEKDAYS[day.weekday()] in self.days

    def span_on(self, day: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        """The shift's [start, end) on ``day`` (the day it starts), tz-aware local."""
        start = dt.datetime.combine(day, self.start, zone)
        end_day = day if self.end > self.start else day + dt.timedelta(days=1)
        return start, dt.datetime.combine(end_day, self.end, zone)

    def break_spans_on(self, day: dt.date, zone: ZoneInfo) -> list[tuple[dt.datetime, dt.datetime]]:
        spans = []
        for brk in self.breaks:
            start_day = day if brk.start >= self.start else day + dt.timedelta(days=1)
            start = dt.datetime.combine(start_day, brk.start, zone)
            end_day = start_day if brk.end > brk.start else start_day + dt.timedelta(days=1)
            spans.append((start, dt.datetime.combine(end_day, brk.end, zone)))
        return spans


class Calendar(_Frozen):
    """Shifts, breaks and holidays of a work center."""

    shifts: tuple[Shift, ...] = Field(min_length=1)
    holidays: tuple[dt.date, ...] = ()

    extra_workdays: tuple[dt.date, ...] = ()
    """Make-up working days (调休): every shift runs on them, whatever the weekday."""

    @model_validator(mode="after")
    def _no_day_both_off_and_on(self) -> Calendar:
        both = sorted(set(self.holidays) & set(self.extra_workdays))
        if both:
            raise ValueError(f"{both[0].isoformat()} is both a holiday and an extra workday")
        return self

    @model_validator(mode="after")
    def _shifts_do_not_overlap(self) -> Calendar:
        """Two shifts at one time would count that time twice as planned operation time."""
        # On a make-up workday every shift runs, so then any two shifts may meet.
        every_day: tuple[Weekday, ...] = WEEKDAYS if self.extra_workdays else ()
        for first, second in itertools.combinations(self.shifts, 2):
            clash = _weekly_overlap(first, second, every_day)
            if clash is not None:
                day, minute = clash
                raise ValueError(
                    f"shifts {first.name!r} ({_span_text(first)}) and {second.name!r} "
                    f"({_span_text(second)}) overlap on {day} at "
                    f"{minute // 60:02d}:{minute % 60:02d}"
                    + (" (a make-up workday runs every shift)" if every_day else "")
                    + ": the time would count twice"
                )
        return self


def _span_text(item: Shift | Break) -> str:
    return f"{item.start:%H:%M}-{item.end:%H:%M}"


_WEEK_MIN = 7 * 24 * 60


def _week_minutes(shift: Shift, days: tuple[Weekday, ...]) -> list[tuple[int, int]]:
    """The shift's [start, end) as minutes of a wall-clock week from Monday 00:00, wrapped."""
    start = shift.start.hour * 60 + shift.start.minute
    end = shift.end.hour * 60 + shift.end.minute
    length = (end - start) % (24 * 60) or 24 * 60
    out = []
    for day in days or shift.days:
        lo = WEEKDAYS.index(day) * 24 * 60 + start
        hi = lo + length
        out.append((lo, min(hi, _WEEK_MIN)))
        if hi > _WEEK_MIN:  # Sunday night into Monday morning
            out.append((0, hi - _WEEK_MIN))
    return out


def _weekly_overlap(
    first: Shift, second: Shift, days: tuple[Weekday, ...]
) -> tuple[Weekday, int] | None:
    """The first weekday and minute of the day at which two shifts both run, if any."""
    starts = [
        max(a_lo, b_lo)
        for a_lo, a_hi in _week_minutes(first, days)
        for b_lo, b_hi in _week_minutes(second, days)
        if max(a_lo, b_lo) < min(a_hi, b_hi)
    ]
    if not starts:
        return None
    day, minute = divmod(min(starts), 24 * 60)
    return WEEKDAYS[day], minute


@dataclass(frozen=True, slots=True)
class ShiftPeriod:
    """One stretch of planned operation time: part of a shift between breaks, in UTC."""

    start: dt.datetime
    end: dt.datetime
    shift: str
    local_day: dt.date

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


def shift_periods(
    calendar: Calendar, zone: ZoneInfo, start: dt.datetime, end: dt.datetime
) -> Iterator[ShiftPeriod]:
    """Planned operation time (POT) of ``calendar`` clipped to [start, end), in time order.

    A shift belongs to the local day on which it starts, even when it ends after midnight.
    """
    for day in _days(calendar, zone, start, end):
        for shift in sorted(calendar.shifts, key=lambda s: s.start):
            if not shift.runs_on(day, calendar):
                continue
            s_start, s_end = shift.span_on(day, zone)
            cursor = s_start
            for b_start, b_end in [*sorted(shift.break_spans_on(day, zone)), (s_end, s_end)]:
                piece_start, piece_end = max(cursor, start), min(b_start, end)
                if piece_end > piece_start:
                    yield ShiftPeriod(
                        piece_start.astimezone(dt.UTC),
                        piece_end.astimezone(dt.UTC),
                        shift.name,
                        day,
                    )
                cursor = b_end


def shift_spans(
    calendar: Calendar, zone: ZoneInfo, start: dt.datetime, end: dt.datetime
) -> Iterator[tuple[dt.datetime, dt.datetime, str, dt.date]]:
    """Whole shifts (breaks included) overlapping [start, end), in time order, in UTC:
    (start, end, shift name, local day the shift starts on)."""
    spans = []
    for day in _days(calendar, zone, start, end):
        for shift in calendar.shifts:
            if shift.runs_on(day, calendar):
                s_start, s_end = shift.span_on(day, zone)
                if s_end > start and s_start < end:
                    spans.append(
                        (s_start.astimezone(dt.UTC), s_end.astimezone(dt.UTC), shift.name, day)
                    )
    yield from sorted(spans)


def merge_spans(
    spans: Iterable[tuple[dt.datetime, dt.datetime]],
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Sorted, disjoint spans covering the same time (overlapping and touching ones joined)."""
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _days(
    calendar: Calendar, zone: ZoneInfo, start: dt.datetime, end: dt.datetime
) -> Iterator[dt.date]:
    """Local days whose shifts may touch [start, end): from the day before the start."""
    day = start.astimezone(zone).date() - dt.timedelta(days=1)
    last = end.astimezone(zone).date()
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


class WeeklyWindow(_Frozen):
    """A maintenance window repeated every week, local time."""

    day: Weekday
    start: dt.time
    duration_s: DurationS = Field(alias="duration", gt=0)

    _clock = field_validator("start", mode="before")(_parse_clock)


# -- periodic and usage-based maintenance (every N days, monthly, by operating hours or counts) --


class EveryDaysWindow(_Frozen):
    """A maintenance window every ``days`` days from the date ``first``, local time."""

    days: int = Field(ge=1)
    """Days from one window to the next."""
    first: dt.date
    """Date of the first window; the others follow every ``days`` days (before and after)."""
    start: dt.time
    """Local start time."""
    duration_s: DurationS = Field(alias="duration", gt=0)
    """Length of each window."""

    _clock = field_validator("start", mode="before")(_parse_clock)

    def dates(self, first_day: dt.date, last_day: dt.date) -> Iterator[dt.date]:
        """Window dates from one period before ``first_day`` to ``last_day``."""
        offset = (first_day - self.first).days // self.days - 1
        day = self.first + dt.timedelta(days=offset * self.days)
        while day <= last_day:
            yield day
            day += dt.timedelta(days=self.days)


class MonthlyWindow(_Frozen):
    """A maintenance window on one day of every month, local time (``day: last`` for the month's
    last day; a day past a month's end falls on its last day)."""

    day: int | Literal["last"] = "last"
    """Day of the month, 1-31, or ``last``."""
    start: dt.time
    """Local start time."""
    duration_s: DurationS = Field(alias="duration", gt=0)
    """Length of each window."""

    _clock = field_validator("start", mode="before")(_parse_clock)

    @field_validator("day")
    @classmethod
    def _day_of_month(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 1 <= value <= 31:
            raise ValueError(f"day of the month must be 1-31 or 'last', got {value}")
        return value

    def dates(self, first_day: dt.date, last_day: dt.date) -> Iterator[dt.date]:
        """Window dates from the month before ``first_day`` to ``last_day``."""
        year, month = (
            (first_day.year - 1, 12)
            if first_day.month == 1
            else (
                first_day.year,
                first_day.month - 1,
            )
        )
        while True:
            last_of_month = stdlib_calendar.monthrange(year, month)[1]
            day = last_of_month if self.day == "last" else min(int(self.day), last_of_month)
            date = dt.date(year, month, day)
            if date > last_day:
                return
            yield date
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)


class UsageWindow(_Frozen):
    """Maintenance after every ``hours`` of operating time or every ``counts`` units made by a
    unit (whichever comes first): the twin stops the unit when it is due; the capacity check
    counts its expected share of time, and so does the plan in each operation on the unit (it
    cannot know the unit's sequence, so when a service falls due, before it plans)."""

    hours_s: DurationS | None = Field(default=None, alias="hours", gt=0)
    """Operating time (setup and run) between two services of a unit."""
    counts: int | None = Field(default=None, ge=1)
    """Units made between two services of a unit."""
    duration_s: DurationS = Field(alias="duration", gt=0)
    """Length of each service."""

    @model_validator(mode="after")
    def _a_trigger(self) -> UsageWindow:
        if self.hours_s is None and self.counts is None:
            raise ValueError("give 'hours' or 'counts' (or both)")
        return self


def _periodic_spans(
    form: EveryDaysWindow | MonthlyWindow, zone: ZoneInfo, start: dt.datetime, end: dt.datetime
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    length = dt.timedelta(seconds=form.duration_s)
    for day in form.dates(start.astimezone(zone).date(), end.astimezone(zone).date()):
        # add the duration in UTC: a 4 h window across a DST change still lasts 4 h
        w_start = dt.datetime.combine(day, form.start, zone).astimezone(dt.UTC)
        lo, hi = max(w_start, start), min(w_start + length, end)
        if hi > lo:
            yield lo.astimezone(dt.UTC), hi.astimezone(dt.UTC)


class MaintenanceWindow(_Frozen):
    """Planned downtime of some equipment: weekly, every N days, monthly, once between two
    instants, or after a unit's operating hours or counts (``usage``)."""

    equipment: tuple[str, ...] = Field(min_length=1)
    weekly: WeeklyWindow | None = None
    every: EveryDaysWindow | None = None
    """A window every N days; give one form only."""
    monthly: MonthlyWindow | None = None
    """A window on one day of every month; give one form only."""
    usage: UsageWindow | None = None
    """A service after every so many operating hours or units of a unit; give one form only."""
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    reason: str = "planned maintenance"

    @model_validator(mode="after")
    def _one_form(self) -> MaintenanceWindow:
        once = self.start is not None or self.end is not None
        forms = [f for f in (self.weekly, self.every, self.monthly, self.usage) if f is not None]
        if len(forms) > 1 or (forms and once):
            raise ValueError(
                "give one of 'weekly', 'every', 'monthly', 'usage' or 'start'/'end', not several"
            )
        if forms:
            return self
        if self.weekly is None:
            if self.start is None or self.end is None:
                raise ValueError("a one-off window needs both 'start' and 'end'")
            if self.start.tzinfo is None or self.end.tzinfo is None:
                raise ValueError("'start' and 'end' need a time zone, e.g. 2026-03-01T08:00+08:00")
            if self.end <= self.start:
                raise ValueError(f"window ends ({self.end}) before it starts ({self.start})")
        return self

    def spans(
        self, zone: ZoneInfo, start: dt.datetime, end: dt.datetime
    ) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """The window's occurrences overlapping [start, end), clipped, in UTC (none for a
        ``usage`` window: it depends on how the unit is used)."""
        if self.usage is not None:
            return
        if self.every is not None or self.monthly is not None:
            periodic = self.every if self.every is not None else self.monthly
            assert periodic is not None
            yield from _periodic_spans(periodic, zone, start, end)
            return
        if self.weekly is None:
            assert self.start is not None and self.end is not None
            lo, hi = max(self.start, start), min(self.end, end)
            if hi > lo:
                yield lo.astimezone(dt.UTC), hi.astimezone(dt.UTC)
            return
        target = WEEKDAYS.index(self.weekly.day)
        length = dt.timedelta(seconds=self.weekly.duration_s)
        day = start.astimezone(zone).date() - dt.timedelta(days=7)
        last = end.astimezone(zone).date()
        day += dt.timedelta(days=(target - day.weekday()) % 7)
        while day <= last:
            # add the duration in UTC: a 4 h window across a DST change still lasts 4 h
            w_start = dt.datetime.combine(day, self.weekly.start, zone).astimezone(dt.UTC)
            lo, hi = max(w_start, start), min(w_start + length, end)
            if hi > lo:
                yield lo.astimezone(dt.UTC), hi.astimezone(dt.UTC)
            day += dt.timedelta(days=7)


class TariffBand(_Frozen):
    """One time-of-use band: a price and the local hours it applies to, on the weekdays in
    ``days`` and in the months in ``months`` (every day of the year by default): a weekend
    band, a summer peak."""

    name: str
    price_cny_per_kwh: float = Field(ge=0)
    hours: tuple[str, ...] = Field(min_length=1)
    days: tuple[Weekday, ...] = WEEKDAYS
    """Weekdays the band applies to."""
    months: tuple[int, ...] = tuple(range(1, 13))
    """Months (1-12) the band applies to: a seasonal band."""

    @field_validator("months")
    @classmethod
    def _real_months(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        bad = [m for m in value if not 1 <= m <= 12]
        if bad or not value:
            raise ValueError(f"months are 1-12, got {list(value)}")
        return value

    def ranges(self) -> list[tuple[int, int]]:
        """The band's hours as [start, end) minutes of the day."""
        out = []
        for text in self.hours:
            try:
                a, b = text.split("-")
                start, stop = _parse_clock(a), _parse_clock(b)
            except ValueError as exc:
                raise ValueError(f"expected hours like '08:00-11:00', got {text!r}") from exc
            lo = start.hour * 60 + start.minute
            hi = stop.hour * 60 + stop.minute or 24 * 60
            if hi <= lo:
                raise ValueError(f"hour range {text!r} ends before it starts")
            out.append((lo, hi))
        return out

    def applies(self, weekday: int, month: int) -> bool:
        return WEEKDAYS[weekday] in self.days and month in self.months


class Tariff(_Frozen):
    """A time-of-use electricity tariff whose bands cover every minute of every day exactly once
    (for each weekday and month when bands have ``days`` or ``months``)."""

    name: str
    bands: tuple[TariffBand, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _covers_day_once(self) -> Tariff:
        for weekday, month in self._day_kinds():
            minutes = [0] * (24 * 60)
            for band in self.bands:
                if band.applies(weekday, month):
                    for lo, hi in band.ranges():
                        for m in range(lo, hi):
                            minutes[m] += 1
            on = "" if not self.varies_by_day else f" on {WEEKDAYS[weekday]} in month {month}"
            gaps = [m for m, n in enumerate(minutes) if n == 0]
            twice = [m for m, n in enumerate(minutes) if n > 1]
            if gaps:
                raise ValueError(
                    f"bands leave {gaps[0] // 60:02d}:{gaps[0] % 60:02d} uncovered{on}"
                )
            if twice:
                raise ValueError(f"bands overlap at {twice[0] // 60:02d}:{twice[0] % 60:02d}{on}")
        return self

    @property
    def varies_by_day(self) -> bool:
        """Whether some band is limited to some weekdays or months."""
        return any(len(b.days) < 7 or len(b.months) < 12 for b in self.bands)

    def _day_kinds(self) -> list[tuple[int, int]]:
        if not self.varies_by_day:
            return [(0, 1)]
        return [(w, m) for w in range(7) for m in range(1, 13)]

    @cached_property
    def _prices(self) -> dict[tuple[int, int], tuple[float, ...]]:
        out = {}
        for weekday, month in self._day_kinds():
            prices = [0.0] * (24 * 60)
            for band in self.bands:
                if band.applies(weekday, month):
                    for lo, hi in band.ranges():
                        prices[lo:hi] = [band.price_cny_per_kwh] * (hi - lo)
            out[weekday, month] = tuple(prices)
        return out

    def prices_on(self, day: dt.date) -> tuple[float, ...]:
        """Price per kWh (site currency) for each minute of a local day (1,440 entries)."""
        if not self.varies_by_day:
            return self._prices[0, 1]
        return self._prices[day.weekday(), day.month]

    @property
    def price_by_minute(self) -> tuple[float, ...]:
        """Price per kWh for each minute of the local day, for a tariff the same every day."""
        if self.varies_by_day:
            raise ValueError(
                f"tariff {self.name!r} has weekday or seasonal bands: use prices_on(day)"
            )
        return self._prices[0, 1]

    def price_at(self, local: dt.time | dt.datetime) -> float:
        """Price per kWh at a local time; a tariff with weekday or seasonal bands needs the
        local date-time."""
        if isinstance(local, dt.datetime):
            return self.prices_on(local.date())[local.hour * 60 + local.minute]
        return self.price_by_minute[local.hour * 60 + local.minute]

    def mean_price(self) -> float:
        """Time-weighted mean price over the day kinds (weekday x month), per kWh."""
        days = list(self._prices.values())
        return sum(sum(p) for p in days) / (len(days) * 24 * 60)
