"""Rough-cut capacity: known answers on a tiny plant computed by hand, then the reference plant."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from factoryos.model import load_plant, load_plant_text
from factoryos.model.capacity import (
    CapacityError,
    CapacityReport,
    calendar_year,
    default_mix,
    rough_cut_capacity,
)

from .plants import ROBOT_FACTORY, replaced

H = 3600.0
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 2026-03-02 to Monday 2026-03-09, with Wednesday 03-04 a holiday: 4 working days.
START = dt.datetime(2026, 3, 2, tzinfo=SHANGHAI)
END = dt.datetime(2026, 3, 9, tzinfo=SHANGHAI)

TINY = """\
enterprise: {id: acme}
site: {id: plant1, timezone: Asia/Shanghai}
skills: [machining, assembly]
calendars:
  day:
    shifts:
      - {name: early, start: "08:00", end: "16:00", days: [mon, tue, wed, thu, fri],
         breaks: [{start: "12:00", end: "12:30"}]}
    holidays: [2026-03-04]
default_calendar: day
tariff:
  name: flat
  bands: [{name: flat, price_cny_per_kwh: 0.8, hours: ["00:00-24:00"]}]
cost_rates: {labour_cny_per_h: 80}
workforce: {headcount: 10}
areas:
  - id: main
    lines:
      - id: line1
        equipment:
          - id: cnc
            kind: cnc
            units: 2
            skills: [machining]
            failure:
              time_between_failures: {dist: fixed, value: 90 h}
              time_to_repair: {dist: fixed, value: 10 h}
          - id: bench
            kind: assembly_station
            skills: [assembly, machining]
maintenance:
  - {equipment: [bench], weekly: {day: mon, start: "08:00", duration: 3 h}}
  - {equipment: [bench], weekly: {day: mon, start: "10:00", duration: 1 h}}
  - {equipment: [cnc], weekly: {day: sat, start: "08:00", duration: 4 h}}
products:
  - id: part
    family: parts
    routing:
      - id: mill
        skill: machining
        run_time: 10 min
        run_time_on: {bench: 20 min}
        setup_time: 30 min
        scrap_rate: 0.2
        rework_rate: 0.1
  - id: widget
    family: widgets
    value_added_cny: 1000
    routing:
      - id: assemble
        skill: assembly
        equipment: [bench]
        run_time: 30 min
        consumes: [{product: part, quantity: 2}]
