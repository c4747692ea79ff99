"""Lines on different calendars: one working-time axis, each unit's own time off on it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from factoryos.model.calendar import shift_periods
from factoryos.model.loader import load_plant
from factoryos.model.plant import Plant
from factoryos.model.schedule import Schedule
from factoryos.schedule import SchedulingError, SolverParams, best_rule, check, solve, to_schedule
from factoryos.schedule.decompose import DecomposeConfig, solve_by_orders
from factoryos.schedule.orders import Order, PlantProblem, build_problem
from factoryos.schedule.solution import Solution, SolveResult

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


def _worked(start: dt.datetime, end: dt.datetime, periods: list[tuple[dt.datetime, ...]]) -> float:
    """Minutes of ``[start, end)`` inside the working periods."""
    return sum(max(0.0, (min(end, hi) - max(start, lo)).total_seconds() / 60) for lo, hi in periods)


def _plan(pp: PlantProblem, solution: Solution) -> Schedule:
    result = SolveResult(solution, "feasible", solution.makespan, 0, 0.0, "test")
    return to_schedule(pp.problem, result, origin=pp.origin, time_unit=pp.time_unit, axis=pp.axis)


def _periods(plant: Plant, until: dt.datetime) -> dict[str, list[tuple[dt.datetime, ...]]]:
    return {
        cid: [(q.start, q.end) for q in shift_periods(cal, plant.zone, MONDAY, until)]
        for cid, cal in plant.calendars.items()
    }


def test_each_line_works_its_own_calendar_on_one_plan(tmp_path: Path) -> None:
    plant = _plant(tmp_path)
    pp = build_problem(plant, _orders(8), origin=MONDAY)
    p = pp.problem
    bench = {i for i, (equipment, _) in enumerate(p.machine_units) if equipment == "bench"}
    # the axis is the union of working time: only the bench is off (at night and over lunch)
    assert bench and {m for m, _, _ in p.off} == bench and not p.unavailable
    for solution in (
        best_rule(p, score=lambda s: s.makespan)[1],
        solve_by_orders(
            p, SolverParams(1.0, 2), config=DecomposeConfig(step_time_limit_s=0.3)
        ).solution,
    ):
        check(p, solution)
        plan = _plan(pp, solution)
        assert plan.end is not None
        periods = _periods(plant, plan.end)
        milled_at_night = 0
        for o in plan:
            if o.equipment_id == "bench":  # resumable: it may pause over lunch or the night
                assert _inside(o.start, o.end, periods["day"]), o
                assert _worked(o.start, o.end, periods["day"]) == 80  # 2 widgets x 40 min
            else:
                assert _inside(o.start, o.end, periods["around"]), o
                milled_at_night += not _inside(o.start, o.end, periods["day"])
        # 8 orders x 2 widgets x 2 parts x 50 min on 2 units: more than one day shift
        assert milled_at_night > 0


def test_a_resumable_step_longer_than_a_stretch_pauses_and_goes_on(tmp_path: Path) -> None:
    # 8 widgets x 40 min = 320 min of assembly; the bench works 240 and 210 min stretches
    plant = _plant(tmp_path)
    pp = build_problem(plant, _orders(1, quantity=8), origin=MONDAY)
    for solution in (
        best_rule(pp.problem, score=lambda s: s.makespan)[1],
        solve(pp.problem, SolverParams(2.0, 2)).solution,
    ):
        check(pp.problem, solution)
        plan = _plan(pp, solution)
        (assemble,) = [o for o in plan if o.equipment_id == "bench"]
        periods = _periods(plant, assemble.end)["day"]
        assert _inside(assemble.start, assemble.end, periods)
        assert _worked(assemble.start, assemble.end, periods) == 320
        # one lot of 16 parts x 50 min milled around the clock: ready Monday 21:20; assembled
        # Tuesday 08:00-12:00 (240 min), lunch, 12:30-13:50 (80 min)
        assert assemble.start == MONDAY + dt.timedelta(days=1)
        assert assemble.end == MONDAY + dt.timedelta(days=1, hours=5, minutes=50)


def test_a_step_that_must_stay_in_one_stretch_is_refused_in_minutes(tmp_path: Path) -> None:
    text = TWO_CALENDARS.replace("CALENDAR", "around").replace("resumable: true", "")
    path = tmp_path / "strict.yaml"
    path.write_text(text)
    with pytest.raises(
        SchedulingError,
        match=r"order 'W00': step 'assemble' takes 320 min = 5.3 h, longer than the longest "
        r"working stretch \(240 min = 4.0 h\).*resumable: true.*unattended: true",
    ):
        build_problem(load_plant(path), _orders(1, quantity=8), origin=MONDAY)


def test_an_unattended_step_runs_through_the_end_of_the_shift(tmp_path: Path) -> None:
    # 8 parts x 50 min milled from 08:00: ready 14:40; 4 widgets x 40 min assembled unattended
    # from 14:40 run on past the bench's 16:00 shift end to 17:20 (resumable: Tuesday 09:20)
    text = TWO_CALENDARS.replace("CALENDAR", "around").replace(
        "resumable: true", "unattended: true"
    )
    path = tmp_path / "unattended.yaml"
    path.write_text(text)
    plant = load_plant(path)
    pp = build_problem(plant, _orders(1, quantity=4), origin=MONDAY)
    for solution in (
        best_rule(pp.problem, score=lambda s: s.makespan)[1],
        solve(pp.problem, SolverParams(2.0, 2)).solution,
    ):
        check(pp.problem, solution)
        (assemble,) = [o for o in _plan(pp, solution) if o.equipment_id == "bench"]
        assert assemble.start == MONDAY + dt.timedelta(hours=6, minutes=40)
        assert assemble.end == MONDAY + dt.timedelta(hours=9, minutes=20)


def test_an_operation_starts_where_its_input_is_ready_inside_a_stretch(tmp_path: Path) -> None:
    # one order released at 10:17 on the day calendar: milling starts at 10:17, not at 12:30
    plant = _plant(tmp_path, machining_calendar="day")
    order = Order("W00", "widget", 1, MONDAY + dt.timedelta(hours=2, minutes=17))
    pp = build_problem(plant, [order], origin=MONDAY)
    plan = _plan(pp, solve(pp.problem, SolverParams(1.0, 2)).solution)
    mills = sorted(o.start for o in plan if o.equipment_id == "cnc")
    assert mills[0] == MONDAY + dt.timedelta(hours=2, minutes=17)


def test_one_calendar_keeps_the_bench_free_of_unavailable_time(tmp_path: Path) -> None:
    pp = build_problem(_plant(tmp_path, machining_calendar="day"), _orders(2), origin=MONDAY)
    assert pp.problem.unavailable == () and pp.problem.off == ()
    assert pp.problem.breaks  # the day calendar's lunch and nights are pauses of the axis
