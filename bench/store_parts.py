"""Where a PostgreSQL append's time goes: each part of ``PostgresStore.append`` on its own.

On the same generated events as ``bench/store.py`` (``--events`` of ``--units`` units over 2026,
appended in batches of ``--batch`` in time order), each part runs alone on fresh tables, as the
store does it (binary ``COPY`` built from Arrow, ids sorted, events sorted by unit and time):

  heap          the events into the two monthly-partitioned event tables, no index (the peer)
  + brin        the same with the ``ts`` BRIN indexes
  + path_ts     the same with the ``(path, ts)`` btrees
  path_ts:nodedup  the same, the btrees without deduplication (``(path, ts)`` keys are nearly
                unique, so the pass that looks for duplicates before a page splits finds none)
  ids:STYLE     the ids alone into the ``event_ids`` registry, ids of each style:
                bench ``b<n>``; random (20 hex digits of a hash, as the ingesters' ids);
                time-first (the event's instant in hex, then the hash: UUIDv7's layout)
  rollups       the count and energy roll-up deltas alone, as the append sends them (``COPY``
                into the work tables, then the upserts into ``count_hours`` and ``energy_hours``)
  store         ``PostgresStore.append`` (all of it, roll-up marks included)

and prints per part: wall seconds, the server backend's CPU seconds (this machine's server: on a
shared machine wall time is mostly waiting for a core), and the WAL it wrote per event, read back
with ``pg_walinspect`` for this session's transactions only (other sessions write WAL too), split
into records and full-page images. The registry's size against ``shared_buffers`` is printed too.

    nice -n 10 .venv/bin/python bench/store_parts.py --events 1000000 --units 50
    nice -n 10 .venv/bin/python bench/store_parts.py --events 10000000 --units 500 --parts ids
    nice -n 10 .venv/bin/python bench/store_parts.py --server plant   # config/postgresql-plant.conf
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import psycopg
import pyarrow as pa
import typer
from psycopg import sql

from factoryos.store import pgcopy, postgres_batch, postgres_schema, postgres_writes
from factoryos.store.postgres_store import PostgresStore
from store import bench_server, generate, id_style, server_cpu_s

PARTS = (
    "heap",
    "brin",
    "path_ts",
    "path_ts:nodedup",
    "ids:bench",
    "ids:random",
    "ids:time-first",
    "rollups",
    "store",
)


def copy(cur: psycopg.Cursor[Any], name: str, part: pa.Table) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
        sql.Identifier(name), sql.SQL(", ").join(sql.Identifier(c) for c in part.column_names)
    )
    with cur.copy(statement) as out:
        out.write(pgcopy.binary_copy(part))


def events_writer(conn: psycopg.Connection[Any]) -> Callable[[pa.Table], None]:
    def write(batch: pa.Table) -> None:
        months = postgres_batch.months_of(batch)
        postgres_schema.create_partitions(conn, months)
        states, others = postgres_batch.split_kinds(batch)
        with conn.transaction(), conn.cursor() as cur:
            copy(cur, "state_events", states)
            copy(cur, "other_events", others)

    return write


def ids_writer(conn: psycopg.Connection[Any]) -> Callable[[pa.Table], None]:
    def write(batch: pa.Table) -> None:
        with (
            conn.transaction(),
            conn.cursor() as cur,
            cur.copy("COPY event_ids (event_id) FROM STDIN (FORMAT binary)") as out,
        ):
            out.write(pgcopy.binary_copy(postgres_batch.sorted_ids(batch)))

    return write


def rollups_writer(conn: psycopg.Connection[Any]) -> Callable[[pa.Table], None]:
    def write(batch: pa.Table) -> None:
        _, others = postgres_batch.split_kinds(batch)
        with conn.transaction(), conn.cursor() as cur:
            for delta, add in postgres_writes.deltas_of(others):
                delta.send(cur)
                cur.execute(add)

    return write


WAL_OF = r"""
SELECT coalesce(sum(record_length), 0), coalesce(sum(fpi_length), 0)
FROM {}.pg_get_wal_records_info(%s, %s)
WHERE (regexp_match(block_ref, 'rel \d+/\d+/(\d+)'))[1]::oid = ANY(
    SELECT pg_relation_filenode(oid) FROM pg_class WHERE relnamespace = %s::regnamespace)
