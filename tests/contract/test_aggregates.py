"""Contract: the aggregates against answers computed by hand, and two invariants.

The calendar (key ``K``, UTC, every day): off 00-06, busy 06-10, break 10-10:30, planned downtime
10:30-12, busy 12-14, off 14-24; shift ``early`` from 06 to 14. Window: 1-3 Jan 2024 (48 h).
Work units A and B on line ``l``, C on line ``l2``; D is not in the plant (never aggregated).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factoryos.kpi.from_events import aggregate_events
from factoryos.model.aggregates import (
    AggregateQuery,
    GroupKey,
    GroupValues,
    PeriodKind,
    PlannedPeriod,
    StateTime,
)
from factoryos.model.events import EnergyReading, Event, ProductionCount, StateChange
from factoryos.model.states import MachineState
from factoryos.store.protocol import EventStore

A, B, C, D = "e/s/a/l/m/1", "e/s/a/l/m/2", "e/s/a/l2/x", "e/s/a/l/ghost"
JAN1 = dt.date(2024, 1, 1)
JAN2 = dt.date(2024, 1, 2)
H = 3600.0
BUSY, BREAK, DOWN, OFF = (
    PeriodKind.BUSY,
    PeriodKind.BREAK,
    PeriodKind.PLANNED_DOWN,
    PeriodKind.OFF,
)
DAY_TILES = (  # (from hour, to hour, shift, kind)
    (0.0, 6.0, None, OFF),
    (6.0, 10.0, "early", BUSY),
    (10.0, 10.5, "early", BREAK),
    (10.5, 12.0, "early", DOWN),
    (12.0, 14.0, "early", BUSY),
    (14.0, 24.0, None, OFF),
)


def t(day: int, hour: float, month: int = 1, year: int = 2024) -> dt.datetime:
    return dt.datetime(year, month, day, tzinfo=dt.UTC) + dt.timedelta(hours=hour)


ODD_TILES = (  # boundaries off any round bucket, and a 7-minute tile
    (0.0, 6.05, None, OFF),
    (6.05, 10.0, "early", BUSY),
    (10.0, 10.1166, "early", BREAK),
    (10.1166, 12.0, "early", DOWN),
    (12.0, 13.9, "early", BUSY),
    (13.9, 24.0, None, OFF),
)


def calendar(
    first: dt.date, days: int, key: str = "K", odd: bool = False
) -> tuple[PlannedPeriod, ...]:
    tiles = []
    for n in range(days):
        day = first + dt.timedelta(days=n)
        midnight = dt.datetime.combine(day, dt.time(), dt.UTC)
        for lo, hi, shift, kind in ODD_TILES if odd else DAY_TILES:
            tiles.append(
                PlannedPeriod(
                    key,
                    midnight + dt.timedelta(hours=lo),
                    midnight + dt.timedelta(hours=hi),
                    day,
                    shift,
                    kind,
                    price_cny_per_kwh=0.5 if kind is OFF else 1.0,
                )
            )
    return tuple(tiles)


KEYS = {A: "K", B: "K", C: "K"}


def query(
    node: str = "e/s",
    group_by: tuple[GroupKey, ...] = (),
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> AggregateQuery:
    return AggregateQuery(
        start or t(1, 0), end or t(3, 0), node, calendar(dt.date(2023, 12, 31), 4), KEYS, group_by
    )


def sc(eid: str, ts: dt.datetime, path: str, state: str, reason: str | None = None) -> StateChange:
    return StateChange(eid, ts, path, MachineState(state), reason)


def count(
    eid: str,
    ts: dt.datetime,
    path: str,
    product: str,
    op: str | None,
    good: int = 0,
    scrap: int = 0,
    rework: int = 0,
) -> ProductionCount:
    return ProductionCount(eid, ts, path, product, good, scrap, rework, operation=op)


EVENTS: list[Event] = [
    # A: carried-in idle; changes straddling off/busy, break, planned downtime and midnight.
    sc("a0", t(31, 20, 12, 2023), A, "idle"),
    sc("a1", t(1, 5), A, "producing"),
    sc("a2", t(1, 7), A, "fault", "jam"),
    sc("a3", t(1, 8), A, "producing"),
    sc("a4", t(1, 11), A, "setup"),
    sc("a5", t(1, 13), A, "off"),
    sc("a6", t(2, 6.5), A, "producing"),
    sc("a7", t(2, 9), A, "fault", "jam"),
    sc("a8", t(2, 9.5), A, "fault", "motor"),  # fault -> fault: no new failure
    sc("a9", t(2, 10), A, "producing"),
    sc("a10", t(3, 1), A, "idle"),  # after the window
    # B: in a fault when the window starts (carried in, not a new failure).
    sc("b0", t(31, 23, 12, 2023), B, "fault"),
    sc("b1", t(1, 1), B, "producing"),
    sc("b2", t(1, 13.5), B, "fault"),
    sc("b3", t(1, 15), B, "producing"),
    # C: an event exactly at the window start overrides the carried-in state.
    sc("c0", t(30, 0, 12, 2023), C, "idle"),
    sc("c1", t(1, 0), C, "producing"),
    # D: not a work unit of the plant.
    sc("d0", t(1, 0), D, "producing"),
    count("ka1", t(1, 6.5), A, "p1", "op1", good=5, scrap=1),
    count("ka2", t(1, 10.25), A, "p1", "op1", good=2),
    count("ka3", t(2, 12), A, "p1", "op1", good=3, rework=1),
    count("ka4", t(2, 7), A, "p2", None, good=4),
    count("ka5", t(2, 20), A, "p1", "op1", scrap=2),
    count("kb1", t(1, 13) + dt.timedelta(seconds=3599), B, "p1", "op1", good=1),
    count("kb2", t(3, 0), B, "p1", "op1", good=100),  # window end: excluded
    count("kb3", t(31, 12, 12, 2023), B, "p1", "op1", good=100),  # before: excluded
    count("kd1", t(1, 7), D, "p1", "op1", good=100),  # not in the plant
    EnergyReading("na1", t(1, 3), A, 1.5),
    EnergyReading("na2", t(1, 7.5), A, 2.0),
    EnergyReading("nb1", t(2, 6), B, 4.0),
    EnergyReading("nc1", t(1, 12), C, 8.0),
]


@pytest.fixture
def loaded(store: EventStore) -> EventStore:
    store.append(EVENTS)
    return store


def by_kind_state(rows: list[StateTime]) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = defaultdict(float)
    for r in rows:
        out[(r.period_kind.value, r.state)] += r.seconds
    return dict(out)


A_TOTAL = {
    ("off", "idle"): 5 * H,
    ("off", "producing"): 11 * H,
    ("busy", "producing"): 7.5 * H,
    ("busy", "fault"): 2 * H,
    ("break", "producing"): 1 * H,
    ("planned_down", "producing"): 2 * H,
    ("planned_down", "setup"): 1 * H,
    ("busy", "setup"): 1 * H,
    ("busy", "off"): 1.5 * H,
    ("off", "off"): 16 * H,
}
A_JAN1 = {
    ("off", "idle"): 5 * H,
    ("off", "producing"): 1 * H,
    ("busy", "producing"): 3 * H,
    ("busy", "fault"): 1 * H,
    ("break", "producing"): 0.5 * H,
    ("planned_down", "producing"): 0.5 * H,
    ("planned_down", "setup"): 1 * H,
    ("busy", "setup"): 1 * H,
    ("busy", "off"): 1 * H,
    ("off", "off"): 10 * H,
}
A_JAN2 = {
    ("off", "off"): 6 * H,
    ("busy", "off"): 0.5 * H,
    ("busy", "producing"): 4.5 * H,
    ("busy", "fault"): 1 * H,
    ("break", "producing"): 0.5 * H,
    ("planned_down", "producing"): 1.5 * H,
    ("off", "producing"): 10 * H,
}
B_TOTAL = {
    ("off", "fault"): 2 * H,
    ("off", "producing"): 5 * H + 9 * H + 6 * H + 10 * H,
    ("busy", "producing"): 4 * H + 1.5 * H + 4 * H + 2 * H,
    ("break", "producing"): 1 * H,
    ("planned_down", "producing"): 3 * H,
    ("busy", "fault"): 0.5 * H,
}


def test_state_time_of_one_unit(loaded: EventStore) -> None:
    rows = loaded.state_time(query(node=A))
    assert by_kind_state(rows) == A_TOTAL
    assert all(r.group == GroupValues() and r.reason is None for r in rows)
    assert len(rows) == len(A_TOTAL)  # one row per (period kind, state)
    assert by_kind_state(loaded.state_time(query(node=B))) == B_TOTAL


def test_state_time_by_reason(loaded: EventStore) -> None:
    rows = loaded.state_time(query(node=A), by_reason=True)
    faults = {r.reason: r.seconds for r in rows if r.state == "fault"}
    assert faults == {"jam": 1.5 * H, "motor": 0.5 * H}
    assert {r.reason for r in rows if r.state != "fault"} == {None}


def test_state_time_by_local_day(loaded: EventStore) -> None:
    rows = loaded.state_time(query(node=A, group_by=("local_day",)))
    assert by_kind_state([r for r in rows if r.group == GroupValues(local_day=JAN1)]) == A_JAN1
    assert by_kind_state([r for r in rows if r.group == GroupValues(local_day=JAN2)]) == A_JAN2
    assert {r.group.local_day for r in rows} == {JAN1, JAN2}


def test_state_time_by_shift(loaded: EventStore) -> None:
    rows = loaded.state_time(query(node=A, group_by=("shift",)))
    for r in rows:
        assert r.group.shift == (None if r.period_kind is OFF else "early")
    early = by_kind_state([r for r in rows if r.group.shift == "early"])
    assert early == {k: v for k, v in A_TOTAL.items() if k[0] != "off"}


def test_state_time_by_path_and_day(loaded: EventStore) -> None:
    rows = loaded.state_time(query(node="e/s/a/l", group_by=("path", "local_day")))
    assert {r.group.path for r in rows} == {A, B}
    a1 = [r for r in rows if r.group == GroupValues(path=A, local_day=JAN1)]
    assert by_kind_state(a1) == A_JAN1
    b = by_kind_state([r for r in rows if r.group.path == B])
    assert b == B_TOTAL


def test_state_time_subtree_and_tie_at_window_start(loaded: EventStore) -> None:
    rows = loaded.state_time(query(node="e/s/a/l2"))
    assert by_kind_state(rows) == {
        ("off", "producing"): 32 * H,
        ("busy", "producing"): 12 * H,
        ("break", "producing"): 1 * H,
        ("planned_down", "producing"): 3 * H,
    }
    site = sum(r.seconds for r in loaded.state_time(query()))
    assert site == 3 * 48 * H  # A, B and C covered the whole window; D is not counted


def test_state_time_window_not_on_tile_edges(loaded: EventStore) -> None:
    rows = loaded.state_time(query(node=A, start=t(1, 7.5), end=t(2, 9.25)))
    got = by_kind_state(rows)
    assert got[("busy", "fault")] == 0.5 * H + 0.25 * H  # carried-in fault, cut fault
    assert got[("busy", "producing")] == 2 * H + 2.5 * H
    assert sum(got.values()) == 25.75 * H


def test_failure_totals(loaded: EventStore) -> None:
    [a] = loaded.failure_totals(query(node=A))
    assert (a.group, a.failures, a.failure_seconds) == (GroupValues(), 2, 2 * H)
    [b] = loaded.failure_totals(query(node=B))
    # the carried-in fault (00-01) counts as time, not as a failure
    assert (b.failures, b.failure_seconds) == (1, 2.5 * H)
    [both] = loaded.failure_totals(query(node="e/s/a/l"))
    assert (both.failures, both.failure_seconds) == (3, 4.5 * H)


def test_failure_totals_grouped(loaded: EventStore) -> None:
    rows = loaded.failure_totals(query(node="e/s/a/l", group_by=("path", "local_day")))
    got = {(r.group.path, r.group.local_day): (r.failures, r.failure_seconds) for r in rows}
    assert got == {
        (A, JAN1): (1, 1 * H),
        (A, JAN2): (1, 1 * H),
        (B, JAN1): (1, 2.5 * H),
    }
    rows = loaded.failure_totals(query(node=B, group_by=("shift",)))
    # seconds go to the tile holding the interval start, unclipped by periods: 13:30-15:00
    got2 = {r.group.shift: (r.failures, r.failure_seconds) for r in rows}
    assert got2 == {None: (0, 1 * H), "early": (1, 1.5 * H)}


def test_failure_totals_window_not_on_tile_edges(loaded: EventStore) -> None:
    [row] = loaded.failure_totals(query(node="e/s/a/l", start=t(1, 7.5), end=t(2, 9.25)))
    assert (row.failures, row.failure_seconds) == (2, 0.5 * H + 0.25 * H + 1.5 * H)


def test_count_totals(loaded: EventStore) -> None:
    rows = loaded.count_totals(query())
    got = {(r.path, r.product, r.operation): (r.good, r.scrap, r.rework) for r in rows}
    assert got == {
        (A, "p1", "op1"): (10, 3, 1),
        (A, "p2", None): (4, 0, 0),
        (B, "p1", "op1"): (1, 0, 0),
    }
    assert {r.group for r in rows} == {GroupValues()}


def test_count_totals_grouped(loaded: EventStore) -> None:
    rows = loaded.count_totals(query(group_by=("local_day", "shift")))
    got = {
        (r.group.local_day, r.group.shift, r.path, r.product): (r.good, r.scrap, r.rework)
        for r in rows
    }
    assert got == {
        (JAN1, "early", A, "p1"): (7, 1, 0),  # 06:30 busy and 10:15 in the break
        (JAN1, "early", B, "p1"): (1, 0, 0),  # 13:59:59, the last second of the shift
        (JAN2, "early", A, "p1"): (3, 0, 1),  # 12:00, the first instant of a busy tile
        (JAN2, "early", A, "p2"): (4, 0, 0),
        (JAN2, None, A, "p1"): (0, 2, 0),  # 20:00, off shift
    }
    rows = loaded.count_totals(query(group_by=("path",)))
    assert {r.group.path for r in rows} == {A, B}
    assert all(r.group.path == r.path for r in rows)


def test_energy_totals(loaded: EventStore) -> None:
    [line] = loaded.energy_totals(query(node="e/s/a/l"))
    assert line.energy_kwh == pytest.approx(7.5)
    assert line.energy_cost_cny == pytest.approx(1.5 * 0.5 + 2.0 + 4.0)  # off tiles cost 0.5
    [site] = loaded.energy_totals(query())
    assert site.energy_kwh == pytest.approx(15.5)
    by_path = {r.group.path: r.energy_kwh for r in loaded.energy_totals(query(group_by=("path",)))}
    assert by_path == pytest.approx({A: 3.5, B: 4.0, C: 8.0})
    by_shift = {
        (r.group.local_day, r.group.shift): r.energy_kwh
        for r in loaded.energy_totals(query(node="e/s/a/l", group_by=("local_day", "shift")))
    }
    assert by_shift == pytest.approx(
        {(JAN1, None): 1.5, (JAN1, "early"): 2.0, (JAN2, "early"): 4.0}
    )


def test_empty_results(store: EventStore) -> None:
    q = query()
    assert store.state_time(q) == []
    assert store.count_totals(q) == []
    assert store.energy_totals(q) == []
    assert store.failure_totals(q) == []


# -- invariants ---------------------------------------------------------------------------------

STATES = [s.value for s in MachineState]
WINDOW = (t(2, 0), t(4, 0))


@st.composite
def state_sequences(draw: st.DrawFn) -> list[Event]:
    events: list[Event] = []
    for path in (A, B, C):
        n = draw(st.integers(0, 12))
        minutes = draw(st.lists(st.integers(0, 4 * 24 * 60), min_size=n, max_size=n, unique=True))
        for i, m in enumerate(sorted(minutes)):
            state_ = draw(st.sampled_from(STATES))
            events.append(sc(f"{path}#{i}", t(1, 0) + dt.timedelta(minutes=m), path, state_))
    return events


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=state_sequences())
def test_state_time_covers_the_window(
    store_factory: Callable[[], EventStore], events: list[Event]
) -> None:
    store = store_factory()
    store.append(events)
    start, end = WINDOW
    q = AggregateQuery(start, end, "e/s", calendar(dt.date(2024, 1, 1), 5), KEYS)
    covered = 0.0
    for path in (A, B, C):
        first = min((e.ts for e in events if e.path == path), default=None)
        if first is not None and first < end:
            covered += (end - max(first, start)).total_seconds()
    rows = store.state_time(q)
    assert sum(r.seconds for r in rows) == pytest.approx(covered)

    by_path = store.state_time(AggregateQuery(start, end, "e/s", q.periods, KEYS, ("path",)))
    summed: dict[tuple[str, str], float] = defaultdict(float)
    for r in by_path:
        summed[(r.period_kind.value, r.state)] += r.seconds
    assert summed == pytest.approx(by_kind_state(rows))
    failures = store.failure_totals(q)
    fault_time = sum(r.seconds for r in rows if r.state == "fault")
    assert sum(f.failure_seconds for f in failures) == pytest.approx(fault_time)


KINDS_OF_ROWS = st.sampled_from(["state", "state", "count", "energy"])


@st.composite
def mixed_events(draw: st.DrawFn) -> list[Event]:
    """State changes, counts and energy readings at random minutes, ties included."""
    events: list[Event] = []
    for path in (A, B, C, D):
        n = draw(st.integers(0, 10))
        for i in range(n):
            ts = t(1, 0) + dt.timedelta(minutes=draw(st.integers(0, 4 * 24 * 60)))
            kind = draw(KINDS_OF_ROWS)
            eid = f"{path}#{i}"
            if kind == "state":
                reason = draw(st.sampled_from([None, "jam", "motor"]))
                events.append(sc(eid, ts, path, draw(st.sampled_from(STATES)), reason))
            elif kind == "count":
                good, scrap = draw(st.integers(0, 5)), draw(st.integers(0, 2))
                op = draw(st.sampled_from(["op1", None]))
                events.append(count(eid, ts, path, "p1", op, good=good, scrap=scrap))
            else:
                events.append(EnergyReading(eid, ts, path, draw(st.integers(0, 8)) / 4))
    return events


GROUPINGS: list[tuple[GroupKey, ...]] = [
    (),
    ("path",),
    ("local_day",),
    ("shift",),
    ("path", "local_day", "shift"),
]


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=mixed_events(),
    group_by=st.sampled_from(GROUPINGS),
    node=st.sampled_from(["e/s", "e/s/a/l", A]),
    start_h=st.sampled_from([24.0, 30.25, 37.5]),
    length_h=st.sampled_from([0.5, 13.75, 48.0]),
    odd=st.booleans(),
)
def test_aggregates_match_the_in_memory_definition(
    store_factory: Callable[[], EventStore],
    events: list[Event],
    group_by: tuple[GroupKey, ...],
    node: str,
    start_h: float,
    length_h: float,
    odd: bool,
) -> None:
    store = store_factory()
    store.append(events)
    start = t(1, 0) + dt.timedelta(hours=start_h)
    periods = calendar(JAN1, 5, odd=odd)
    q = AggregateQuery(start, start + dt.timedelta(hours=length_h), node, periods, KEYS, group_by)
    want = aggregate_events(events, q, by_reason=True)

    def states(rows: list[StateTime]) -> dict[object, float]:
        return {(r.group, r.period_kind, r.state, r.reason): r.seconds for r in rows}

    assert states(store.state_time(q, by_reason=True)) == pytest.approx(states(want.states))
    assert sorted(store.count_totals(q), key=repr) == sorted(want.counts, key=repr)

    def flat(rows: list[Any], *fields: str) -> dict[object, float]:
        return {(r.group, f): getattr(r, f) for r in rows for f in fields}

    energy = ("energy_kwh", "energy_cost_cny")
    assert flat(store.energy_totals(q), *energy) == pytest.approx(flat(want.energy, *energy))
    failure = ("failures", "failure_seconds")
    assert flat(store.failure_totals(q), *failure) == pytest.approx(flat(want.failures, *failure))


def test_aggregates_see_appends_between_calls(loaded: EventStore) -> None:
    q = query(node=A)
    loaded.state_time(q)
    loaded.append([sc("a-late", t(2, 13), A, "fault")])  # 13:00-14:00 busy, 14:00-24:00 off
    [row] = loaded.failure_totals(q)
    assert (row.failures, row.failure_seconds) == (3, 2 * H + 11 * H)


def test_ties_at_one_instant_follow_event_id_order(store: EventStore) -> None:
    # At 08:00 A has three events; by event id the last is "t3" (idle), so idle runs on.
    # At the window start A also has an event, tied with the carried-in fault.
    events: list[Event] = [
        sc("t0", t(31, 22, 12, 2023), A, "fault"),
        sc("t1", t(1, 0), A, "fault"),  # carried-in fault -> fault at the start: no new failure
        sc("t3", t(1, 8), A, "idle"),
        sc("t2", t(1, 8), A, "fault"),  # fault after fault (t1): no new failure either
        sc("t2b", t(1, 8), A, "producing"),
        sc("t5", t(1, 9), A, "producing"),
        sc("t4", t(1, 9), A, "fault"),  # producing (t2b... no: t3 idle) -> fault: a failure
    ]
    store.append(events)
    q = query(node=A, end=t(1, 12))
    want = aggregate_events(events, q, by_reason=False)
    got = {(r.period_kind, r.state): r.seconds for r in store.state_time(q)}
    assert got == {(r.period_kind, r.state): r.seconds for r in want.states}
    assert got[(BUSY, "idle")] == 1 * H  # 08-09 idle (t3), not producing (t2b)
    [fail] = store.failure_totals(q)
    [ref] = want.failures
    assert (fail.failures, fail.failure_seconds) == (ref.failures, ref.failure_seconds)


@st.composite
def tied_states(draw: st.DrawFn) -> list[Event]:
    """Many state events on a coarse grid: ties, ties right after ties, ties at the window start."""
    events: list[Event] = []
    for path in (A, B):
        n = draw(st.integers(1, 14))
        for i in range(n):
            ts = t(1, 0) + dt.timedelta(hours=6 * draw(st.integers(0, 9)))
            eid = draw(st.sampled_from("abcdefgh")) + f"{i:02d}"
            events.append(sc(f"{path}#{eid}", ts, path, draw(st.sampled_from(["fault", "idle"]))))
    return events


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=tied_states(), start_h=st.sampled_from([0.0, 6.0, 9.0]))
def test_ties_match_the_in_memory_definition(
    store_factory: Callable[[], EventStore], events: list[Event], start_h: float
) -> None:
    store = store_factory()
    store.append(events)
    start = t(1, 0) + dt.timedelta(hours=start_h)
    q = AggregateQuery(start, t(3, 6), "e/s", calendar(JAN1, 4), KEYS, ("path",))
    want = aggregate_events(events, q)
    got = {(r.group, r.period_kind, r.state): r.seconds for r in store.state_time(q)}
    assert got == pytest.approx({(r.group, r.period_kind, r.state): r.seconds for r in want.states})
    failures = {r.group: (r.failures, r.failure_seconds) for r in store.failure_totals(q)}
    assert failures == {r.group: (r.failures, r.failure_seconds) for r in want.failures}
