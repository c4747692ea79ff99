"""KPIs of a hand-computed day: every expected number is worked out in the comments."""

from __future__ import annotations

import pytest

from factoryos.kpi.from_events import aggregate_events
from factoryos.kpi.report import GroupBy, build_query, compute_report
from factoryos.model import EnergyReading, Plant, ProductionCount, StateChange, load_plant
from factoryos.model.aggregates import GroupValues
from tests.kpi.conftest import FIXTURES, local

CNC1 = "acme/plant1/main/line1/cnc/1"
CNC2 = "acme/plant1/main/line1/cnc/2"


def _day_of_cnc1() -> list:
    # Monday 5 Jan 2026, shift 08:00-16:00 with a 12:00-12:30 break: POT = PBT = 7.5 h = 27000 s.
    return [
        StateChange("s1", local(5, 8), CNC1, "producing"),
        StateChange("s2", local(5, 10), CNC1, "fault", reason="spindle"),
        StateChange("s3", local(5, 11), CNC1, "producing"),
        StateChange("s4", local(5, 15), CNC1, "setup"),
        StateChange("s5", local(5, 15.5), CNC1, "idle"),
        # 'mill' runs 10 min = 600 s per part: PQ = 30 -> PRI x PQ = 18000 s.
        ProductionCount(
            "c1", local(5, 15), CNC1, "part", good=28, scrap=1, rework=1, operation="mill"
        ),
        EnergyReading("e1", local(5, 9), CNC1, 100.0),
    ]


def _report(plant: Plant, events: list, by: GroupBy = GroupBy.TOTAL, node: str | None = None):
    query = build_query(plant, local(5, 0), local(6, 0), node, by)
    return compute_report(plant, query, by, aggregate_events(events, query, by_reason=True))


def test_time_elements_and_iso22400_kpis_of_one_unit(mini_plant: Plant) -> None:
    report = _report(mini_plant, _day_of_cnc1(), node=CNC1)
    t = report.total.inputs.time
    assert t.pot_s == 27000 and t.pbt_s == 27000
    # APT: 08-10 (2 h) + 11-12 (1 h) + 12:30-15 (2.5 h) = 5.5 h; the break is not PBT.
    assert t.apt_s == 19800
    assert t.adet_s == 3600  # the fault 10-11
    assert t.aust_s == 1800  # setup 15:00-15:30
    assert t.adot_s == 1800  # idle 15:30-16:00 (idle after 16:00 is off shift)
    assert t.unknown_s == 0
    k = report.total.kpis
    assert k["availability"] == pytest.approx(19800 / 27000)
    assert k["effectiveness"] == pytest.approx(18000 / 19800)
    assert k["quality_ratio"] == pytest.approx(28 / 30)
    assert k["oee_index"] == pytest.approx(600 * 28 / 27000)
    assert k["oee_index"] == pytest.approx(
        k["availability"] * k["effectiveness"] * k["quality_ratio"]
    )
    assert k["nee_index"] == pytest.approx((19800 + 1800) / 27000 * 18000 / 19800 * 28 / 30)
    assert k["setup_ratio"] == pytest.approx(1800 / 21600)
    assert k["technical_efficiency"] == pytest.approx(19800 / 23400)
    assert k["utilization_efficiency"] == pytest.approx(19800 / 25200)
    assert k["allocation_efficiency"] == pytest.approx(25200 / 27000)
    assert k["scrap_ratio"] == pytest.approx(1 / 30)
    assert k["rework_ratio"] == pytest.approx(1 / 30)
    assert k["first_pass_yield"] == pytest.approx(28 / 30)
    assert k["mtbf_s"] == pytest.approx(21600)  # (APT + AUST) / one failure
    assert k["mttr_s"] == pytest.approx(3600)
    assert k["corrective_maintenance_ratio"] == pytest.approx(1.0)
    assert k["comprehensive_energy_consumption_kwh"] == pytest.approx(100 / 30)
    # 'part' has no value added, so no finished goods: value-based KPIs are undefined, not 0.
    assert k["energy_per_finished_unit_kwh"] is None
    assert k["energy_per_10k_cny_value_added_kwh"] is None


def test_losses_partition_planned_busy_time(mini_plant: Plant) -> None:
    losses = _report(mini_plant, _day_of_cnc1(), node=CNC1).total.losses
    assert losses.breakdowns_s == 3600
    assert losses.setup_and_adjustment_s == 1800
    assert losses.idling_and_minor_stops_s == 1800
    assert losses.reduced_speed_s == 19800 - 18000
    assert losses.defects_and_rework_s == 600 * 2
    assert losses.fully_productive_s == 600 * 28
    assert sum(losses.as_dict().values()) == pytest.approx(27000)


