"""The embedded event store: one DuckDB file (or memory), no server.

State events, the bulk of any plant's data and the KPI engine's hot path, live in their own narrow
table ``state_events(event_id, ts, path, state, reason)``; sensor samples, the bulk of live
ingest, in ``sample_events(event_id, ts, path, sensor, value, unit)`` (a sample that fills a
column of the other kinds stays in the long table); every other kind lives in the long table
``other_events`` with the canonical columns. An event id is unique across the tables. A file made
before ``sample_events`` keeps its samples in ``other_events``, where they are read as before.

Appends go through Arrow. The duplicate check is an in-memory set of the stored ids' 64-bit keys
(``factoryos.store.duckdb_keys``), built from the tables when the store is opened: a batch's ids
whose keys it lacks are new; the few it may hold (a redelivered batch, or rarely another id with
the same key) are looked up in the tables. The new rows are inserted sorted by ts so that
DuckDB's per-row-group min/max lets time-window queries skip old data (docs/store.md has the
figures of the check). The aggregates are single SQL statements (``factoryos.store.duckdb_sql``).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

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
from factoryos.model.events import COLUMN_NAMES, Event, EventKind
from factoryos.store import duckdb_sql
from factoryos.store.arrow import EVENT_SCHEMA, appendable, in_time_order, utc_us
from factoryos.store.duckdb_keys import KEY_SQL, Keys, KeySet, distinct
from factoryos.store.protocol import AppendResult

_OTHER_COLUMNS = [c for c in COLUMN_NAMES if c not in ("state", "reason")]
_STATE_COLUMNS = ["event_id", "ts", "path", "state", "reason"]
_SAMPLE_COLUMNS = ["event_id", "ts", "path", "sensor", "value", "unit"]
# A sample is stored in the narrow table when these (the other kinds' columns) are empty: six
# columns written instead of fifteen cost a third less of DuckDB's insert, WAL and checkpoint.
_NOT_SAMPLE = [c for c in _OTHER_COLUMNS if c not in _SAMPLE_COLUMNS and c != "kind"]
_TABLES = ("state_events", "sample_events", "other_events")
_COLUMNS = (_STATE_COLUMNS, _SAMPLE_COLUMNS, _OTHER_COLUMNS)


# Of a batch's ids whose key the key set may hold (a redelivery, or rarely another id with the
# same key), those stored: only these few are looked up in the tables.
_STORED = " UNION ALL ".join(
    f"SELECT event_id FROM {t} WHERE event_id IN (SELECT event_id FROM _maybe)" for t in _TABLES
)
_COUNT = "SELECT " + " + ".join(f"(SELECT count(*) FROM {t})" for t in _TABLES)
# The keys of the stored ids and of a batch's (``{key}``: KEY_SQL, read when run, so that a test
# can put a key with collisions in its place).
_STORED_KEYS = " UNION ALL ".join(f"SELECT {{key}} AS key FROM {t}" for t in _TABLES)
_BATCH_KEYS = "SELECT {key} AS key FROM _incoming"
# The new rows of a table, one per id (``_DISTINCT`` when the batch repeats an id), sorted by
# time (``_BY_TS``, unless they came in order: a live batch mostly does).
_INSERT = "INSERT INTO {0} SELECT {1} FROM {2} {3}"
_BY_TS = "ORDER BY ts"
_DISTINCT = "(SELECT DISTINCT ON (event_id) * FROM {0})"
# The key table of earlier versions (an ART index of 64 bits of each id's MD5), replaced by the
# in-memory key set: dropped when such a file is opened.
_OLD_KEY_TABLE = "DROP TABLE IF EXISTS event_keys"
# The file's layout, so that a factoryos older than the file refuses it rather than read part of
# it (one made before ``sample_events`` would not see the samples there). 1: files without the
# mark (state and other tables); 2: ``sample_events``. Files without the mark are 1 and are
# brought to 2 by the CREATE IF NOT EXISTS above: nothing moves.
SCHEMA = 2
_SCHEMA_TABLE = "CREATE TABLE IF NOT EXISTS factoryos_schema (version INTEGER NOT NULL)"


def _sql_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ"
    if pa.types.is_int64(arrow_type):
        return "BIGINT"
    if pa.types.is_float64(arrow_type):
        return "DOUBLE"
    return "VARCHAR"


def _ddl() -> str:
    other = ",\n    ".join(
        f"{f.name} {_sql_type(f.type)}{'' if f.nullable else ' NOT NULL'}"
        for f in EVENT_SCHEMA
        if f.name in _OTHER_COLUMNS
    )
    return f"""
