"""Lines on different calendars: one working-time axis, each unit's own time off unavailable."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from factoryos.model.calendar import shift_periods
from factoryos.model.loader import load_plant
from factoryos.model.plant import Plant
from factoryos.schedule import SchedulingError, SolverParams, best_rule, check, to_schedule
from factoryos.schedule.decompose import DecomposeConfig, solve_by_orders
from factoryos.schedule.orders import Order, build_problem
from factoryos.schedule.solution import SolveResult

# Machining runs around the clock, assembly on one day shift with a lunch break: a part milled
# at night is assembled the next morning.
TWO_CALENDARS = """
enterprise: {id: acme}
site: {id: plant1, timezone: UTC}
skills: [machining, assembly]
calendars:
  day:
    shifts:
      - {name: day, start: "08:00", end: "16:00", days: [mon, tue, wed, thu, fri],
         breaks: [{start: "12:00", end: "12:30"}]}
  around:
    shifts:
      - {name: a, start: "06:00", end: "18:00", days: [mon, tue, wed, thu, fri, sat, sun]}
      - {name: b, start: "18:00", end: "06:00", days: [mon, tue, wed, thu, fri, sat, sun]}
default_calendar: day
tariff:
  name: flat
  bands: [{name: flat, price_cny_per_kwh: 0.8, hours: ["00:00-24:00"]}]
cost_rates: {labour_cny_per_h: 80}
workforce: {headcount: 10}
areas:
  - id: main
    lines:
      - id: machining
        calendar: CALENDAR
        equipment:
          - {id: cnc, kind: cnc, units: 2, skills: [machining], power: {producing: 20 kW}}
      - id: assembly
        equipment:
          - {id: bench, kind: assembly_station, skills: [assembly], power: {producing: 2 kW}}
products:
  - id: part
    family: parts
    routing:
      - {id: mill, skill: machining, run_time: 50 min}
  - id: widget
    family: widgets
    routing:
      - id: assemble
        skill: assembly
        run_time: 40 min
        resumable: true
        consumes: [{product: part, quantity: 2}]
"""

MONDAY = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)


def _plant(tmp_path: Path, *, machining_calendar: str = "around") -> Plant:
    path = tmp_path / "two_calendars.yaml"
    path.write_text(TWO_CALENDARS.replace("CALENDAR", machining_calendar))
    return load_plant(path)


def _orders(count: int, quantity: int = 2) -> list[Order]:
    return [
        Order(f"W{k:02d}", "widget", quantity, MONDAY, MONDAY + dt.timedelta(days=3))
        for k in range(count)
    ]


def _inside(start: dt.datetime, end: dt.datetime, periods: list[tuple[dt.datetime, ...]]) -> bool:
    return any(lo <= start < hi for lo, hi in periods) and any(lo < end <= hi for lo, hi in periods)


def test_each_line_works_its_own_calendar_on_one_plan(tmp_path: Path) -> None:
    plant = _plant(tmp_path)
    pp = build_problem(plant, _orders(8), origin=MONDAY)
    p = pp.problem
    bench = {i for i, (equipment, _) in enumerate(p.machine_units) if equipment == "bench"}
    # the axis is the union of working time: only the bench is off (at night and over lunch)
    assert bench and {m for m, _, _ in p.unavailable} == bench
    for solution in (
        best_rule(p, score=lambda s: s.makespan)[1],
        solve_by_orders(
            p, SolverParams(1.0, 2), config=DecomposeConfig(step_time_limit_s=0.3)
        ).solution,
    ):
        check(p, solution)
        result = SolveResult(solution, "feasible", solution.makespan, 0, 0.0, "test")
        plan = to_schedule(p, result, origin=pp.origin, time_unit=pp.time_unit, axis=pp.axis)
        assert plan.end is not None
        periods = {
            cid: [(q.start, q.end) for q in shift_periods(cal, plant.zone, MONDAY, plan.end)]
            for cid, cal in plant.calendars.items()
        }
        milled_at_night = 0
        for o in plan:
            if o.equipment_id == "bench":  # even a resumable step stays inside one stretch
                assert any(lo <= o.start and o.end <= hi for lo, hi in periods["day"]), o
            else:
                assert _inside(o.start, o.end, periods["around"]), o
                milled_at_night += not _inside(o.start, o.end, periods["day"])
        # 8 orders x 2 widgets x 2 parts x 50 min on 2 units: more than one day shift
        assert milled_at_night > 0


def test_a_step_longer_than_its_units_working_stretch_is_refused_with_its_name(
    tmp_path: Path,
) -> None:
    # 8 widgets x 40 min = 320 min of assembly; the bench works 240 and 210 min stretches
    plant = _plant(tmp_path)
    with pytest.raises(SchedulingError, match=r"order 'W00': step 'assemble'.*own calendar"):
        build_problem(plant, _orders(1, quantity=8), origin=MONDAY)


def test_one_calendar_keeps_the_bench_free_of_unavailable_time(tmp_path: Path) -> None:
    pp = build_problem(_plant(tmp_path, machining_calendar="day"), _orders(2), origin=MONDAY)
    assert pp.problem.unavailable == ()
    assert pp.problem.breaks  # the day calendar's lunch and nights are pauses of the axis
