"""Shift periods (across midnight, breaks, holidays, DST), maintenance windows and the tariff."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from factoryos.model import Calendar, MaintenanceWindow, Shift, Tariff, shift_periods
from factoryos.model.calendar import WEEKDAYS

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc,arg-type]


def local(zone: ZoneInfo, *args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone)  # type: ignore[misc,arg-type]


NIGHT = Calendar.model_validate(
    {
        "shifts": [
            {
                "name": "night",
                "start": "22:00",
                "end": "06:00",
                "days": ["mon"],
                "breaks": [{"start": "23:50", "end": "00:10"}, {"start": "02:00", "end": "02:30"}],
            }
        ]
    }
)


def spans(periods: object) -> list[tuple[dt.datetime, dt.datetime, str, dt.date]]:
    return [(p.start, p.end, p.shift, p.local_day) for p in periods]  # type: ignore[attr-defined]


def test_night_shift_crosses_midnight_and_breaks_cut_it() -> None:
    # Monday 2026-03-02 22:00 -> Tuesday 06:00 Shanghai (UTC+8), minus 23:50-00:10 and 02:00-02:30.
    got = spans(
        shift_periods(NIGHT, SHANGHAI, local(SHANGHAI, 2026, 3, 2), local(SHANGHAI, 2026, 3, 4))
    )
    monday = dt.date(2026, 3, 2)
    assert got == [
        (utc(2026, 3, 2, 14, 0), utc(2026, 3, 2, 15, 50), "night", monday),
        (utc(2026, 3, 2, 16, 10), utc(2026, 3, 2, 18, 0), "night", monday),
        (utc(2026, 3, 2, 18, 30), utc(2026, 3, 2, 22, 0), "night", monday),
    ]
    assert sum(p.duration_s for p in shift_periods(
        NIGHT, SHANGHAI, local(SHANGHAI, 2026, 3, 2), local(SHANGHAI, 2026, 3, 4)
    )) == (8 * 60 - 20 - 30) * 60  # fmt: skip


def test_window_starting_after_midnight_keeps_the_shift_on_its_start_day() -> None:
    got = spans(
        shift_periods(
            NIGHT, SHANGHAI, local(SHANGHAI, 2026, 3, 3, 1), local(SHANGHAI, 2026, 3, 3, 12)
        )
    )
    monday = dt.date(2026, 3, 2)
    assert got == [
        (utc(2026, 3, 2, 17, 0), utc(2026, 3, 2, 18, 0), "night", monday),
        (utc(2026, 3, 2, 18, 30), utc(2026, 3, 2, 22, 0), "night", monday),
    ]


def test_holidays_have_no_shifts() -> None:
    calendar = Calendar.model_validate(
        {
            "shifts": [
                {
                    "name": "early",
                    "start": "08:00",
                    "end": "16:00",
                    "days": ["mon", "tue", "wed", "thu", "fri"],
                    "breaks": [{"start": "12:00", "end": "12:30"}],
                },
                {
                    "name": "late",
                    "start": "16:00",
                    "end": "00:00",
                    "days": ["mon", "tue", "wed", "thu", "fri"],
                },
            ],
            "holidays": ["2026-03-04"],
        }
    )
    week = list(
        shift_periods(calendar, SHANGHAI, local(SHANGHAI, 2026, 3, 2), local(SHANGHAI, 2026, 3, 9))
    )
    days = {p.local_day for p in week}
    assert days == {dt.date(2026, 3, d) for d in (2, 3, 5, 6)}  # Mon-Fri minus Wednesday
    assert sum(p.duration_s for p in week) == 4 * (7.5 + 8) * 3600
    assert [p.shift for p in week[:3]] == ["early", "early", "late"]
    assert all(a.end <= b.start for a, b in itertools.pairwise(week))


def test_make_up_workday_runs_every_shift() -> None:
    calendar = Calendar.model_validate(
        {
            "shifts": [
                {
                    "name": "early",
                    "start": "08:00",
                    "end": "16:00",
                    "days": ["mon", "tue", "wed", "thu", "fri"],
                }
            ],
            "extra_workdays": ["2026-03-07"],  # a Saturday (调休)
        }
    )
    week = list(
        shift_periods(calendar, SHANGHAI, local(SHANGHAI, 2026, 3, 2), local(SHANGHAI, 2026, 3, 9))
    )
    assert sorted({p.local_day.day for p in week}) == [2, 3, 4, 5, 6, 7]
    assert sum(p.duration_s for p in week) == 6 * 8 * 3600


def test_a_day_cannot_be_both_holiday_and_make_up_workday() -> None:
    with pytest.raises(ValidationError, match="2026-03-07 is both a holiday and an extra workday"):
        Calendar.model_validate(
            {
                "shifts": [
                    {
                        "name": "early",
                        "start": "08:00",
                        "end": "16:00",
                        "days": ["mon", "tue", "wed", "thu", "fri"],
                    }
                ],
                "holidays": ["2026-03-07"],
                "extra_workdays": ["2026-03-07"],
            }
        )


BERLIN_CAL = Calendar.model_validate(
    {
        "shifts": [
            {"name": "night", "start": "22:00", "end": "06:00", "days": ["sat"]},
            {"name": "day", "start": "08:00", "end": "16:00", "days": ["mon"]},
        ]
    }
)


@pytest.mark.parametrize(
    ("saturday", "hours", "utc_start", "utc_end"),
    [
        # Summer time starts Sunday 2026-03-29 02:00 CET -> 03:00 CEST: the night is an hour short.
        (dt.date(2026, 3, 28), 7, utc(2026, 3, 28, 21), utc(2026, 3, 29, 4)),
        # Summer time ends Sunday 2026-10-25 03:00 CEST -> 02:00 CET: the night is an hour long.
        (dt.date(2026, 10, 24), 9, utc(2026, 10, 24, 20), utc(2026, 10, 25, 5)),
        # An ordinary Saturday in winter.
        (dt.date(2026, 1, 10), 8, utc(2026, 1, 10, 21), utc(2026, 1, 11, 5)),
    ],
)
def test_dst_changes_the_real_length_of_a_night_shift(
    saturday: dt.date, hours: int, utc_start: dt.datetime, utc_end: dt.datetime
) -> None:
    start = dt.datetime.combine(saturday, dt.time(12), BERLIN)
    [period] = shift_periods(BERLIN_CAL, BERLIN, start, start + dt.timedelta(hours=24))
    assert (period.start, period.end, period.local_day) == (utc_start, utc_end, saturday)
    assert period.duration_s == hours * 3600


def test_dst_moves_a_day_shift_in_utc_but_not_in_local_time() -> None:
    before = local(BERLIN, 2026, 3, 23)
    after = local(BERLIN, 2026, 3, 30)
    [winter] = shift_periods(BERLIN_CAL, BERLIN, before, before + dt.timedelta(days=1))
    [summer] = shift_periods(BERLIN_CAL, BERLIN, after, after + dt.timedelta(days=1))
    assert (winter.start, winter.end) == (utc(2026, 3, 23, 7), utc(2026, 3, 23, 15))
    assert (summer.start, summer.end) == (utc(2026, 3, 30, 6), utc(2026, 3, 30, 14))


def test_a_dst_free_zone_keeps_every_night_at_eight_hours() -> None:
    start = local(SHANGHAI, 2026, 1, 1)
    nights = [
        p
        for p in shift_periods(BERLIN_CAL, SHANGHAI, start, local(SHANGHAI, 2027, 1, 1))
        if p.shift == "night"
    ]
    assert len(nights) == 52
    assert {p.duration_s for p in nights} == {8 * 3600}


def test_periods_are_utc() -> None:
    for p in shift_periods(
        NIGHT, SHANGHAI, local(SHANGHAI, 2026, 3, 1), local(SHANGHAI, 2026, 4, 1)
    ):
        assert p.start.tzinfo is UTC
        assert p.end.tzinfo is UTC


def test_clock_times_accept_yaml_sexagesimal_and_24_00() -> None:
    shift = Shift.model_validate({"name": "s", "start": 480, "end": "24:00", "days": ["mon"]})
    assert (shift.start, shift.end) == (dt.time(8), dt.time(0))
    with pytest.raises(ValidationError, match="expected a clock time"):
        Shift.model_validate({"name": "s", "start": "8 o'clock", "end": "16:00"})


def test_break_outside_shift_is_rejected() -> None:
    with pytest.raises(
        ValidationError, match=r"break 15:50-16:10 lies outside shift 'early' \(08:00-16:00\)"
    ):
        Calendar.model_validate(
            {
                "shifts": [
                    {
                        "name": "early",
                        "start": "08:00",
                        "end": "16:00",
                        "days": ["mon"],
                        "breaks": [{"start": "15:50", "end": "16:10"}],
                    }
                ]
            }
        )


# --- maintenance windows ---------------------------------------------------------------------


def test_weekly_window_repeats_each_week_in_utc() -> None:
    window = MaintenanceWindow.model_validate(
        {"equipment": ["cnc"], "weekly": {"day": "mon", "start": "08:00", "duration": "2 h"}}
    )
    got = list(window.spans(SHANGHAI, local(SHANGHAI, 2026, 3, 1), local(SHANGHAI, 2026, 3, 15)))
    assert got == [
        (utc(2026, 3, 2, 0), utc(2026, 3, 2, 2)),
        (utc(2026, 3, 9, 0), utc(2026, 3, 9, 2)),
    ]


def test_weekly_window_is_clipped_to_the_query() -> None:
    window = MaintenanceWindow.model_validate(
        {"equipment": ["cnc"], "weekly": {"day": "mon", "start": "08:00", "duration": "2 h"}}
    )
    got = list(
        window.spans(SHANGHAI, local(SHANGHAI, 2026, 3, 2, 9), local(SHANGHAI, 2026, 3, 9, 9, 30))
    )
    assert got == [
        (utc(2026, 3, 2, 1), utc(2026, 3, 2, 2)),
        (utc(2026, 3, 9, 0), utc(2026, 3, 9, 1, 30)),
    ]


def test_one_off_window_and_its_clipping() -> None:
    window = MaintenanceWindow.model_validate(
        {
            "equipment": ["paint_line"],
            "start": "2026-07-20T08:00+08:00",
            "end": "2026-07-24T17:00+08:00",
            "reason": "summer shutdown overhaul",
        }
    )
    assert list(
        window.spans(SHANGHAI, local(SHANGHAI, 2026, 7, 1), local(SHANGHAI, 2026, 8, 1))
    ) == [(utc(2026, 7, 20, 0), utc(2026, 7, 24, 9))]
    assert list(
        window.spans(SHANGHAI, local(SHANGHAI, 2026, 7, 22), local(SHANGHAI, 2026, 7, 23))
    ) == [(utc(2026, 7, 21, 16), utc(2026, 7, 22, 16))]
    assert (
        list(window.spans(SHANGHAI, local(SHANGHAI, 2026, 8, 1), local(SHANGHAI, 2026, 9, 1))) == []
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {
                "equipment": ["x"],
                "weekly": {"day": "mon", "start": "08:00", "duration": "1 h"},
                "start": "2026-01-01T00:00+08:00",
            },
            "one of 'weekly', 'every', 'monthly', 'usage' or 'start'/'end', not several",
        ),
        ({"equipment": ["x"], "start": "2026-01-01T00:00+08:00"}, "needs both 'start' and 'end'"),
        (
            {
                "equipment": ["x"],
                "start": "2026-01-02T00:00+08:00",
                "end": "2026-01-01T00:00+08:00",
            },
            "before it starts",
        ),
        (
            {"equipment": ["x"], "weekly": {"day": "mon", "start": "08:00", "duration": "-1 h"}},
            "negative duration",
        ),
        (
            {"equipment": [], "weekly": {"day": "mon", "start": "08:00", "duration": "1 h"}},
            "at least 1",
        ),
    ],
)
def test_bad_maintenance_windows(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MaintenanceWindow.model_validate(data)


# --- tariff ------------------------------------------------------------------------------------

TOU = Tariff.model_validate(
    {
        "name": "tou",
        "bands": [
            {"name": "peak", "price_cny_per_kwh": 1.08, "hours": ["08:00-11:00", "18:00-21:00"]},
            {
                "name": "flat",
                "price_cny_per_kwh": 0.66,
                "hours": ["06:00-08:00", "11:00-18:00", "21:00-22:00"],
            },
            {"name": "valley", "price_cny_per_kwh": 0.31, "hours": ["22:00-24:00", "00:00-06:00"]},
        ],
    }
)


def test_tariff_prices_by_local_time() -> None:
    assert TOU.price_at(dt.time(8, 0)) == 1.08
    assert TOU.price_at(dt.time(7, 59)) == 0.66
    assert TOU.price_at(dt.time(23, 30)) == 0.31
    assert TOU.price_at(dt.time(0, 0)) == 0.31
    # 6 h peak, 10 h flat, 8 h valley
    assert TOU.mean_price() == pytest.approx((6 * 1.08 + 10 * 0.66 + 8 * 0.31) / 24)


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        (["00:00-12:00", "12:30-24:00"], "bands leave 12:00 uncovered"),
        (["00:00-24:00", "06:00-07:00"], "bands overlap at 06:00"),
        (["12:00-08:00"], "ends before it starts"),
        (["noon-midnight"], "expected hours like"),
    ],
)
def test_bad_tariffs(hours: list[str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Tariff.model_validate(
            {"name": "t", "bands": [{"name": "b", "price_cny_per_kwh": 1, "hours": hours}]}
        )


def test_weekly_window_keeps_its_real_duration_across_dst() -> None:
    window = MaintenanceWindow.model_validate(
        {"equipment": ["cnc"], "weekly": {"day": "sat", "start": "23:00", "duration": "4 h"}}
    )
    [(start, end)] = window.spans(BERLIN, local(BERLIN, 2026, 3, 28), local(BERLIN, 2026, 3, 30))
    assert end - start == dt.timedelta(hours=4)


@pytest.mark.parametrize(
    ("shifts", "extra", "message"),
    [
        (  # Sunday's night shift runs into Monday's early shift
            [("night", "22:00", "07:00", ["sun"]), ("early", "06:00", "14:00", ["mon"])],
            [],
            "shifts 'night' (22:00-07:00) and 'early' (06:00-14:00) overlap on mon at 06:00",
        ),
        (  # on other days they never meet, but a make-up workday runs both
            [("week", "08:00", "16:00", ["mon"]), ("weekend", "10:00", "18:00", ["sat"])],
            ["2026-03-07"],
            "overlap on mon at 10:00 (a make-up workday runs every shift)",
        ),
    ],
)
def test_overlapping_shifts_are_rejected(
    shifts: list[tuple[str, str, str, list[str]]], extra: list[str], message: str
) -> None:
    data = {
        "shifts": [{"name": n, "start": a, "end": b, "days": d} for n, a, b, d in shifts],
        "extra_workdays": extra,
    }
    with pytest.raises(ValidationError, match=re.escape(message)):
        Calendar.model_validate(data)


def test_shifts_that_only_touch_are_accepted() -> None:
    calendar = Calendar.model_validate(
        {
            "shifts": [
                {"name": "a", "start": "06:00", "end": "18:00", "days": list(WEEKDAYS)},
                {"name": "b", "start": "18:00", "end": "06:00", "days": list(WEEKDAYS)},
            ]
        }
    )
    week = list(
        shift_periods(calendar, SHANGHAI, local(SHANGHAI, 2026, 3, 2), local(SHANGHAI, 2026, 3, 9))
    )
    assert sum(p.duration_s for p in week) == 7 * 24 * 3600