"""

# The arithmetic, in hours.
# Planned busy time per unit: 4 days x (8 h - 0.5 h break) = 30 h.
#   cnc: its Saturday window lies outside every shift, so PBT stays 30 h; availability
#        90 / (90 + 10) = 0.9; available = 2 units x 30 x 0.9 = 54 h.
#   bench: Monday 08:00-11:00 (the union of its two overlapping windows) is in the shift:
#        PBT = 30 - 3 = 27 h; no failure model, availability 1; available = 27 h.
# Demand 40 widgets, batch size 10.
#   widget.assemble (bench only): 40 started, 40 runs x 0.5 h = 20 h; no setup time.
#   part: 2 per widget started = 80 good; scrap 0.2 -> 80 / 0.8 = 100 started;
#        rework 0.1 -> 110 runs. Machining is shared by cnc and bench in proportion to their
#        available time, 54 : 27 = 2/3 : 1/3.
#        cnc:   110 x 2/3 runs x 10 min = 12.2222 h; 6.667 batches x 0.5 h = 3.3333 h
#        bench: 110 x 1/3 runs x 20 min = 12.2222 h; 3.3333 batches x 0.5 h = 1.6667 h
#   cnc load 15.5556 h / 54 h = 28.81 %;
#   bench load 20 + 12.2222 + 1.6667 = 33.8889 h / 27 h = 125.51 %: the bottleneck.
#   nominal = 40 / 1.25514 = 31.869 widgets in the week; takt = 30 h / 40 = 0.75 h.
CNC_LOAD = (110 * 2 / 3 * 10 / 60 + 100 * 2 / 3 / 10 * 0.5) * H
BENCH_LOAD = (20 + 110 / 3 * 20 / 60 + 100 / 3 / 10 * 0.5) * H


@pytest.fixture(scope="module")
def tiny_report() -> CapacityReport:
    plant = load_plant_text(TINY, filename="tiny.yaml")
    return rough_cut_capacity(plant, START, END, demand_units=40, lot_size=10)


def test_available_time_per_pool(tiny_report: CapacityReport) -> None:
    cnc, bench = tiny_report.pools
    assert (cnc.equipment, cnc.line, cnc.units) == ("cnc", "line1", 2)
    assert cnc.planned_busy_s == 30 * H
    assert cnc.availability == pytest.approx(0.9)
    assert cnc.available_s == pytest.approx(54 * H)
    assert bench.planned_busy_s == 27 * H
    assert bench.availability == 1.0
    assert bench.available_s == 27 * H


def test_quantities_through_consumes_scrap_and_rework(tiny_report: CapacityReport) -> None:
    assert dict(tiny_report.mix) == {"widget": 1.0}
    assert tiny_report.good_units["widget"] == pytest.approx(40)
    assert tiny_report.good_units["part"] == pytest.approx(80)


def test_loads_and_utilisation(tiny_report: CapacityReport) -> None:
    cnc, bench = tiny_report.pools
    assert cnc.run_load_s == pytest.approx(110 * 2 / 3 * 600)
    assert cnc.setup_load_s == pytest.approx(100 * 2 / 3 / 10 * 1800)
    assert cnc.load_s == pytest.approx(CNC_LOAD)
    assert cnc.utilisation == pytest.approx(0.288066, abs=1e-6)
    assert bench.run_load_s == pytest.approx((20 + 110 / 3 / 3) * H)
    assert bench.load_s == pytest.approx(BENCH_LOAD)
    assert bench.utilisation == pytest.approx(1.255144, abs=1e-6)


def test_bottleneck_nominal_output_and_takt(tiny_report: CapacityReport) -> None:
    assert tiny_report.bottleneck.equipment == "bench"
    assert tiny_report.nominal_units == pytest.approx(40 / (BENCH_LOAD / (27 * H)))
    assert tiny_report.nominal_units == pytest.approx(31.869, abs=1e-3)
    assert tiny_report.plant_busy_s == 30 * H
    assert tiny_report.takt_s == 2700.0
    assert tiny_report.pools[0].max_units == pytest.approx(40 / 0.288066, rel=1e-5)


def test_skill_and_line_loads(tiny_report: CapacityReport) -> None:
    skills = {s.name: s for s in tiny_report.skills}
    assert skills["assembly"].load_s == pytest.approx(20 * H)
    assert skills["assembly"].available_s == 27 * H
    # machining runs on both pools: 12.2222 + 12.2222 + 3.3333 + 1.6667 h over 54 + 27 h
    assert skills["machining"].load_s == pytest.approx(CNC_LOAD + BENCH_LOAD - 20 * H)
    assert skills["machining"].available_s == pytest.approx(81 * H)
    [line] = tiny_report.lines
    assert line.name == "line1"
    assert line.load_s == pytest.approx(CNC_LOAD + BENCH_LOAD)
    assert line.utilisation == pytest.approx((CNC_LOAD + BENCH_LOAD) / (81 * H))


def test_family_changeovers_follow_the_pools_batch_mix() -> None:
    text = replaced(
        "skills: [assembly, machining]\n",
        "skills: [assembly, machining]\n"
        "            setup_matrix: {parts: {widgets: 1 h}, widgets: {parts: 1 h}}\n",
        TINY,
    )
    report = rough_cut_capacity(load_plant_text(text), START, END, 40, lot_size=10)
    bench = report.pools[1]
    # bench lots: 4 of widgets, 10/3 of parts (22/3 in all), the bench sets up per lot. The lot
    # before a widgets lot is a parts lot with probability 5/11, costing 1 h (the matrix), else
    # a widgets lot, costing the widget step's setup (none): 4 x 5/11 = 20/11 h. Before a parts
    # lot: widgets with probability 6/11 (1 h), else parts (its 0.5 h step setup, the matrix
    # replacing it on a change as in the plan and the twin): 10/3 x (6/11 + 5/11 x 0.5) h.
    assert bench.setup_load_s == pytest.approx((20 / 11 + 10 / 3 * (6 + 2.5) / 11) * H)
    assert report.pools[0].setup_load_s == pytest.approx(100 * 2 / 3 / 10 * 1800)
    # a campaign bench: only the family changes cost, 20/11 + 10/3 x 6/11 h
    campaign = text.replace(
        "            setup_matrix:",
        "            setup: per_family_change\n            setup_matrix:",
    )
    report = rough_cut_capacity(load_plant_text(campaign), START, END, 40, lot_size=10)
    assert report.pools[1].setup_load_s == pytest.approx((20 / 11 + 10 / 3 * 6 / 11) * H)


def test_loads_are_linear_in_demand_so_nominal_output_is_not() -> None:
    plant = load_plant_text(TINY)
    small = rough_cut_capacity(plant, START, END, 20)
    large = rough_cut_capacity(plant, START, END, 80)
    assert large.bottleneck.utilisation == pytest.approx(4 * small.bottleneck.utilisation)
    assert large.nominal_units == pytest.approx(small.nominal_units)


def test_mix_defaults_to_equal_shares_of_sellable_products() -> None:
    text = replaced("  - id: part\n    family: parts\n", "  - id: part\n    family: parts\n"
                    "    value_added_cny: 10\n", TINY)  # fmt: skip
    plant = load_plant_text(text)
    assert default_mix(plant) == {"part": 0.5, "widget": 0.5}
    report = rough_cut_capacity(plant, START, END, 40)
    # 20 parts sold + 2 x 20 for the widgets
    assert report.good_units["part"] == pytest.approx(60)
    explicit = rough_cut_capacity(plant, START, END, 40, mix={"widget": 3, "part": 1})
    assert dict(explicit.mix) == {"widget": 0.75, "part": 0.25}
    assert explicit.good_units["part"] == pytest.approx(10 + 2 * 30)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mix": {"gizmo": 1}}, "mix: unknown product 'gizmo'"),
        ({"mix": {"widget": -1}}, "must be >= 0"),
        ({"mix": {"widget": 0}}, "shares sum to zero"),
        ({"demand_units": 0}, "demand must be positive"),
        ({"lot_size": 0}, "lot size must be >= 1"),
        ({"end": START}, "empty window"),
        ({"start": dt.datetime(2026, 3, 2)}, "need a time zone"),  # noqa: DTZ001
    ],
)
def test_bad_requests(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"start": START, "end": END, "demand_units": 40, **kwargs}
    with pytest.raises(CapacityError, match=message):
        rough_cut_capacity(load_plant_text(TINY), **args)  # type: ignore[arg-type]


def test_a_plant_that_sells_nothing_has_no_default_mix() -> None:
    text = replaced("    value_added_cny: 1000\n", "", TINY)
    with pytest.raises(CapacityError, match="sells nothing"):
        default_mix(load_plant_text(text))


# --- the reference plant -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def robot_report() -> CapacityReport:
    plant = load_plant(ROBOT_FACTORY)
    start, end = calendar_year(plant, 2026)
    return rough_cut_capacity(plant, start, end, demand_units=10_000)


def test_reference_plant_makes_10000_robots_a_year(robot_report: CapacityReport) -> None:
    assert robot_report.nominal_units >= 10_000
    bottleneck = robot_report.bottleneck
    assert bottleneck.equipment == "arm_station"
    assert 0.80 <= bottleneck.utilisation <= 0.90
    # Not wildly over-provisioned: every loaded pool is busy at least a third; the AGVs and the
    # robot cells carry no routing load by design (their skills are in no routing).
    loaded = [p for p in robot_report.pools if p.line not in ("agv_fleet", "robot_cells")]
    assert len(loaded) == len(robot_report.pools) - 5
    assert min(p.utilisation for p in loaded) > 0.33
    assert max(p.utilisation for p in loaded if p is not bottleneck) < bottleneck.utilisation


def test_reference_plant_calendar_year(robot_report: CapacityReport) -> None:
    # 2026: 261 weekdays - 19 weekday holidays + 6 make-up days (调休) = 248 days,
    # x 2 shifts x 7 h 40 min.
    assert robot_report.plant_busy_s == 248 * 2 * (7 * 60 + 40) * 60
    assert robot_report.takt_s == pytest.approx(248 * 2 * 460 * 60 / 10_000)
    mix = dict(robot_report.mix)
    assert set(mix) == {"sr6", "sr20", "sa400"}
    # 6 motors per 6-axis robot, 4 per SCARA, before scrap
    assert robot_report.good_units["servo_motor"] >= 10_000 / 3 * (6 + 6 + 4)


def test_lot_size_sets_the_number_of_setups_and_the_command_line_replaces_it() -> None:
    plant = load_plant_text(replaced("family: parts", "family: parts\n    lot_size: 20", TINY))
    own = rough_cut_capacity(plant, START, END, 40)
    cnc = own.pools[0]
    # 100 started parts in lots of 20: 5 lots x 2/3 on the cnc x 0.5 h
    assert cnc.setup_load_s == pytest.approx(5 * 2 / 3 * 0.5 * H)
    assert cnc.run_load_s == pytest.approx(110 * 2 / 3 * 600)
    override = rough_cut_capacity(plant, START, END, 40, lot_size=50)
    assert override.pools[0].setup_load_s == pytest.approx(2 * 2 / 3 * 0.5 * H)
    assert override.lot_size == 50


def test_batch_equipment_runs_a_cycle_per_load() -> None:
    text = replaced(
        "skills: [assembly, machining]",
        "skills: [assembly, machining]\n            batch_capacity: 4",
        TINY,
    )
    report = rough_cut_capacity(load_plant_text(text), START, END, 40)
    bench = report.pools[1]
    # 40 widgets, 30 min a cycle of 4: 10 cycles = 5 h; parts milled on the bench: 20 min a
    # cycle of 4 for 110 x 1/3 runs
    assert bench.run_load_s == pytest.approx(40 / 4 * 0.5 * H + 110 / 3 / 4 * 20 * 60)
