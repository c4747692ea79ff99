"""The server event store: PostgreSQL through psycopg 3, for several writers and many readers.

An append is one transaction: the batch (checked and de-duplicated by id in Arrow first) is
copied in binary into a session-local staging table, its ids are inserted into ``event_ids`` with
``ON CONFLICT DO NOTHING`` (so of two processes appending the same id at once, exactly one wins:
the other waits for it and skips), and the rows whose ids were new go to the partitioned event
tables. A process killed mid-batch leaves nothing: the transaction never commits. When the
connection is lost mid-append the store reconnects and replays the batch with backoff (ids make
the replay harmless), logging each retry and its outcome.

Schema and partitions: ``postgres_schema``; the aggregate SQL: ``postgres_sql``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql

from factoryos.model.aggregates import (
    AggregateQuery,
    CountTotal,
    EnergyTotal,
    FailureTotal,
    GroupValues,
    PeriodKind,
    StateTime,
)
from factoryos.model.errors import StoreError
from factoryos.model.events import COLUMN_NAMES, EVENT_COLUMNS, Event, EventKind
from factoryos.store import postgres_schema, postgres_sql
from factoryos.store.arrow import EVENT_SCHEMA, appendable
from factoryos.store.postgres_url import PostgresUrl, one_line
from factoryos.store.protocol import AppendResult

log = logging.getLogger(__name__)
T = TypeVar("T")

_OTHER = [c for c in COLUMN_NAMES if c not in ("state", "reason")]
_STAGING_TYPES = {
    "string": "text",
    "timestamp": "bigint",  # microseconds since the epoch: no datetime objects on the way in
    "int64": "bigint",
    "float64": "float8",
}
_EPOCH = "timestamptz '1970-01-01 00:00:00+00'"
_TS = f"{_EPOCH} + ts_us * interval '1 microsecond'"
_INSERT = f"""
WITH new AS (
    INSERT INTO event_ids (event_id) SELECT event_id FROM _incoming
    ON CONFLICT DO NOTHING RETURNING event_id
),
s AS (
    INSERT INTO state_events (event_id, ts, path, state, reason)
    SELECT b.event_id, {_TS}, b.path, b.state, b.reason
    FROM _incoming b JOIN new ON new.event_id = b.event_id
    WHERE b.kind = 'state'
    ORDER BY b.ts_us
    RETURNING 1
),
o AS (
    INSERT INTO other_events ({", ".join(_OTHER)})
    SELECT {", ".join(_TS if c == "ts" else "b." + c for c in _OTHER)}
    FROM _incoming b JOIN new ON new.event_id = b.event_id
    WHERE b.kind <> 'state'
    ORDER BY b.ts_us
    RETURNING 1
)
SELECT (SELECT count(*) FROM s) + (SELECT count(*) FROM o)
"""
RETRIES = 5  # reconnect-and-replay attempts after a lost connection; backoff doubles from 0.2 s


class PostgresStore:
    """An :class:`~factoryos.store.protocol.EventStore` on a PostgreSQL server.

    ``url`` is a ``postgresql://`` URL (``?schema=NAME`` picks the schema). ``upgrade=True``
    applies pending migrations instead of refusing an older schema (``factoryos db upgrade``).
    """

    def __init__(self, url: str, *, upgrade: bool = False) -> None:
        self.url = PostgresUrl.parse(url)
        self._upgrade = upgrade
        self._months: set[dt.date] = set()
        self.applied: list[str] = []  # migrations applied when opened with upgrade=True
        self._conn = self._open()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresStore({self.url.shown!r})"

    @property
    def backend_pid(self) -> int:
        """The server process serving this store (what ``pg_terminate_backend`` takes)."""
        return int(self._conn.info.backend_pid)

    def _open(self) -> psycopg.Connection[Any]:
        conn = self.url.connect()
        try:
            if self.url.schema is not None:
                name = sql.Identifier(self.url.schema)
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
                conn.execute(sql.SQL("SET search_path TO {}").format(name))
            if self._upgrade:
                _, self.applied = postgres_schema.upgrade(conn, self.url.shown)
                self._upgrade = False  # once: a reconnect only checks
            else:
                postgres_schema.prepare(conn, self.url.shown)
            conn.execute(
                sql.SQL(
                    "CREATE TEMP TABLE IF NOT EXISTS _incoming ({}) ON COMMIT DELETE ROWS"
                ).format(
                    sql.SQL(", ").join(
                        sql.SQL(f"{name} {_STAGING_TYPES[kind]}")
                        for name, kind in _staging_columns()
                    )
                )
            )
            self._months = postgres_schema.existing_months(conn)
        except psycopg.Error as exc:
            conn.close()
            raise StoreError(f"cannot prepare {self.url.shown}: {one_line(exc)}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _run(self, what: str, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        try:
            return work(self._conn)
        except psycopg.Error as exc:
            raise StoreError(f"{what} failed in {self.url.shown}: {one_line(exc)}") from exc

    # -- writing ---------------------------------------------------------------------------

    def append(self, events: Iterable[Event] | pa.Table) -> AppendResult:
        """Store events; ids already stored (or repeated within the batch) count as duplicates."""
        table = appendable(events)
        if table.num_rows == 0:
            return AppendResult(0, 0)
        batch = _first_of_each_id(table)
        rows = _copy_rows(batch)
        months = _months_of(batch)
        delay = 0.2
        for attempt in range(RETRIES + 1):
            try:
                inserted = self._append_once(rows, months)
            except psycopg.OperationalError as exc:
                if not self._conn.closed and not self._conn.broken:
                    raise StoreError(f"append failed in {self.url.shown}: {one_line(exc)}") from exc
                if attempt == RETRIES:
                    log.error(
                        "append to %s failed after %d retries: %s", self.url.shown, attempt, exc
                    )
                    raise StoreError(
                        f"append failed in {self.url.shown}: connection lost {attempt + 1} "
                        f"times: {one_line(exc)}"
                    ) from exc
                log.warning(
                    "append to %s: connection lost (%s); retry %d of %d in %.1f s",
                    self.url.shown, one_line(exc), attempt + 1, RETRIES, delay,
                )  # fmt: skip
                time.sleep(delay)
                delay *= 2
                self._reconnect()
                continue
            except psycopg.Error as exc:
                raise StoreError(f"append failed in {self.url.shown}: {one_line(exc)}") from exc
            if attempt:
                log.warning("append to %s succeeded on retry %d", self.url.shown, attempt)
            return AppendResult(inserted, table.num_rows - inserted)
        raise AssertionError("unreachable: the loop returns or raises")

    def _reconnect(self) -> None:
        try:
            self._conn.close()
        finally:
            try:
                self._conn = self._open()
            except StoreError as exc:  # the server may still be away: the next attempt retries
                log.warning("reconnect to %s failed: %s", self.url.shown, exc)

    def _append_once(self, rows: list[tuple[Any, ...]], months: set[dt.date]) -> int:
        conn = self._conn
        if conn.closed or conn.broken:
            raise psycopg.OperationalError("the connection is closed")
        if not months <= self._months:
            postgres_schema.create_partitions(conn, months)
            self._months |= months
        with conn.transaction(), conn.cursor() as cur:
            names = sql.SQL(", ").join(sql.Identifier(n) for n, _ in _staging_columns())
            with cur.copy(
                sql.SQL("COPY _incoming ({}) FROM STDIN (FORMAT BINARY)").format(names)
            ) as copy:
                copy.set_types([_STAGING_TYPES[kind] for _, kind in _staging_columns()])
                for row in rows:
                    copy.write_row(row)
            cur.execute(_INSERT)
            result = cur.fetchone()
        return int(result[0]) if result else 0

    # -- reading ---------------------------------------------------------------------------

    def events(
        self,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        node: str | None = None,
        kinds: Sequence[EventKind] | None = None,
    ) -> pa.Table:
        """Events with ``start <= ts < end`` under hierarchy ``node``, ordered by ts, path, id."""
        params: dict[str, Any] = {"start": start, "end": end}
        where = ["(%(start)s::timestamptz IS NULL OR ts >= %(start)s)"]
        where.append("(%(end)s::timestamptz IS NULL OR ts < %(end)s)")
        if node is not None:
            params.update(postgres_sql.subtree_params(node))
            where.append(postgres_sql.subtree("path"))
        wanted = (
            {k.value for k in EventKind} if kinds is None else {EventKind(k).value for k in kinds}
        )
        cond = " AND ".join(where)
        us = "(extract(epoch FROM ts) * 1000000)::bigint AS ts_us"
        parts = []
        if "state" in wanted:
            nulls = ", ".join(f"NULL AS {c}" for c in COLUMN_NAMES[6:])
            parts.append(
                f"SELECT event_id, {us}, 'state' AS kind, path, state, reason, {nulls} "
                f"FROM state_events WHERE {cond}"
            )
        others = sorted(wanted - {"state"})
        if others:
            params["kinds"] = others
            columns = ", ".join(_OTHER[4:])
            parts.append(
                f"SELECT event_id, {us}, kind, path, NULL, NULL, {columns} "
                f"FROM other_events WHERE {cond} AND kind = ANY(%(kinds)s)"
            )
        if not parts:
            return EVENT_SCHEMA.empty_table()
        query = " UNION ALL ".join(parts) + " ORDER BY ts_us, path, event_id"
        rows = self._run("events query", lambda c: c.execute(query, params).fetchall())
        values_of = list(zip(*rows, strict=True)) if rows else [()] * len(COLUMN_NAMES)
        arrays = []
        for field, values in zip(EVENT_SCHEMA, values_of, strict=True):
            if field.name == "ts":
                arrays.append(pa.array(values, pa.int64()).cast(field.type))
            else:
                arrays.append(pa.array(values, field.type))
        return pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)

    def time_range(self) -> tuple[dt.datetime, dt.datetime] | None:
        row = self._run(
            "time range query",
            lambda c: c.execute(
                "SELECT min(lo), max(hi) FROM ("
                "SELECT min(ts) AS lo, max(ts) AS hi FROM state_events UNION ALL "
                "SELECT min(ts), max(ts) FROM other_events) x"
            ).fetchone(),
        )
        if row is None or row[0] is None:
            return None
        return row[0].astimezone(dt.UTC), row[1].astimezone(dt.UTC)

    def count(self) -> int:
        row = self._run(
            "count",
            lambda c: c.execute(
                "SELECT (SELECT count(*) FROM state_events) + (SELECT count(*) FROM other_events)"
            ).fetchone(),
        )
        return int(row[0]) if row else 0

    # -- aggregates ------------------------------------------------------------------------

    def _aggregate(self, query: AggregateQuery, text: str, what: str) -> list[tuple[Any, ...]]:
        params = _query_params(query)
        return self._run(what, lambda c: c.execute(text, params).fetchall())

    def state_time(self, query: AggregateQuery, *, by_reason: bool = False) -> list[StateTime]:
        """Seconds in each state, clipped to the query window and cut by its periods."""
        text = postgres_sql.state_time_sql(query.group_by, by_reason=by_reason)
        return [
            StateTime(GroupValues(p, d, s), PeriodKind(kind), state, reason, float(seconds))
            for p, d, s, kind, state, reason, seconds in self._aggregate(query, text, "state_time")
        ]

    def failure_totals(self, query: AggregateQuery) -> list[FailureTotal]:
        """Entries into a failure state and seconds in failure states, by the period of each."""
        text = postgres_sql.failure_totals_sql(query.group_by)
        return [
            FailureTotal(GroupValues(p, d, s), int(n), float(seconds))
            for p, d, s, n, seconds in self._aggregate(query, text, "failure_totals")
        ]

    def count_totals(self, query: AggregateQuery) -> list[CountTotal]:
        text = postgres_sql.count_totals_sql(query.group_by)
        return [
            CountTotal(GroupValues(p, d, s), path, product, op, int(good), int(scrap), int(rework))
            for p, d, s, path, product, op, good, scrap, rework in self._aggregate(
                query, text, "count_totals"
            )
        ]

    def energy_totals(self, query: AggregateQuery) -> list[EnergyTotal]:
        text = postgres_sql.energy_totals_sql(query.group_by)
        return [
            EnergyTotal(GroupValues(p, d, s), float(kwh), float(cost))
            for p, d, s, kwh, cost in self._aggregate(query, text, "energy_totals")
        ]

    def close(self) -> None:
        self._conn.close()


def _staging_columns() -> list[tuple[str, str]]:
    return [("ts_us" if c.name == "ts" else c.name, c.type) for c in EVENT_COLUMNS]


def _first_of_each_id(table: pa.Table) -> pa.Table:
    """The first row of every event id, in time order (later copies are duplicates)."""
    numbered = table.append_column("_row", pa.array(range(table.num_rows), pa.int64()))
    first = numbered.group_by("event_id", use_threads=False).aggregate([("_row", "min")])
    keep = pc.sort_indices(first["_row_min"])
    rows = pc.take(first["_row_min"], keep)
    batch = table.take(rows)
    return batch.take(pc.sort_indices(batch["ts"]))


def _copy_rows(batch: pa.Table) -> list[tuple[Any, ...]]:
    columns = [
        batch[name].cast(pa.int64()).to_pylist() if name == "ts" else batch[name].to_pylist()
        for name in COLUMN_NAMES
    ]
    return list(zip(*columns, strict=True))


def _months_of(batch: pa.Table) -> set[dt.date]:
    lo_hi = pc.min_max(batch["ts"].cast(pa.int64()))
    months = {postgres_schema.month_of(lo_hi["min"].as_py())}
    last = postgres_schema.month_of(lo_hi["max"].as_py())
    month = min(months)
    while month < last:  # every month between: the batch's rows may fall in any of them
        month = postgres_schema.next_month(month)
        months.add(month)
    return months


def _query_params(query: AggregateQuery) -> dict[str, Any]:
    """The query's units and tiles as arrays; calendar keys travel as small integers."""
    keys = {p.key for p in query.periods} | set(query.calendar_key_of_path.values())
    key_ids = {key: n for n, key in enumerate(sorted(keys))}
    prefix = query.node.rstrip("/") + "/"
    units = [
        (path, key_ids[key])
        for path, key in sorted(query.calendar_key_of_path.items())
        if path == query.node.rstrip("/") or path.startswith(prefix)
    ]
    periods = sorted(query.periods, key=lambda p: (p.key, p.start))
    idx: list[int] = []
    for n, period in enumerate(periods):
        same = n > 0 and periods[n - 1].key == period.key
        idx.append(idx[-1] + 1 if same else 1)
    return {
        "start": query.start,
        "end": query.end,
        **postgres_sql.subtree_params(query.node),
        "u_path": [p for p, _ in units],
        "u_key": [k for _, k in units],
        "t_key": [key_ids[p.key] for p in periods],
        "t_idx": idx,
        "t_start": [p.start for p in periods],
        "t_end": [p.end for p in periods],
        "t_day": [p.local_day for p in periods],
        "t_shift": [p.shift for p in periods],
        "t_kind": [PeriodKind(p.kind).value for p in periods],
        "t_price": [p.price_cny_per_kwh for p in periods],
    }
