"""What the PostgreSQL aggregates share between the queries of one report, and when they stop."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from factoryos.model.aggregates import AggregateQuery
from factoryos.model.events import StateChange
from factoryos.model.states import MachineState
from factoryos.store.postgres_store import PostgresStore
from tests.contract.test_aggregates import KEYS, A, calendar
from tests.pg import drop_schemas, new_schema, pg_unavailable, url_with_schema

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