CREATE TABLE IF NOT EXISTS state_events (
    event_id VARCHAR NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    path VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    reason VARCHAR
);
CREATE TABLE IF NOT EXISTS sample_events (
    event_id VARCHAR NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    path VARCHAR NOT NULL,
    sensor VARCHAR,
    value DOUBLE,
    unit VARCHAR
);
CREATE TABLE IF NOT EXISTS other_events (
    {other}
);
"""


def _check_schema(con: duckdb.DuckDBPyConnection, path: str) -> int | None:
    """The file's layout number (None: a file of before the mark, or a new one); a newer
    one than this code's is refused."""
    con.execute(_SCHEMA_TABLE)
    row = con.execute("SELECT max(version) FROM factoryos_schema").fetchone()
    found: int | None = row[0] if row else None
    if found is not None and found > SCHEMA:
        raise StoreError(
            f"cannot open DuckDB store {path!r}: it was written by a newer factoryos (file "
            f"schema {found}, this version reads up to {SCHEMA}); upgrade factoryos to read it"
        )
    return found


def _mark_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DELETE FROM factoryos_schema")
    con.execute("INSERT INTO factoryos_schema VALUES (?)", [SCHEMA])


def _subtree_filter(node: str | None, params: dict[str, Any]) -> str:
    """SQL condition for ``path`` being ``node`` or below it (starts_with: no LIKE wildcards)."""
    if node is None:
        return "TRUE"
    params["node"] = node
    params["prefix"] = node.rstrip("/") + "/"
    return "(path = $node OR starts_with(path, $prefix))"


