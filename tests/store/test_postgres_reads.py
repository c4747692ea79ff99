"""What the PostgreSQL aggregates share between the queries of one report, and when they stop."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

import pytest

from factoryos.model.aggregates import AggregateQuery, GroupKey
from factoryos.model.events import EnergyReading, Event, ProductionCount, StateChange
from factoryos.model.states import MachineState
from factoryos.store import postgres_columns
from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.postgres_store import PostgresStore
from tests.contract.test_aggregates import KEYS, A, B, C, D, calendar
from tests.pg import drop_schemas, new_schema, pg_unavailable, url_with_schema
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
