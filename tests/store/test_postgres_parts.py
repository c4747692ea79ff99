"""A batch written in parts on several connections (``PostgresStore(connections=N)``).

The parts are one transaction each: the tests check that a split batch leaves what one
transaction leaves (events, roll-ups, each unit's last state), and that a process killed between
two parts' commits, its batch replayed, stores every event once.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from factoryos.model.events import (
    EnergyReading,
    Event,
    ProductionCount,
    SensorSample,
    StateChange,
)
from factoryos.model.states import MachineState
from factoryos.store import postgres_batch
from factoryos.store.arrow import events_to_table
from factoryos.store.postgres_store import PostgresStore
from tests.pg import PG_URL, drop_schemas, new_schema, pg_unavailable, url_with_schema
from tests.store.test_postgres_concurrency import hold_id, schema_of, wait_for_lock_waiter, writer

pytestmark = pytest.mark.skipif(bool(pg_unavailable()), reason=pg_unavailable() or "")
T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
STATES = [MachineState.PRODUCING, MachineState.IDLE, MachineState.FAULT]


def mixed(n: int) -> Event:
    """Every kind an append treats apart: states (unit_last, marked hours), counts and energy
    (roll-ups added to), samples; 23 units, unevenly loaded."""
    ts = T0 + dt.timedelta(seconds=97 * n)
    path = f"p/s/a/l{n % 5}/m/{(n * n) % 23}"
    match n % 4:
        case 0:
            return StateChange(f"mx{n:07d}", ts, path, STATES[n % 3], f"r{n % 2}")
        case 1:
            return ProductionCount(f"mx{n:07d}", ts, path, f"prod{n % 2}", good=n % 5, scrap=1)
        case 2:
            return EnergyReading(f"mx{n:07d}", ts, path, 0.5)
        case _:
            return SensorSample(f"mx{n:07d}", ts, path, "temp", float(n))


@pytest.fixture
def urls() -> Iterator[tuple[str, str]]:
    yield url_with_schema(new_schema()), url_with_schema(new_schema())
    drop_schemas()


def test_by_units_cuts_between_units_into_parts_of_about_equal_size() -> None:
    batch = events_to_table([mixed(n) for n in range(9000)])
    parts = postgres_batch.by_units(batch, 2)
    assert len(parts) == 2
    units = [set(p["path"].to_pylist()) for p in parts]
    assert not units[0] & units[1]
    assert max(units[0]) < min(units[1])  # path ranges: each part one region of the index
    assert sum(p.num_rows for p in parts) == 9000
    assert all(3000 < p.num_rows < 6000 for p in parts), [p.num_rows for p in parts]
    whole = pa.concat_tables(parts)
    assert sorted(whole["event_id"].to_pylist()) == sorted(batch["event_id"].to_pylist())
    keys = list(zip(whole["path"].to_pylist(), whole["ts"].to_pylist(), strict=True))
    assert keys == sorted(keys)  # (unit, time) order: split_kinds need not sort again


def test_by_units_keeps_a_small_batch_or_a_single_unit_whole() -> None:
    small = events_to_table([mixed(n) for n in range(2 * postgres_batch.MIN_PART_ROWS - 1)])
    assert postgres_batch.by_units(small, 2) == [small]
    one_unit = events_to_table(
        [SensorSample(f"s{n}", T0 + dt.timedelta(seconds=n), "p/u", "t", 1.0) for n in range(5000)]
    )
    parts = postgres_batch.by_units(one_unit, 2)
    assert len(parts) == 1 and parts[0].num_rows == 5000


def dump(url: str) -> dict[str, list[tuple[object, ...]]]:
    """What an append leaves in a store, table by table, roll-ups refreshed."""
    with PostgresStore(url) as store:
        store.refresh_rollups()
        schema = store.url.schema
    tables = ["event_ids", "state_events", "other_events", "state_hours", "fail_hours"]
    tables += ["count_hours", "energy_hours", "unit_last"]
    with psycopg.connect(PG_URL) as conn:
        conn.execute(f"SET search_path TO {schema}")  # type: ignore[arg-type]
        return {
            name: conn.execute(f"SELECT * FROM {name} t ORDER BY t::text").fetchall()  # type: ignore[arg-type]
            for name in tables
        }


def test_a_batch_in_two_parts_leaves_what_one_transaction_leaves(
    urls: tuple[str, str],
) -> None:
    one_url, two_url = urls
    events = [mixed(n) for n in range(9000)]
    with PostgresStore(one_url) as one, PostgresStore(two_url, connections=2) as two:
        for lo in (0, 3000):  # the second batch overlaps the first: replayed ids
            batch = events_to_table(events[lo : lo + 6000])
            assert two.append(batch) == one.append(batch)
        assert two.count() == one.count() == 9000
    assert dump(two_url) == dump(one_url)


def test_a_process_killed_between_the_parts_commits_replays_into_each_event_once(
    urls: tuple[str, str],
) -> None:
    url = urls[0]
    with PostgresStore(url):  # the schema, before the writer opens its two connections
        pass
    n = 6000
    with (
        psycopg.connect(PG_URL, autocommit=True) as holder,
        psycopg.connect(PG_URL, autocommit=True) as watcher,
    ):
        # ev00000000 is the lowest unit's (e/s/a/l0/m/0): in the first part, whose insert now
        # waits on it while the second part commits
        hold_id(holder, schema_of(url), "ev00000000")
        proc = writer(url, 0, n, n, 2)
        wait_for_lock_waiter(watcher)
        watcher.execute(f"SET search_path TO {schema_of(url)}")  # type: ignore[arg-type]
        committed = 0
        for _ in range(600):  # bounded: 60 s
            row = watcher.execute("SELECT count(*) FROM event_ids").fetchone()
            committed = int(str(row[0])) if row else 0
            if committed:
                break
            time.sleep(0.1)
        proc.kill()
        proc.wait(timeout=30)
        holder.execute("ROLLBACK")
    assert 0 < committed < n, "the second part should have committed, the first not"
    replay = writer(url, 0, n, n, 2)
    out, err = replay.communicate(timeout=120)
    assert replay.returncode == 0, err
    assert out.split()[-2:] == [str(n - committed), str(committed)]
    with PostgresStore(url) as store:
        assert store.count() == n
        ids = store.events()["event_id"]
    assert len(pc.unique(ids)) == n


def test_connections_below_one_are_refused() -> None:
    with pytest.raises(Exception, match="connections must be 1 or more, not 0"):
        PostgresStore(url_with_schema(new_schema()), connections=0)


def test_by_units_makes_no_more_parts_than_the_batch_has_room_for() -> None:
    batch = events_to_table([mixed(n) for n in range(3 * postgres_batch.MIN_PART_ROWS)])
    assert len(postgres_batch.by_units(batch, 8)) == 3