class DuckDBStore:
    """An :class:`~factoryos.store.protocol.EventStore` in one DuckDB file, or ``":memory:"``."""

    def __init__(self, path: str | Path = ":memory:", *, threads: int | None = None) -> None:
        """``threads``: DuckDB's worker threads (default: one per core). Many small stores run
        side by side (the programme's city sweep) want 1: on a busy machine DuckDB's threads
        contend with each other and the other processes, and a small query pays for it twice."""
        self.path = str(path)
        self._lock = threading.RLock()
        self._version = 0  # bumped by every append that stores something
        self._failures_of: tuple[AggregateQuery, int, list[FailureTotal]] | None = None
        self._tables_of: tuple[Any, Any, str, pa.Table, pa.Table] | None = None
        self._keys = KeySet()
        self._stored = 0  # the events the key set was built from, and added since
        try:
            self._con = duckdb.connect(self.path)
            self._con.execute("SET TimeZone = 'UTC'")
            if threads is not None:
                self._con.execute(f"SET threads = {int(threads)}")
            found = _check_schema(self._con, self.path)
            self._con.execute(_ddl())
            self._con.execute(_OLD_KEY_TABLE)
            if found != SCHEMA:  # written once, not at every open
                _mark_schema(self._con)
            self._keep_keys(self._con)
        except duckdb.IOException as exc:
            if "Conflicting lock" not in str(exc):
                raise StoreError(f"cannot open DuckDB store {self.path!r}: {exc}") from exc
            # DuckDB allows one writing process per file: say so, and what to do instead.
            holder = re.search(r"\(PID (\d+)\)", str(exc))
            who = f" (the other writer is pid {holder.group(1)})" if holder else ""
            raise StoreError(
                f"cannot open DuckDB store {self.path!r}: the file is open for writing by another "
                f"process; use PostgreSQL for several writers{who}"
            ) from exc
        except duckdb.Error as exc:
            raise StoreError(f"cannot open DuckDB store {self.path!r}: {exc}") from exc

    def __enter__(self) -> DuckDBStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DuckDBStore({self.path!r})"

    @contextmanager
    def _guard(self, what: str) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            try:
                yield self._con
            except duckdb.Error as exc:
                raise StoreError(f"{what} failed in {self!r}: {exc}") from exc

    # -- writing ---------------------------------------------------------------------------

    def append(self, events: Iterable[Event] | pa.Table) -> AppendResult:
        """Store events; ids already stored (or repeated within the batch) count as duplicates."""
        table = appendable(events)
        if table.num_rows == 0:
            return AppendResult(0, 0)
        with self._guard("append") as con:
            con.register("_incoming", table)
            try:
                con.execute("BEGIN TRANSACTION")
                self._keep_keys(con)
                keys = con.sql(_BATCH_KEYS.format(key=KEY_SQL)).fetchnumpy()["key"]
                fresh, unique = self._unstored(con, table, keys)
                inserted = 0
                parts = _by_table(fresh)
                for target, columns, rows in zip(_TABLES, _COLUMNS, parts, strict=True):
                    if rows.num_rows:
                        # a live batch (all new, of one table) is read where it is registered
                        source = "_incoming" if rows is table else "_rows"
                        if rows is not table:
                            con.register("_rows", rows)
                        sql = _INSERT.format(
                            target,
                            ", ".join(columns),
                            source if unique else _DISTINCT.format(source),
                            "" if in_time_order(rows["ts"]) else _BY_TS,
                        )
                        inserted += int(con.execute(sql).fetchall()[0][0])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            finally:
                for name in ("_incoming", "_maybe", "_rows"):
                    con.unregister(name)
            # committed: every id of the batch is stored now (new, or stored before)
            self._keys.add(keys)
            self._stored += inserted
        if inserted:
            self._version += 1
        return AppendResult(inserted, table.num_rows - inserted)

    def _unstored(
        self, con: duckdb.DuckDBPyConnection, table: pa.Table, keys: Keys
    ) -> tuple[pa.Table, bool]:
        """The rows of ``table`` whose ids are not stored, and whether their ids are known to be
        unique in the batch (then the insert needs no ``DISTINCT ON``, ~30 % of its cost)."""
        unique = distinct(keys)  # distinct keys: distinct ids
        if not unique:
            unique = pc.count_distinct(table["event_id"]).as_py() == table.num_rows
        maybe = self._keys.maybe(keys)
        if not maybe.any():  # a live batch: every key new, so every id
            return table, unique
        # a redelivery, or another id's key: the tables are looked up for these ids only
        con.register("_maybe", table.select(["event_id"]).filter(maybe))
        stored = con.sql(_STORED).to_arrow_table()["event_id"]
        return table.filter(pc.invert(pc.is_in(table["event_id"], stored))), unique

    def _keep_keys(self, con: duckdb.DuckDBPyConnection) -> None:
        """Build the key set again from the stored ids when the store holds another count of
        events than this store put there: at open, or after another writer (another store
        object on the same file in this process; DuckDB lets one process write a file)."""
        counted = int(con.execute(_COUNT).fetchall()[0][0])
        if counted == self._stored:
            return
        stored = con.sql(_STORED_KEYS.format(key=KEY_SQL)).fetchnumpy()["key"]
        self._keys = KeySet(2 * len(stored))
        self._keys.add(stored)
        self._stored = counted

    # -- reading ---------------------------------------------------------------------------

    def events(
        self,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        node: str | None = None,
        kinds: Sequence[EventKind] | None = None,
    ) -> pa.Table:
        """Events with ``start <= ts < end`` under hierarchy ``node``, ordered by ts, path, id."""
        params: dict[str, Any] = {}
        where = [_subtree_filter(node, params)]
        if start is not None:
            params["start_us"] = utc_us(start)
            where.append("ts >= make_timestamptz($start_us)")
        if end is not None:
            params["end_us"] = utc_us(end)
            where.append("ts < make_timestamptz($end_us)")
        wanted = None if kinds is None else {EventKind(k).value for k in kinds}
        parts = []
        cond = " AND ".join(where)
        for kind, table, columns in (
            ("state", "state_events", _STATE_COLUMNS),
            ("sample", "sample_events", _SAMPLE_COLUMNS),
        ):
            if wanted is None or kind in wanted:
                parts.append(f"SELECT {_canonical(columns, kind)} FROM {table} WHERE {cond}")
        # every kind but state: samples too (of files made before ``sample_events``, and those
        # that fill another kind's column)
        other_kinds = sorted((wanted or {k.value for k in EventKind}) - {"state"})
        if other_kinds:
            params["kinds"] = other_kinds
            parts.append(
                f"SELECT {_canonical(_OTHER_COLUMNS)} FROM other_events "
                f"WHERE {cond} AND list_contains($kinds, kind)"
            )
        if not parts:
            return EVENT_SCHEMA.empty_table()
        sql = (
            f"SELECT {', '.join(COLUMN_NAMES)} FROM ("
            + " UNION ALL BY NAME ".join(parts)
            + ") ORDER BY ts, path, event_id"
        )
        with self._guard("events query") as con:
            table = con.sql(sql, params=params or None).to_arrow_table()
        return table.cast(EVENT_SCHEMA)

    def time_range(self) -> tuple[dt.datetime, dt.datetime] | None:
        with self._guard("time range query") as con:
            table = con.sql(
                "SELECT min(lo) AS lo, max(hi) AS hi FROM ("
                + " UNION ALL ".join(
                    f"SELECT min(ts) AS lo, max(ts) AS hi FROM {t}" for t in _TABLES
                )
                + ")"
            ).to_arrow_table()
        lo, hi = table["lo"][0].as_py(), table["hi"][0].as_py()
        if lo is None or hi is None:
            return None
        return lo.astimezone(dt.UTC), hi.astimezone(dt.UTC)

    def count(self) -> int:
        with self._guard("count") as con:
            rows = con.execute(_COUNT).fetchall()
        return int(rows[0][0])

    # -- aggregates ------------------------------------------------------------------------

    def _aggregate(
        self, query: AggregateQuery, sql: str, what: str, **extra: int
    ) -> list[tuple[Any, ...]]:
        units, tiles = self._tables(query)
        params = {"start_us": utc_us(query.start), "end_us": utc_us(query.end), **extra}
        with self._guard(what) as con:
            con.register("_units", units)
            con.register("_tiles", tiles)
            try:
                return con.execute(sql, params).fetchall()
            finally:
                con.unregister("_units")
                con.unregister("_tiles")

    def _tables(self, query: AggregateQuery) -> tuple[pa.Table, pa.Table]:
        """The query's units and tiles as Arrow tables; the last ones are kept, since the
        aggregates of one report (and of a server's repeated window) share their periods."""
        kept = self._tables_of
        if (
            kept is not None
            and kept[0] is query.periods
            and kept[1] is query.calendar_key_of_path
            and kept[2] == query.node
        ):
            return kept[3], kept[4]
        # Calendar keys travel as small integers: narrower rows in the window, cheaper joins.
        key_ids = _key_ids(query)
        units = _units_table(query, key_ids)
        tiles = _tiles_table(query, key_ids)
        self._tables_of = (query.periods, query.calendar_key_of_path, query.node, units, tiles)
        return units, tiles

    def state_time(self, query: AggregateQuery, *, by_reason: bool = False) -> list[StateTime]:
        """Seconds in each state, clipped to the query window and cut by its periods.

        Only time covered by state events counts: before a unit's first state event there is
        no row (the KPI engine sees that time as unknown: the tile's length minus the rows).
        The same pass sums failures; a following ``failure_totals`` of the same query object
        (with no append in between) returns them without a second pass.
        """
        rows = self._state_rows(query, by_reason=by_reason, states=True)
        self._failures_of = (query, self._version, _failure_rows(rows))
        return [
            StateTime(GroupValues(p, d, s), PeriodKind(kind), state, reason, float(seconds))
            for section, p, d, s, kind, state, reason, seconds, _ in rows
            if section == "s"
        ]

    def failure_totals(self, query: AggregateQuery) -> list[FailureTotal]:
        """Entries into a failure state and seconds in failure states, by the period of each."""
        cached = self._failures_of
        if cached is not None and cached[0] is query and cached[1] == self._version:
            return list(cached[2])
        return _failure_rows(self._state_rows(query, by_reason=False, states=False))

    def _state_rows(
        self, query: AggregateQuery, *, by_reason: bool, states: bool
    ) -> list[tuple[Any, ...]]:
        """Rows of ``state_sql``: the fast form, or the exact one when ties need ordering."""
        extra = {"bucket_us": _bucket_us(query)} if states else {}
        what = "state_time" if states else "failure_totals"
        for exact in (False, True):
            sql = duckdb_sql.state_sql(
                query.group_by, by_reason=by_reason, states=states, failures=True, exact=exact
            )
            rows = self._aggregate(query, sql, what, **extra)
            if not any(row[0] == "t" and row[-1] for row in rows):
                break
        return [row for row in rows if row[0] != "t"]

    def count_totals(self, query: AggregateQuery) -> list[CountTotal]:
        rows = self._aggregate(query, duckdb_sql.count_totals_sql(query.group_by), "count_totals")
        return [
            CountTotal(GroupValues(p, d, s), path, product, operation, good, scrap, rework)
            for p, d, s, path, product, operation, good, scrap, rework in rows
        ]

    def energy_totals(self, query: AggregateQuery) -> list[EnergyTotal]:
        rows = self._aggregate(query, duckdb_sql.energy_totals_sql(query.group_by), "energy_totals")
        return [
            EnergyTotal(GroupValues(p, d, s), float(kwh), float(cost))
            for p, d, s, kwh, cost in rows
        ]

    def close(self) -> None:
        with self._lock:
            self._con.close()