def test_downtime_pareto_names_the_reason(mini_plant: Plant) -> None:
    report = _report(mini_plant, _day_of_cnc1(), node=CNC1)
    assert [(p.reason, p.seconds, p.cumulative_share) for p in report.pareto] == [
        ("spindle", 3600, 1.0)
    ]


def test_unit_without_states_counts_as_unknown_and_rolls_up(mini_plant: Plant) -> None:
    report = _report(mini_plant, _day_of_cnc1(), node="acme/plant1/main/line1/cnc")
    t = report.total.inputs.time
    assert t.pbt_s == 2 * 27000  # two CNC units
    assert t.unknown_s == 27000  # cnc/2 reported nothing
    assert report.total.kpis["availability"] == pytest.approx(19800 / 54000)


def test_energy_cost_uses_the_tariff_price(mini_plant: Plant) -> None:
    report = _report(mini_plant, _day_of_cnc1(), node=CNC1)
    assert report.total.inputs.resources.energy_kwh == 100
    assert report.total.inputs.resources.energy_cost_cny == pytest.approx(80.0)


def test_group_by_equipment_and_total_agree(mini_plant: Plant) -> None:
    events = [
        *_day_of_cnc1(),
        StateChange("t1", local(5, 8), CNC2, "producing"),
        ProductionCount("t2", local(5, 12), CNC2, "part", good=20, operation="mill"),
    ]
    report = _report(mini_plant, events, by=GroupBy.EQUIPMENT)
    by_path = {g.group.path: g for g in report.groups}
    assert set(by_path) == {CNC1, CNC2, "acme/plant1/main/line1/bench"}
    # cnc/2 produced all shift: APT = PBT.
    assert by_path[CNC2].kpis["availability"] == pytest.approx(1.0)
    assert report.total.inputs.time.apt_s == pytest.approx(19800 + 27000)
    assert report.total.inputs.quantities.pq == 30 + 20


def test_value_added_productivity_and_cost(mini_plant: Plant) -> None:
    bench = "acme/plant1/main/line1/bench"
    events = [
        StateChange("b1", local(5, 8), bench, "producing"),
        # 'assemble' is the last operation of 'widget' (1000 CNY value added each).
        ProductionCount("b2", local(5, 11), bench, "widget", good=50, operation="assemble"),
        EnergyReading("b3", local(5, 11), bench, 25.0),
    ]
    k = _report(mini_plant, events, node=bench).total.kpis
    assert k["energy_per_finished_unit_kwh"] == pytest.approx(25 / 50)
    assert k["energy_per_10k_cny_value_added_kwh"] == pytest.approx(25 / 5.0)
    # the bench needs no operators in the fixture: productivity per labour hour is undefined
    assert k["value_added_per_labour_hour_cny"] is None
    # cost = energy 25 kWh x 0.8 CNY (no labour, no equipment rate) over 50 units
    assert k["operating_cost_per_good_unit_cny"] == pytest.approx(20 / 50)


def test_by_day_splits_a_state_across_midnight(mini_plant: Plant) -> None:
    events = [StateChange("n1", local(5, 8), CNC1, "producing")]
    query = build_query(mini_plant, local(5, 0), local(7, 0), CNC1, GroupBy.DAY)
    report = compute_report(mini_plant, query, GroupBy.DAY, aggregate_events(events, query))
    days = {g.group.local_day.isoformat(): g.inputs.time.apt_s for g in report.groups}
    # The state holds until the window end: both Monday and Tuesday shifts are fully productive.
    assert days == {"2026-01-05": 27000, "2026-01-06": 27000}
    assert GroupValues() == report.total.group


def test_site_overhead_is_spread_over_work_units() -> None:
    plant = load_plant(
        FIXTURES / "mini_plant.yaml", overlay={"cost_rates": {"overhead_cny_per_h": 300}}
    )
    bench = "acme/plant1/main/line1/bench"
    events = [
        StateChange("b1", local(5, 8), bench, "producing"),
        ProductionCount("b2", local(5, 11), bench, "widget", good=50, operation="assemble"),
        EnergyReading("b3", local(5, 11), bench, 25.0),
    ]
    # 300 CNY/h over 3 work units = 100 CNY/h each; the bench plans 7.5 h on Monday.
    k = _report(plant, events, node=bench).total
    assert k.inputs.resources.overhead_cny == pytest.approx(750.0)
    assert k.kpis["operating_cost_per_good_unit_cny"] == pytest.approx((20 + 750) / 50)
    site = _report(plant, events).total
    assert site.inputs.resources.overhead_cny == pytest.approx(300 * 7.5)
