"""Working-time axis: plan units map to working periods and back."""

from __future__ import annotations

import datetime as dt

import pytest

from factoryos.schedule.clock import WallClock, WorkingClock

T0 = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
MIN = dt.timedelta(minutes=1)


def _clock() -> WorkingClock:
    # two periods: 08:00-10:00 and 10:30-12:00 -> 120 + 90 working minutes
    return WorkingClock([(T0 + 8 * H, T0 + 10 * H), (T0 + 10.5 * H, T0 + 12 * H)], MIN)


def test_units_map_into_periods_and_pause_over_the_gap() -> None:
    c = _clock()
    assert c.total == 210
    assert c.start_at(0) == T0 + 8 * H
    assert c.start_at(120) == T0 + 10.5 * H  # a start at the boundary waits for the next period
    assert c.end_at(120) == T0 + 10 * H  # an end at the boundary closes the first period
    # 60 min starting at 09:30 runs 30 min, pauses 30 min, runs 30 min
    assert c.end_at(90 + 60) - c.start_at(90) == 90 * MIN


def test_to_units_inverts_and_clamps() -> None:
    c = _clock()
    for w in (0, 1, 119, 121, 209):
        assert c.to_units(c.start_at(w)) == w
    assert c.to_units(T0) == 0  # before the first period
    assert c.to_units(T0 + 10.2 * H) == 120  # inside the gap
    assert c.to_units(T0 + 20 * H) == 210  # after the last period
    with pytest.raises(ValueError, match="outside the calendar"):
        c.start_at(211)


def test_wall_clock_is_linear() -> None:
    w = WallClock(T0, MIN)
    assert w.start_at(90) == w.end_at(90) == T0 + 1.5 * H
    assert w.to_units(T0 + 1.5 * H) == 90