def _canonical(columns: list[str], kind: str | None = None) -> str:
    """A select list of the canonical columns from a table of ``columns`` (the rest NULL);
    ``kind``: the kind of a table of one kind, which has no kind column."""
    return ", ".join(
        f"'{kind}' AS kind"
        if f.name == "kind" and kind is not None
        else f.name
        if f.name in columns
        else f"NULL::{_sql_type(f.type)} AS {f.name}"
        for f in EVENT_SCHEMA
    )


def _by_table(rows: pa.Table) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The rows of ``state_events``, ``sample_events`` and ``other_events``, in that order of
    precedence: an id that two kinds use in one batch is stored once, as its first. A batch
    of plain samples (a live one) is not copied by a filter."""
    empty = rows.slice(0, 0)
    if _plain_samples(rows):
        return empty, rows, empty
    is_state = pc.equal(rows["kind"], "state")
    is_sample = pc.equal(rows["kind"], "sample")
    for column in _NOT_SAMPLE:
        is_sample = pc.and_(is_sample, pc.is_null(rows[column]))
    is_other = pc.invert(pc.or_(is_state, is_sample))
    parts = []
    taken: pa.ChunkedArray | None = None  # ids of the parts before
    for mask in (is_state, is_sample, is_other):
        n = pc.sum(mask).as_py() or 0
        part = rows if n == rows.num_rows else rows.filter(mask) if n else empty
        if n and taken is not None and len(taken):
            part = part.filter(pc.invert(pc.is_in(part["event_id"], taken)))
        parts.append(part)
        if n:
            ids = part["event_id"]
            taken = ids if taken is None else pa.chunked_array(taken.chunks + ids.chunks)
    return parts[0], parts[1], parts[2]


def _plain_samples(rows: pa.Table) -> bool:
    """Whether every row is a sample with the other kinds' columns empty (null counts are
    known without a pass over the rows; the kinds are one comparison)."""
    n = rows.num_rows
    if any(rows[c].null_count != n for c in _NOT_SAMPLE):
        return False
    return bool(pc.all(pc.equal(rows["kind"], "sample")).as_py())


def _failure_rows(rows: list[tuple[Any, ...]]) -> list[FailureTotal]:
    return [
        FailureTotal(GroupValues(p, d, s), int(failures), float(seconds))
        for section, p, d, s, _, _, _, seconds, failures in rows
        if section == "f"
    ]


def _bucket_us(query: AggregateQuery) -> int:
    """Bucket length for tile lookups: about the shorter tiles' length, 1 min to 1 h.

    Buckets much longer than tiles would leave few slots (buckets inside one tile); much shorter
    ones make many slots. Any length gives the same answer, only at another speed.
    """
    if not query.periods:
        return 3_600_000_000
    lengths = sorted((p.end - p.start).total_seconds() for p in query.periods)
    typical = lengths[len(lengths) // 10]
    minutes = int(min(max(typical, 60.0), 3600.0) // 60)
    return minutes * 60_000_000


def _key_ids(query: AggregateQuery) -> dict[str, int]:
    keys = {p.key for p in query.periods} | set(query.calendar_key_of_path.values())
    return {key: n for n, key in enumerate(sorted(keys))}


def _units_table(query: AggregateQuery, key_ids: dict[str, int]) -> pa.Table:
    """The work units under ``query.node`` with their calendar keys."""
    prefix = query.node.rstrip("/") + "/"
    items = [
        (path, key)
        for path, key in query.calendar_key_of_path.items()
        if path == query.node or path.startswith(prefix)
    ]
    return pa.table(
        {
            "path": pa.array([p for p, _ in items], pa.string()),
            "key": pa.array([key_ids[k] for _, k in items], pa.int32()),
        }
    )


def _tiles_table(query: AggregateQuery, key_ids: dict[str, int]) -> pa.Table:
    """The query's planned periods, ranked per key by start (``idx`` from 1)."""
    periods = sorted(query.periods, key=lambda p: (p.key, p.start))
    idx: list[int] = []
    previous_key: str | None = None
    rank = 0
    for period in periods:
        rank = rank + 1 if period.key == previous_key else 1
        previous_key = period.key
        idx.append(rank)
    return pa.table(
        {
            "key": pa.array([key_ids[p.key] for p in periods], pa.int32()),
            "idx": pa.array(idx, pa.int64()),
            "start_us": pa.array([utc_us(p.start) for p in periods], pa.int64()),
            "end_us": pa.array([utc_us(p.end) for p in periods], pa.int64()),
            "local_day": pa.array([p.local_day for p in periods], pa.date32()),
            "shift": pa.array([p.shift for p in periods], pa.string()),
            "kind": pa.array([PeriodKind(p.kind).value for p in periods], pa.string()),
            "price": pa.array([p.price_cny_per_kwh for p in periods], pa.float64()),
        }
    )
