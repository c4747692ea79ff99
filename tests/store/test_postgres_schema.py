"""The PostgreSQL schema: versions and migrations, monthly partitions on demand, indexed queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import psycopg
import pytest
from typer.testing import CliRunner

from factoryos.cli.main import app
from factoryos.model.errors import StoreError
from factoryos.model.events import EnergyReading, StateChange
from factoryos.model.states import MachineState
from factoryos.store import postgres_schema
from factoryos.store.postgres_store import PostgresStore
from tests.pg import PG_URL, drop_schemas, new_schema, pg_unavailable, url_with_schema
from tests.pg import run_sql as sql

pytestmark = pytest.mark.skipif(bool(pg_unavailable()), reason=pg_unavailable() or "")
runner = CliRunner(env={"COLUMNS": "200", "FACTORYOS_DB": ""})


@pytest.fixture
def schema() -> Iterator[str]:
    yield new_schema()
    drop_schemas()


def at(month: int, day: int = 1) -> dt.datetime:
    return dt.datetime(2024, month, day, 12, tzinfo=dt.UTC)


def test_a_fresh_schema_is_at_the_code_version(schema: str) -> None:
    with PostgresStore(url_with_schema(schema)):
        pass
    versions = sql(schema, "SELECT version FROM schema_version ORDER BY version")
    assert [v for (v,) in versions] == [m.version for m in postgres_schema.MIGRATIONS]
    with PostgresStore(url_with_schema(schema)) as again:  # opening again changes nothing
        assert again.count() == 0


def test_a_newer_schema_is_refused_with_a_clear_message(schema: str) -> None:
    url = url_with_schema(schema)
    with PostgresStore(url):
        pass
    newer = postgres_schema.CODE_VERSION + 1
    sql(schema, f"INSERT INTO schema_version (version, description) VALUES ({newer}, 'future')")
    with pytest.raises(StoreError, match=f"version {newer}, newer than this factoryos"):
        PostgresStore(url)
    result = runner.invoke(app, ["db", "upgrade", "--db", url])
    assert result.exit_code == 1
    assert "newer than this factoryos" in result.output
    assert "Traceback" not in result.output


def test_partitions_are_made_per_month_on_demand(schema: str) -> None:
    with PostgresStore(url_with_schema(schema)) as store:
        store.append([StateChange("a", at(1), "e/s/l/m", MachineState.IDLE)])
        store.append(
            [
                StateChange("b", at(3, 31), "e/s/l/m", MachineState.FAULT),
                EnergyReading("c", at(1, 2), "e/s/l/m", 1.0),
            ]
        )
    parts = sql(
        schema,
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'state_events'::regclass ORDER BY 1",
    )
    # a batch makes every month it spans (February too: cheap, and the next batch needs none)
    assert [p for (p,) in parts] == [f"state_events_p2024{m:02d}" for m in (1, 2, 3)]
    rows = sql(schema, "SELECT count(*) FROM state_events_p202403")
    assert rows == [(1,)]


def test_window_and_subtree_queries_use_partitions_and_indexes(schema: str) -> None:
    with PostgresStore(url_with_schema(schema)) as store:
        store.append(
            [StateChange(f"s{m}", at(m), f"e/s/l{m % 2}/m", MachineState.IDLE) for m in (1, 2, 3)]
        )
    plan = "\n".join(
        str(r[0])
        for r in sql(
            schema,
            "EXPLAIN SELECT * FROM state_events WHERE ts >= '2024-02-01Z' AND ts < '2024-02-10Z'",
        )
    )
    assert "state_events_p202402" in plan and "p202401" not in plan and "p202403" not in plan
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")  # type: ignore[arg-type]
        conn.execute("SET enable_seqscan = off")
        lines = conn.execute(
            "EXPLAIN SELECT * FROM state_events WHERE path >= 'e/s/l1/' AND path < 'e/s/l10' "
            "AND ts >= '2024-01-01Z' AND ts < '2024-04-01Z'"
        ).fetchall()
    plan = "\n".join(str(r[0]) for r in lines)
    assert "state_events_p202401_path_ts_idx" in plan


def test_an_older_schema_is_upgraded_keeping_its_data(schema: str) -> None:
    # A database written by factoryos at schema version 1 (no roll-ups), with two events.
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")  # type: ignore[arg-type]
        conn.execute(f"SET search_path TO {schema}")  # type: ignore[arg-type]
        postgres_schema.upgrade(conn, "v1", target=1)
        postgres_schema.create_partitions(conn, [dt.date(2024, 1, 1)])
        conn.execute("INSERT INTO event_ids VALUES ('a'), ('b')")
        conn.execute(
            "INSERT INTO state_events VALUES ('a', '2024-01-01 06:00Z', 'e/s/l/m', 'fault', NULL),"
            " ('b', '2024-01-01 08:30Z', 'e/s/l/m', 'idle', NULL)"
        )
    url = url_with_schema(schema)
    with pytest.raises(StoreError, match=r"version 1, older .* run 'factoryos db upgrade"):
        PostgresStore(url)
    result = runner.invoke(app, ["db", "upgrade", "--db", url])
    assert result.exit_code == 0, result.output
    assert "applied migration 2: hourly roll-ups" in result.output
    again = runner.invoke(app, ["db", "upgrade", "--db", url])
    assert "schema up to date" in again.output
    with PostgresStore(url) as store:
        assert store.count() == 2
    # the migration filled the roll-ups from the events already there
    hours = sql(schema, "SELECT hour, us FROM state_hours ORDER BY hour")
    assert [us for _, us in hours] == [3600_000_000, 3600_000_000, 1800_000_000]
    assert sql(schema, "SELECT entries, us FROM fail_hours") == [(1, 9000_000_000)]
