"""Live roll-ups: the same answers as raw events (and DuckDB) over random windows, whatever the
order the events arrived in; late events correct the hours they touch."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factoryos.model.aggregates import AggregateQuery, GroupKey
from factoryos.model.events import EnergyReading, Event, ProductionCount, StateChange
from factoryos.model.states import MachineState
from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.postgres_store import PostgresStore
from tests.contract.test_aggregates import KEYS, A, B, C, D, calendar
from tests.pg import PG_URL, drop_schemas, new_schema, pg_unavailable, url_with_schema

pytestmark = pytest.mark.skipif(bool(pg_unavailable()), reason=pg_unavailable() or "")
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
STATES = [s.value for s in MachineState]
GROUPINGS: list[tuple[GroupKey, ...]] = [
    (),
    ("path",),
    ("local_day", "shift"),
    ("path", "local_day"),
]


@pytest.fixture(autouse=True)
def _drop() -> Iterator[None]:
    yield
    drop_schemas()


@st.composite
def plant_events(draw: st.DrawFn) -> list[Event]:
    """States (ties included), counts and energy of four units over four days, to the second."""
    events: list[Event] = []
    for path in (A, B, C, D):
        for i in range(draw(st.integers(0, 25))):
            ts = T0 + dt.timedelta(seconds=draw(st.integers(0, 4 * 86400 // 60)) * 60)
            kind = draw(st.sampled_from(["state", "state", "state", "count", "energy"]))
            eid = f"{path}#{i}"
            if kind == "state":
                reason = draw(st.sampled_from([None, "jam"]))
                events.append(
                    StateChange(eid, ts, path, MachineState(draw(st.sampled_from(STATES))), reason)
                )
            elif kind == "count":
                events.append(ProductionCount(eid, ts, path, "p1", draw(st.integers(0, 5)), 1))
            else:
                events.append(EnergyReading(eid, ts, path, draw(st.integers(0, 8)) / 4))
    return events


def batches(events: list[Event], seed: int) -> list[list[Event]]:
    """The events in 1-4 batches, in a shuffled order: late and out-of-order arrivals."""
    shuffled = events[:]
    random.Random(seed).shuffle(shuffled)
    rng = random.Random(seed + 1)
    cuts = sorted(rng.randint(0, len(shuffled)) for _ in range(3))
    bounds = [0, *cuts, len(shuffled)]
    return [shuffled[lo:hi] for lo, hi in itertools.pairwise(bounds)]


def answers(store: Any, q: AggregateQuery) -> dict[str, Any]:
    return {
        "states": {
            (r.group, r.period_kind, r.state, r.reason): r.seconds
            for r in store.state_time(q, by_reason=True)
        },
        "counts": sorted(store.count_totals(q), key=repr),
        "energy": {
            (r.group, f): getattr(r, f)
            for r in store.energy_totals(q)
            for f in ("energy_kwh", "energy_cost_cny")
        },
        "failures": {
            (r.group, f): getattr(r, f)
            for r in store.failure_totals(q)
            for f in ("failures", "failure_seconds")
        },
    }


def assert_same(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got["states"] == pytest.approx(want["states"])
    assert got["counts"] == want["counts"]
    assert got["energy"] == pytest.approx(want["energy"])
    assert got["failures"] == pytest.approx(want["failures"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=plant_events(),
    seed=st.integers(0, 1000),
    start_min=st.integers(0, 3 * 24 * 60),
    length_min=st.integers(1, 2 * 24 * 60),
    group_by=st.sampled_from(GROUPINGS),
    node=st.sampled_from(["e/s", "e/s/a/l", A]),
    odd=st.booleans(),
)
def test_rollups_answer_as_raw_events_and_duckdb(
    events: list[Event], seed: int, start_min: int, length_min: int,
    group_by: tuple[GroupKey, ...], node: str, odd: bool,
) -> None:  # fmt: skip
    start = T0 + dt.timedelta(minutes=start_min)
    q = AggregateQuery(
        start, start + dt.timedelta(minutes=length_min), node,
        calendar(dt.date(2023, 12, 31), 6, odd=odd), KEYS, group_by,
    )  # fmt: skip
    with PostgresStore(url_with_schema(new_schema()), rollups=True) as pg, DuckDBStore() as duck:
        for batch in batches(events, seed):
            pg.append(batch)
        duck.append(events)
        rolled = answers(pg, q)
        pg.rollups = False
        raw = answers(pg, q)
        assert_same(rolled, raw)
        assert_same(rolled, answers(duck, q))
    drop_schemas()


ROLLUP_TABLES = ("state_hours", "fail_hours", "count_hours", "energy_hours")


def rollup_rows(schema: str) -> dict[str, list[tuple[object, ...]]]:
    with psycopg.connect(PG_URL) as conn:
        conn.execute(f"SET search_path TO {schema}")  # type: ignore[arg-type]
        return {
            table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)  # type: ignore[arg-type]
            for table in ROLLUP_TABLES
        }


@settings(max_examples=15, deadline=None)
@given(events=plant_events(), seed=st.integers(0, 1000))
def test_late_events_leave_the_rollups_a_fresh_load_would_have(
    events: list[Event], seed: int
) -> None:
    in_order, shuffled = new_schema(), new_schema()
    with PostgresStore(url_with_schema(in_order)) as store:
        store.append(sorted(events, key=lambda e: e.ts))
        store.refresh_rollups()
    with PostgresStore(url_with_schema(shuffled)) as store:
        for n, batch in enumerate(batches(events, seed)):
            store.append(batch)
            if n % 2:  # marked hours recomputed now and then: overlapping marks merge
                store.refresh_rollups()
        store.refresh_rollups()
    assert rollup_rows(shuffled) == rollup_rows(in_order)
    drop_schemas()


def test_rollups_are_read_for_whole_hours() -> None:
    # A unit producing 06:00-14:00 with its last event later: the busy hours 06-10 come from
    # state_hours. Changing the roll-up (never done by factoryos) shows it is what is read.
    schema = new_schema()
    with PostgresStore(url_with_schema(schema), rollups=True) as store:
        store.append(
            [
                StateChange("p", T0 + dt.timedelta(hours=6), A, MachineState.PRODUCING),
                StateChange("i", T0 + dt.timedelta(hours=14), A, MachineState.IDLE),
                StateChange("o", T0 + dt.timedelta(hours=30), A, MachineState.OFF),
            ]
        )
        q = AggregateQuery(T0, T0 + dt.timedelta(days=1), A, calendar(T0.date(), 1), KEYS)
        before = {(r.period_kind, r.state): r.seconds for r in store.state_time(q)}
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"SET search_path TO {schema}")  # type: ignore[arg-type]
            conn.execute("UPDATE state_hours SET us = us / 2 WHERE hour = '2024-01-01 07:00Z'")
        after = {(r.period_kind, r.state): r.seconds for r in store.state_time(q)}
        store.rollups = False
        raw = {(r.period_kind, r.state): r.seconds for r in store.state_time(q)}
    assert before == raw
    assert after[("busy", "producing")] == before[("busy", "producing")] - 1800


@pytest.mark.parametrize("dense", [True, False])
def test_auto_reads_rollups_only_where_they_are_much_smaller(dense: bool) -> None:
    # Dense: a state change every 10 s for 4 hours (1,440 events, a few roll-up rows an hour:
    # more than ROLLUP_GAIN times fewer). Sparse: 3 events over a day (24 roll-up rows). A
    # doctored roll-up shows which is read.
    step = dt.timedelta(seconds=10) if dense else dt.timedelta(hours=8)
    count = 1440 if dense else 3
    states = [MachineState.PRODUCING, MachineState.IDLE]
    events = [
        StateChange(f"x{n}", T0 + dt.timedelta(hours=6) + n * step, A, states[n % 2])
        for n in range(count)
    ]
    events.append(StateChange("end", T0 + dt.timedelta(hours=30), A, MachineState.OFF))
    schema = new_schema()
    with PostgresStore(url_with_schema(schema)) as store:
        store.append(events)
        q = AggregateQuery(T0, T0 + dt.timedelta(days=1), A, calendar(T0.date(), 1), KEYS)
        store.refresh_rollups()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"SET search_path TO {schema}")  # type: ignore[arg-type]
            conn.execute("ANALYZE state_events, state_hours")
            conn.execute("UPDATE state_hours SET us = us / 2 WHERE hour = '2024-01-01 07:00Z'")
        auto = {(r.period_kind, r.state): r.seconds for r in store.state_time(q)}
        store.rollups = False
        raw = {(r.period_kind, r.state): r.seconds for r in store.state_time(q)}
    assert (auto != raw) is dense
