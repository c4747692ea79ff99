"""Invariants of the KPI engine over random event logs (hypothesis)."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factoryos.kpi.elements import GroupInputs
from factoryos.kpi.from_events import aggregate_events
from factoryos.kpi.report import GroupBy, build_query, compute_report, kpis
from factoryos.model import MachineState, Plant, ProductionCount, StateChange
from tests.kpi.conftest import local

UNITS = ["acme/plant1/main/line1/cnc/1", "acme/plant1/main/line1/cnc/2"]
LINE = "acme/plant1/main/line1/cnc"
MILL_S = 600.0

state_steps = st.lists(
    st.tuples(st.floats(min_value=0.05, max_value=6.0), st.sampled_from(list(MachineState))),
    min_size=1,
    max_size=25,
)


def _log(steps_per_unit: list[list[tuple[float, MachineState]]]) -> list:
    """State changes of both units from Monday 06:00 on, ``gap`` hours apart."""
    events: list = []
    for unit, steps in zip(UNITS, steps_per_unit, strict=True):
        hour = 6.0
        for n, (gap, state) in enumerate(steps):
            ts = local(5, 0) + dt.timedelta(hours=hour)
            events.append(StateChange(f"{unit}:{n}", ts, unit, state))
            hour += gap
    return events


def _report(plant: Plant, events: list, node: str | None, by: GroupBy):
    query = build_query(plant, local(5, 0), local(7, 0), node, by)
    return compute_report(plant, query, by, aggregate_events(events, query))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(state_steps, min_size=2, max_size=2), scrap=st.integers(0, 5), data=st.data())
def test_kpi_invariants(mini_plant: Plant, steps, scrap: int, data) -> None:
    events = _log(steps)
    first = _report(mini_plant, events, UNITS[0], GroupBy.TOTAL)
    apt = first.total.inputs.time.apt_s
    # Counts no larger than production time allows: effectiveness <= 1 by construction.
    max_parts = int(apt // MILL_S)
    good = data.draw(st.integers(0, max_parts))
    bad = min(scrap, max_parts - good)
    events.append(
        ProductionCount(
            "count", local(5, 9), UNITS[0], "part", good=good, scrap=bad, operation="mill"
        )
    )
    report = _report(mini_plant, events, LINE, GroupBy.TOTAL)
    t, k = report.total.inputs.time, report.total.kpis

    # the time model partitions PBT exactly
    parts = t.apt_s + t.aust_s + t.adet_s + t.adot_s + t.apmt_s + t.unknown_s
    assert parts == pytest.approx(t.pbt_s)
    for name in ("availability", "quality_ratio", "oee_index", "effectiveness"):
        if k[name] is not None:
            assert 0.0 <= k[name] <= 1.0 + 1e-9, name
    if None not in (k["availability"], k["effectiveness"], k["quality_ratio"]):
        assert k["oee_index"] == pytest.approx(
            k["availability"] * k["effectiveness"] * k["quality_ratio"]
        )
    q = report.total.inputs.quantities
    assert k["oee_index"] == pytest.approx(MILL_S * q.gq / t.pbt_s)
    assert sum(report.total.losses.as_dict().values()) == pytest.approx(t.pbt_s)

    # a node's KPIs are those of its children's summed inputs, never averaged ratios
    children = [_report(mini_plant, events, unit, GroupBy.TOTAL).total.inputs for unit in UNITS]
    summed = sum(children, GroupInputs())
    rate = mini_plant.cost_rates.labour_cny_per_h
    for name, value in kpis(summed, rate).items():
        assert _same(value, k[name]), name

    # grouping by day or by equipment regroups the same inputs
    for by in (GroupBy.DAY, GroupBy.EQUIPMENT, GroupBy.SHIFT):
        grouped = _report(mini_plant, events, LINE, by)
        assert grouped.total.inputs.time.apt_s == pytest.approx(t.apt_s)
        assert grouped.total.inputs.time.pbt_s == pytest.approx(t.pbt_s)
        assert grouped.total.inputs.quantities == q


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
