"""Gains (ratio of sums, bootstrap interval) and robot density, known answers by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from factoryos.assess.density import REFERENCES, robot_density, total_density
from factoryos.assess.gains import DayFigures, measure_gains
from factoryos.model.errors import AssessmentError
from factoryos.model.loader import load_plant_text

D0 = dt.date(2026, 1, 5)


def day(
    n: int, va: float, labour: float = 10.0, good: float = 10.0, kwh: float = 100.0
) -> DayFigures:
    return DayFigures(D0 + dt.timedelta(n), va, good, labour, 50.0 * good, kwh, 3600.0, 7200.0)


def test_identical_days_give_the_exact_change_and_a_point_interval() -> None:
    # baseline 100 CNY / 10 h = 10 CNY/h; current 150 / 10 = 15: +50 % whatever the resample
    gains = {g.metric.id: g for g in measure_gains([day(0, 100), day(1, 100)], [day(7, 150)] * 3)}
    va = gains["value_added_per_labour_hour_cny"]
    assert (va.baseline, va.current) == (10.0, 15.0)
    assert va.change_pct == pytest.approx(50.0)
    assert va.low_pct == pytest.approx(50.0) and va.high_pct == pytest.approx(50.0)
    assert va.improved
    # energy per 10k CNY: 100 kWh / (100/10^4) = 10,000 -> 100 / (150/10^4) = 6,667: -33.3 %
    energy = gains["energy_per_10k_cny_value_added_kwh"]
    assert energy.baseline == pytest.approx(10_000.0)
    assert energy.change_pct == pytest.approx(-100 / 3)
    assert energy.improved
    assert gains["oee"].change_pct == pytest.approx(0.0)


def test_ratio_of_sums_not_mean_of_ratios() -> None:
    # baseline days: 100 CNY in 10 h and 300 CNY in 30 h -> 400 / 40 = 10 (mean of ratios too);
    # current: 100 in 5 h and 100 in 20 h -> 200 / 25 = 8 (the mean of ratios would be 12.5)
    base = [day(0, 100, labour=10), day(1, 300, labour=30)]
    cur = [day(7, 100, labour=5), day(8, 100, labour=20)]
    va = measure_gains(base, cur)[0]
    assert va.current == 8.0
    assert va.change_pct == pytest.approx(-20.0)
    assert va.low_pct is not None and va.high_pct is not None
    assert va.low_pct <= -20.0 <= va.high_pct


def test_an_empty_period_is_an_error() -> None:
    with pytest.raises(AssessmentError, match="baseline: the baseline window holds no"):
        measure_gains([], [day(0, 1)])


PLANT = """
enterprise: {id: acme}
site: {id: p1, timezone: UTC}
skills: [weld]
calendars: {day: {shifts: [{name: a, start: "08:00", end: "16:00", days: [mon]}]}}
default_calendar: day
tariff: {name: flat, bands: [{name: flat, price_cny_per_kwh: 1, hours: ["00:00-24:00"]}]}
cost_rates: {labour_cny_per_h: 80}
workforce: {headcount: 250}
areas:
  - id: a
    lines:
      - id: l
        equipment:
          - {id: six_axis, kind: industrial_robot, axes: 6, units: 8, skills: [weld]}
          - {id: gantry, kind: industrial_robot, axes: 2, units: 3, skills: [weld]}
          - {id: scara, kind: industrial_robot, units: 2, skills: [weld]}
          - {id: agv, kind: agv, units: 5, skills: [weld]}
products:
  - {id: p, family: f, routing: [{id: w, skill: weld, run_time: 60}]}
"""


def test_robot_density_counts_iso_8373_robots() -> None:
    # 8 six-axis + 2 with unknown axes (counted, flagged); the 2-axis gantry and AGVs are not
    density = robot_density(load_plant_text(PLANT))
    assert (density.robots, density.employees, density.assumed_axes) == (10, 250, 2)
    assert density.per_10k == 400.0  # 10 / 250 x 10,000
    both = total_density([density, density])
    assert both.per_10k == 400.0 and both.robots == 20
    assert [r.per_10k for r in REFERENCES] == [383.0, 470.0, 162.0]
