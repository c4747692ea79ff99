"""Maintenance every N days, monthly and by usage: the windows each form yields."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from factoryos.model import MaintenanceWindow, PlantModelError, load_plant_text
from tests.model.plants import MINI

BUDAPEST = ZoneInfo("Europe/Budapest")


def _local_starts(window: MaintenanceWindow, start: dt.datetime, end: dt.datetime) -> list[str]:
    return [lo.astimezone(BUDAPEST).isoformat() for lo, _ in window.spans(BUDAPEST, start, end)]


def test_every_n_days_from_the_first_date_across_a_dst_change() -> None:
    window = MaintenanceWindow.model_validate(
        {
            "equipment": ["cnc"],
            "every": {"days": 10, "first": "2026-03-05", "start": "06:00", "duration": "2 h"},
        }
    )
    start = dt.datetime(2026, 3, 1, tzinfo=BUDAPEST)
    end = dt.datetime(2026, 4, 10, tzinfo=BUDAPEST)
    assert _local_starts(window, start, end) == [
        "2026-03-05T06:00:00+01:00",
        "2026-03-15T06:00:00+01:00",
        "2026-03-25T06:00:00+01:00",
        "2026-04-04T06:00:00+02:00",  # after the change to summer time, still 06:00 local
    ]


def test_monthly_on_a_day_or_the_last_day() -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=BUDAPEST)
    end = dt.datetime(2026, 4, 1, tzinfo=BUDAPEST)
    last = MaintenanceWindow.model_validate(
        {"equipment": ["cnc"], "monthly": {"day": "last", "start": "22:00", "duration": "4 h"}}
    )
    assert [s[:10] for s in _local_starts(last, start, end)] == [
        "2026-01-01",  # the 31 December window, 22:00-02:00, clipped at the start
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
    ]
    day31 = MaintenanceWindow.model_validate(
        {"equipment": ["cnc"], "monthly": {"day": 31, "start": "06:00", "duration": "1 h"}}
    )
    assert [s[:10] for s in _local_starts(day31, start, end)][1] == "2026-02-28"


def test_a_usage_window_has_no_calendar_spans_and_needs_a_trigger() -> None:
    usage = MaintenanceWindow.model_validate(
        {"equipment": ["cnc"], "usage": {"hours": "250 h", "duration": "3 h"}}
    )
    start = dt.datetime(2026, 1, 1, tzinfo=BUDAPEST)
    assert list(usage.spans(BUDAPEST, start, start + dt.timedelta(days=30))) == []
    bad = MINI + "maintenance:\n  - {equipment: [cnc], usage: {duration: 1 h}}\n"
    with pytest.raises(PlantModelError, match="give 'hours' or 'counts'"):
        load_plant_text(bad)
    both = MINI + (
        "maintenance:\n  - equipment: [cnc]\n"
        '    monthly: {day: 1, start: "06:00", duration: 1 h}\n'
        '    weekly: {day: mon, start: "06:00", duration: 1 h}\n'
    )
    with pytest.raises(PlantModelError, match="not several"):
        load_plant_text(both)


def test_usage_maintenance_adds_its_expected_service_time_to_the_capacity_check() -> None:
    from factoryos.model.capacity import rough_cut_capacity

    plant = load_plant_text(MINI)
    start = dt.datetime(2026, 3, 2, tzinfo=ZoneInfo("Asia/Shanghai"))
    end = start + dt.timedelta(days=7)
    base = rough_cut_capacity(plant, start, end, 40)
    serviced = load_plant_text(
        MINI + "maintenance:\n  - {equipment: [cnc], usage: {counts: 20, duration: 1 h}}\n"
    )
    report = rough_cut_capacity(serviced, start, end, 40)
    cnc = next(p for p in report.pools if p.equipment == "cnc")
    # 80 parts for 40 widgets, a 1 h service every 20: 4 h
    assert cnc.service_load_s == pytest.approx(4 * 3600.0)
    assert cnc.load_s == pytest.approx(base.pools[0].load_s + 4 * 3600.0)


def test_a_tariff_with_weekend_and_summer_bands() -> None:
    from factoryos.model import Tariff

    tariff = Tariff.model_validate(
        {
            "name": "seasonal",
            "bands": [
                {
                    "name": "weekday",
                    "price_cny_per_kwh": 0.6,
                    "hours": ["00:00-24:00"],
                    "days": ["mon", "tue", "wed", "thu", "fri"],
                    "months": [1, 2, 3, 4, 5, 6, 9, 10, 11, 12],
                },
                {
                    "name": "summer_peak",
                    "price_cny_per_kwh": 1.2,
                    "hours": ["10:00-18:00"],
                    "days": ["mon", "tue", "wed", "thu", "fri"],
                    "months": [7, 8],
                },
                {
                    "name": "summer_rest",
                    "price_cny_per_kwh": 0.6,
                    "hours": ["00:00-10:00", "18:00-24:00"],
                    "days": ["mon", "tue", "wed", "thu", "fri"],
                    "months": [7, 8],
                },
                {
                    "name": "weekend",
                    "price_cny_per_kwh": 0.3,
                    "hours": ["00:00-24:00"],
                    "days": ["sat", "sun"],
                },
            ],
        }
    )
    zone = ZoneInfo("Asia/Shanghai")
    assert tariff.price_at(dt.datetime(2026, 7, 15, 12, 0, tzinfo=zone)) == 1.2  # a summer Wed
    assert tariff.price_at(dt.datetime(2026, 3, 18, 12, 0, tzinfo=zone)) == 0.6
    assert tariff.price_at(dt.datetime(2026, 7, 18, 12, 0, tzinfo=zone)) == 0.3  # a Saturday
    with pytest.raises(ValueError, match="weekday or seasonal bands"):
        tariff.price_at(dt.time(12, 0))
    gap = {
        "name": "g",
        "bands": [{"name": "w", "price_cny_per_kwh": 1, "hours": ["00:00-24:00"], "days": ["mon"]}],
    }
    with pytest.raises(ValueError, match="uncovered on tue in month 1"):
        Tariff.model_validate(gap)