"""


def wal_of(admin: psycopg.Connection[Any], lo: str, hi: str, schema: str) -> tuple[int, int]:
    """Bytes of WAL (all, and full-page images of them) written to the relations of ``schema``
    between two positions: the server's WAL counters would count other sessions' too."""
    row = admin.execute(
        sql.SQL(WAL_OF).format(sql.Identifier(INSPECT)), (lo, hi, schema)
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


INSPECT = f"bench_parts_wal_{uuid.uuid4().hex[:8]}"


def run_part(
    part: str, table: pa.Table, batch: int, url: str, admin: psycopg.Connection[Any], every: int
) -> str:
    schema = f"bench_parts_{uuid.uuid4().hex[:8]}"
    scoped = f"{url}{'&' if '?' in url else '?'}schema={schema}"
    store = PostgresStore(scoped)
    conn = store._conn  # the store's own session: its schema, settings and work tables
    try:
        if part in ("heap", "brin", "path_ts", "path_ts:nodedup"):
            keep = {"brin": "_ts", "path_ts": "_path_ts"}.get(part)
            for table_name in postgres_schema.EVENT_TABLES:
                for suffix in ("_ts", "_path_ts"):
                    if suffix != keep:
                        conn.execute(
                            sql.SQL("DROP INDEX {}").format(sql.Identifier(table_name + suffix))
                        )
                if part == "path_ts:nodedup":  # the monthly partitions made later inherit it
                    conn.execute(
                        sql.SQL(
                            "CREATE INDEX {} ON {} (path, ts) WITH (deduplicate_items = off)"
                        ).format(
                            sql.Identifier(f"{table_name}_path_ts"), sql.Identifier(table_name)
                        )
                    )
            write = events_writer(conn)
        elif part.startswith("ids:"):
            table = id_style(table, part[4:])
            write = ids_writer(conn)
        elif part == "rollups":
            write = rollups_writer(conn)
        else:
            write = store.append  # type: ignore[assignment]
        pid = store.backend_pid
        wall = cpu = 0.0
        wal = fpi = 0
        inspected = 0
        for k, lo in enumerate(range(0, table.num_rows, batch)):
            piece = table.slice(lo, batch)
            at = admin.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]  # type: ignore[index]
            cpu0, began = server_cpu_s(pid), time.perf_counter()
            write(piece)
            wall += time.perf_counter() - began
            cpu += server_cpu_s(pid) - cpu0
            to = admin.execute("SELECT pg_current_wal_flush_lsn()").fetchone()[0]  # type: ignore[index]
            if k % every == 0:
                w, f = wal_of(admin, at, to, schema)
                wal, fpi, inspected = wal + w, fpi + f, inspected + piece.num_rows
        size = conn.execute(
            "SELECT pg_relation_size('event_ids_pkey'), "
            "(SELECT sum(pg_relation_size(c.oid)) FROM pg_class c "
            " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'i' "
            " AND c.relname LIKE '%%path_ts%%')"
        ).fetchone()
        n = table.num_rows
        return (
            f"{part:<16} {wall:8.1f} {n / wall:10,.0f} {cpu:8.1f} {wal / inspected:9.0f} "
            f"{fpi / inspected:9.0f}"
            f" {(size[0] or 0) / 2**20:8.0f} {(size[1] or 0) / 2**20:8.0f}"  # type: ignore[index]
        )
    finally:
        store.close()
        admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def main(
    events: Annotated[int, typer.Option(help="Events to generate.")] = 1_000_000,
    units: Annotated[int, typer.Option(help="Work units (in 25 lines).")] = 50,
    batch: Annotated[int, typer.Option(help="Events per append.")] = 100_000,
    parts: Annotated[
        list[str] | None, typer.Option(help=f"Parts to run: {', '.join(PARTS)}.")
    ] = None,
    wal_every: Annotated[int, typer.Option(help="Read the WAL of every n-th batch.")] = 1,
    url: str = "postgresql://postgres@127.0.0.1:5432/test",
    server: Annotated[
        str, typer.Option(help="'url': the --url server; 'plant': a throwaway cluster.")
    ] = "url",
) -> None:
    """Wall, server CPU and WAL per event of each part of a PostgreSQL append."""
    with bench_server(server, url) as server_url:
        measure(events, units, batch, parts, wal_every, server_url)


def measure(
    events: int, units: int, batch: int, parts: list[str] | None, wal_every: int, url: str
) -> None:
    table = generate(events, units, 1)
    admin = psycopg.connect(url, autocommit=True)
    buffers = admin.execute("SHOW shared_buffers").fetchone()[0]  # type: ignore[index]
    print(f"{events:,} events of {units} units, batches of {batch:,}; shared_buffers {buffers}")
    print(
        f"{'part':<16} {'wall s':>8} {'events/s':>10} {'srv cpu':>8} {'WAL B/ev':>9} "
        f"{'FPI B/ev':>9} {'ids MB':>8} {'pathts MB':>8}"
    )
    admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(INSPECT)))
    try:
        admin.execute(
            sql.SQL("CREATE EXTENSION pg_walinspect SCHEMA {}").format(sql.Identifier(INSPECT))
        )
        for part in parts or PARTS:
            print(run_part(part, table, batch, url, admin, wal_every), flush=True)
    finally:
        admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(INSPECT)))
    print(f"load average: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    typer.run(main)
