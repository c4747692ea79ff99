"""What the PostgreSQL aggregates share between the queries of one report, and when they stop."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any, Literal

import pytest

from factoryos.model.aggregates import AggregateQuery, GroupKey
from factoryos.model.events import EnergyReading, Event, ProductionCount, StateChange
from factoryos.model.states import MachineState
from factoryos.store import postgres_columns, postgres_raw_sql
from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.postgres_store import PostgresStore
from tests.contract.test_aggregates import KEYS, A, B, C, D, calendar
from tests.pg import drop_schemas, new_schema, pg_unavailable, run_sql, url_with_schema
from tests.store.test_postgres_packs import day_of, month_events, query
from tests.store.test_postgres_rollups import answers, assert_same

pytestmark = pytest.mark.skipif(bool(pg_unavailable()), reason=pg_unavailable() or "")
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _drop() -> Iterator[None]:
    yield
    drop_schemas()


def fault(n: int, hour: int) -> list[StateChange]:
    """A fault at ``hour`` that lasts 30 minutes."""
    at = T0 + dt.timedelta(hours=hour)
    return [
        StateChange(f"f{n}", at, A, MachineState.FAULT),
        StateChange(f"p{n}", at + dt.timedelta(minutes=30), A, MachineState.PRODUCING),
    ]


@pytest.mark.parametrize("rollups", [True, False])
def test_failures_summed_by_state_time_are_not_reused_after_another_writer_commits(
    rollups: bool,
) -> None:
    q = AggregateQuery(T0, T0 + dt.timedelta(days=1), A, calendar(T0.date(), 1), KEYS)
    url = url_with_schema(new_schema())
    with PostgresStore(url, rollups=rollups) as reader, PostgresStore(url) as writer:
        writer.append(fault(1, 8))
        reader.state_time(q)
        before = reader.failure_totals(q)
        reader.state_time(q)
        writer.append(fault(2, 12))
        after = reader.failure_totals(q)
    assert sum(f.failures for f in before) == 1
    assert sum(f.failure_seconds for f in before) == 1800
    assert sum(f.failures for f in after) == 2
    assert sum(f.failure_seconds for f in after) == 3600


def test_aggregates_are_planned_for_their_own_arrays_every_time() -> None:
    """A statement psycopg has prepared is never run on a plan made for any unit and tile arrays:
    on 10 M events a generic plan joined the events to their tiles in a nested loop (10x slower
    on 10 days, minutes on a year; docs/store.md). A test database this small never tempts the
    planner to a generic plan, so the setting itself is what is checked."""
    with PostgresStore(url_with_schema(new_schema())) as store:
        store.append([*fault(1, 2), *fault(2, 5)])
        q = AggregateQuery(T0, T0 + dt.timedelta(days=1), A, calendar(T0.date(), 1), KEYS)
        for _ in range(6):  # psycopg prepares from the fifth run on
            store.count_totals(q)
        mode = store._conn.execute("SHOW plan_cache_mode").fetchone()
        store._reconnect()  # a new connection is set up the same way
        again = store._conn.execute("SHOW plan_cache_mode").fetchone()
    assert mode == again == ("force_custom_plan",)


@pytest.mark.parametrize("group_by", [("local_day", "shift"), ("path",)])
def test_raw_reads_unit_by_unit_add_up_to_what_duckdb_answers(
    monkeypatch: pytest.MonkeyPatch, group_by: tuple[GroupKey, ...]
) -> None:
    """Raw reads take the units UNITS_PER_READ at a time and add up their sums; one unit a read
    (each its own index range, units between them dropped) answers as DuckDB does."""
    rng = random.Random(7)
    events: list[Event] = []
    for n in range(120):
        path = rng.choice([A, B, C, D])
        ts = T0 + dt.timedelta(minutes=rng.randrange(3 * 24 * 60))
        kind = rng.choice(["state", "state", "count", "energy"])
        if kind == "state":
            state = rng.choice(list(MachineState))
            events.append(StateChange(f"e{n}", ts, path, state, rng.choice([None, "jam"])))
        elif kind == "count":
            events.append(ProductionCount(f"e{n}", ts, path, "p1", rng.randrange(5), 1))
        else:
            events.append(EnergyReading(f"e{n}", ts, path, rng.randrange(8) / 4))
    q = AggregateQuery(
        T0 + dt.timedelta(hours=5), T0 + dt.timedelta(days=2, hours=7), "e/s",
        calendar(dt.date(2023, 12, 31), 5), KEYS, group_by,
    )  # fmt: skip
    monkeypatch.setattr(postgres_columns, "UNITS_PER_READ", 1)
    with PostgresStore(url_with_schema(new_schema()), rollups=False) as pg, DuckDBStore() as duck:
        pg.append(events)
        duck.append(events)
        assert_same(answers(pg, q), answers(duck, q))


class _CommitsBetween:
    """A store whose every aggregate call comes after another store (schema) commits."""

    def __init__(self, store: PostgresStore, other: PostgresStore) -> None:
        self.store, self.other, self.n = store, other, 0

    def __getattr__(self, name: str) -> object:
        self.n += 1
        self.other.append(fault(100 + self.n, 20))
        return getattr(self.store, name)


@pytest.mark.parametrize("rollups", ["auto", False])
def test_a_report_reads_its_window_once_whatever_other_stores_commit(
    monkeypatch: pytest.MonkeyPatch, rollups: Literal["auto"] | bool
) -> None:
    """A report's four aggregates read their window once: states, counts and energy in one
    statement, the failures summed with the states; commits of another store (schema) in
    between do not stop the reuse (``postgres_changes``: pg_current_snapshot() did)."""
    asked: list[str] = []
    real = postgres_raw_sql.read

    def counted(conn: Any, part: dict[str, Any], kinds: str, exact: bool) -> Any:
        asked.append(kinds)
        return real(conn, part, kinds, exact)

    monkeypatch.setattr(postgres_raw_sql, "read", counted)
    events = month_events(A) + month_events(B)
    schema = new_schema()
    with (
        PostgresStore(url_with_schema(schema), rollups=rollups) as pg,
        PostgresStore(url_with_schema(new_schema())) as other,
        DuckDBStore() as duck,
    ):
        pg.append(events)
        duck.append(events)
        pg.compact(day_of(3))  # days 1-3 packed, 4-5 raw
        # roll-ups of a store this sparse hold more rows than its events: once the catalog
        # knows, "auto" reads raw events
        pg.refresh_rollups()
        run_sql(schema, "ANALYZE state_events, other_events, state_hours, count_hours")
        got = answers(_CommitsBetween(pg, other), query())  # type: ignore[arg-type]
        assert asked == ["sce"]
        assert_same(got, answers(duck, query()))


def test_counts_and_energy_read_with_the_states_are_read_again_once_the_store_changed() -> None:
    url = url_with_schema(new_schema())
    events = month_events(A) + month_events(B)
    late = [
        ProductionCount("late-c", T0 + dt.timedelta(days=1, hours=3), A, "p", 5),
        EnergyReading("late-e", T0 + dt.timedelta(days=1, hours=4), A, 7.5),
        StateChange("late-s", T0 + dt.timedelta(days=1, hours=8), A, MachineState.FAULT),
    ]
    with (
        PostgresStore(url, rollups=False) as reader,
        PostgresStore(url) as writer,
        DuckDBStore() as duck,
    ):
        writer.append(events)
        duck.append(events)
        writer.compact(day_of(3))
        q = query()
        before = points(duck, q)
        reader.state_time(q, by_reason=True)  # reads the counts and energy too
        writer.append(late)  # into a packed day: a hole
        duck.append(late)
        got, want = points(reader, q), points(duck, q)
    assert got["counts"] == want["counts"] != before["counts"]
    assert got["energy"] == pytest.approx(want["energy"])
    assert got["energy"] != pytest.approx(before["energy"])
    assert got["failures"] == want["failures"] != before["failures"]


def points(store: Any, q: AggregateQuery) -> dict[str, Any]:
    """What a report asks after its states: counts, energy, failures."""
    return {
        "counts": sorted(store.count_totals(q), key=repr),
        "energy": {r.group.local_day: r.energy_kwh for r in store.energy_totals(q)},
        "failures": {
            r.group.local_day: (r.failures, r.failure_seconds) for r in store.failure_totals(q)
        },
    }
