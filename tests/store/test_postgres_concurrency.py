"""Several writers, crashes and lost connections: every event id stored once, no half batch.

The writers are real processes (``tests/store/pg_child.py``), not threads. To stop a writer in the
middle of a batch deterministically, the test holds one of the batch's ids in an open transaction
of its own: the writer's insert waits on it, visibly, in ``pg_stat_activity``.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from factoryos.store import postgres_locks
from factoryos.store.postgres_store import PostgresStore
from tests.pg import PG_URL, drop_schemas, new_schema, pg_unavailable, url_with_schema
from tests.store.pg_child import event

pytestmark = pytest.mark.skipif(bool(pg_unavailable()), reason=pg_unavailable() or "")
ROOT = Path(__file__).parents[2]


@pytest.fixture
def url() -> Iterator[str]:
    url = url_with_schema(new_schema())
    with PostgresStore(url):  # create the schema before the writers race for it
        pass
    yield url
    drop_schemas()


def writer(
    url: str, first: int, last: int, batch: int, connections: int = 1
) -> subprocess.Popen[str]:
    args = [url, *(str(a) for a in (first, last, batch, connections))]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store.pg_child", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def schema_of(url: str) -> str:
    return url.rsplit("schema=", 1)[1]


def wait_for_lock_waiter(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """The pid of a backend blocked on a lock (the writer stuck behind our held id)."""
    for _ in range(600):  # bounded: 60 s
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database() "
            "AND (query LIKE '%%INSERT INTO event_ids%%' OR query LIKE '%%COPY event_ids%%')"
        ).fetchone()
        if row is not None:
            return int(str(row[0]))
        time.sleep(0.1)
    raise AssertionError("no writer ever waited on the held id")


def hold_id(conn: psycopg.Connection[tuple[object, ...]], schema: str, event_id: str) -> None:
    conn.execute(f"SET search_path TO {schema}")  # type: ignore[arg-type]
    conn.execute("BEGIN")
    conn.execute("INSERT INTO event_ids (event_id) VALUES (%s)", (event_id,))


def test_overlapping_writers_store_each_id_once(url: str) -> None:
    # Three processes, ranges overlapping pairwise; batches of different sizes interleave.
    ranges = [(0, 6000, 700), (3000, 9000, 1000), (1500, 7500, 450)]
    procs = [writer(url, *r) for r in ranges]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        results.append(out.split()[-2:])
    inserted = sum(int(i) for i, _ in results)
    duplicates = sum(int(d) for _, d in results)
    assert inserted == 9000
    assert inserted + duplicates == sum(hi - lo for lo, hi, _ in ranges)
    with PostgresStore(url) as store:
        assert store.count() == 9000
        ids = store.events().column("event_id").to_pylist()
    assert sorted(ids) == sorted({f"ev{n:08d}" for n in range(9000)})


def test_a_writer_killed_mid_batch_leaves_nothing(url: str) -> None:
    with (
        psycopg.connect(PG_URL, autocommit=True) as holder,
        psycopg.connect(PG_URL, autocommit=True) as watcher,
    ):
        hold_id(holder, schema_of(url), "ev00004000")  # inside the one batch below
        proc = writer(url, 0, 5000, 5000)
        pid = wait_for_lock_waiter(watcher)  # rows 0..3999 are in, uncommitted
        proc.kill()
        proc.wait(timeout=30)
        holder.execute("ROLLBACK")
        for _ in range(300):  # the orphaned backend notices its client is gone and ends
            alive = watcher.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,))
            if alive.fetchone() is None:
                break
            time.sleep(0.1)
    with PostgresStore(url) as store:
        assert store.count() == 0
        assert store.append([event(n) for n in range(5000)]).inserted == 5000


def test_a_lost_connection_is_retried_and_each_event_stored_once(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = PostgresStore(url)
    results = []
    with (
        psycopg.connect(PG_URL, autocommit=True) as holder,
        psycopg.connect(PG_URL, autocommit=True) as killer,
    ):
        hold_id(holder, schema_of(url), "ev00002500")

        def stream() -> None:  # ten batches; the third waits on the held id
            for lo in range(0, 10_000, 1000):
                results.append(store.append([event(n) for n in range(lo, lo + 1000)]))

        with caplog.at_level(logging.WARNING, logger="factoryos.store.postgres_store"):
            streaming = threading.Thread(target=stream)
            streaming.start()
            assert wait_for_lock_waiter(killer) == store.backend_pid
            killer.execute("SELECT pg_terminate_backend(%s)", (store.backend_pid,))
            holder.execute("ROLLBACK")
            streaming.join(timeout=120)
    assert not streaming.is_alive()
    assert len(results) == 10
    assert sum(r.inserted for r in results) == 10_000
    assert store.count() == 10_000
    store.close()
    messages = [r.getMessage() for r in caplog.records]
    assert any("connection lost" in m and "retry 1 of" in m for m in messages), messages
    assert any("succeeded on retry 1" in m for m in messages), messages


def test_stores_in_two_schemas_do_not_wait_for_each_other(url: str) -> None:
    # Advisory locks are per database: a unit's lock in one store's schema must not hold up an
    # append to the same unit path in another store of the same database.
    other = url_with_schema(new_schema())
    path = event(1).path
    with psycopg.connect(PG_URL, autocommit=True) as holder, PostgresStore(other) as store:
        holder.execute(f"SET search_path TO {schema_of(url)}")  # type: ignore[arg-type]
        holder.execute("BEGIN")
        holder.execute(postgres_locks.LOCK_UNITS, {"units": [path]})
        holder.execute(postgres_locks.LOCK, (postgres_locks.REFRESH,))
        results = []
        appending = threading.Thread(
            target=lambda: results.extend([store.append([event(1)]), store.refresh_rollups()])
        )
        appending.start()
        appending.join(timeout=10)
        waited = appending.is_alive()
        holder.execute("ROLLBACK")  # frees a writer that waited
        appending.join(timeout=30)
    assert not waited, "the append or the refresh waited for a lock of another schema"
    assert results[0].inserted == 1
