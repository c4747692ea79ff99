"""The server event store: PostgreSQL through psycopg 3, for several writers and many readers.

An append is one transaction, with no staging table for the events: the batch is checked and
de-duplicated by id in Arrow, its units are locked, its ids are ``COPY``ed in order into
``event_ids`` (in a savepoint: when one is stored already, ``ON CONFLICT DO NOTHING`` over the
staged ids names the duplicates instead; of two processes appending the same id at once exactly
one stores it, the other waits for it and skips it), the new events are ``COPY``ed into their
tables and the roll-up deltas Arrow grouped are added. A process killed mid-batch leaves
nothing: the transaction never commits. When the connection is lost mid-append the store
reconnects and replays the batch with backoff (ids make the replay harmless), logging each
retry and its outcome.

With ``connections=N`` (the live ingester) a big batch is cut by units into N parts, written at
once on N connections, one transaction each: the server's index work, most of an append, runs
on N cores, and one part's Arrow work in the client overlaps another's ``COPY``.

Schema and partitions: ``postgres_schema``; aggregates from raw events: ``postgres_columns``, from
roll-ups: ``postgres_rollup_sql``.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent import futures
from typing import Any, Literal, TypeVar

import psycopg
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
from factoryos.store import (
    pgcopy,
    postgres_batch,
    postgres_columns,
    postgres_locks,
    postgres_packs,
    postgres_raw_sql,
    postgres_retention,
    postgres_rollup_sql,
    postgres_rollups,
    postgres_schema,
    postgres_sql,
    postgres_writes,
)
from factoryos.store.arrow import EVENT_SCHEMA, appendable
from factoryos.store.postgres_url import PostgresUrl, one_line
from factoryos.store.protocol import AppendResult

log = logging.getLogger(__name__)
T = TypeVar("T")

_OTHER = [c for c in COLUMN_NAMES if c not in ("state", "reason")]
# Taken when some ids of a batch are stored already (the optimistic COPY of the ids hit one):
# the ids are inserted skipping those, and the row numbers of the duplicates come back.
_KEEP_NEW = """
WITH new AS (
    INSERT INTO event_ids (event_id) SELECT event_id FROM _ids ORDER BY event_id
    ON CONFLICT DO NOTHING RETURNING event_id
)
SELECT i.n FROM _ids i WHERE NOT EXISTS (SELECT 1 FROM new WHERE new.event_id = i.event_id)
"""
_COPY_IDS = "COPY event_ids (event_id) FROM STDIN (FORMAT binary)"
MAX_SEGMENT_PROBES = 20_000  # unit x raw segment pairs beyond which raw events are cheaper
# "auto" reads roll-ups when they hold this many times fewer rows than the events: a rolled
# window costs an index probe per unit and rolled hour and per raw segment, a raw one a range
# scan per unit, now returned as arrays (postgres_columns). Measured with raw reads as arrays
# (bench/store.py, line x month by day, quiet machine): 1 M events of 50 units p50 15.4 ms raw
# against 65.0 ms from roll-ups, 10 M of 500 units 79 against 343 ms; a gain of 4 still sent
# the point roll-ups of the 10 M store to the slower path (auto p50 89 ms).
ROLLUP_GAIN = 20
RETRIES = 5  # reconnect-and-replay attempts after a lost connection; backoff doubles from 0.2 s


class PostgresStore:
    """An :class:`~factoryos.store.protocol.EventStore` on a PostgreSQL server.

    ``url`` is a ``postgresql://`` URL (``?schema=NAME`` picks the schema). ``upgrade=True``
    applies pending migrations instead of refusing an older schema (``factoryos db upgrade``).
    ``rollups`` picks what the aggregates read: ``"auto"`` (the default) reads roll-ups where
    they hold several times fewer rows than the events they summarise (catalog statistics:
    hourly roll-ups of a unit with two events an hour hold more rows than its events, and raw
    reads win; a unit sampled each second has thousands of events an hour), ``True``
    reads them wherever the window allows, ``False`` reads raw events only (the roll-ups are
    maintained all the same): the reference the roll-up answers are tested against. Months whose
    raw events expired are read from roll-ups unless ``False``. ``connections`` above 1 writes
    a big batch in that many parts at once, one transaction each (the module docstring; the
    live ingester's choice, so that a batch's server work runs on several cores).
    """

    def __init__(
        self,
        url: str,
        *,
        upgrade: bool = False,
        rollups: bool | Literal["auto"] = "auto",
        connections: int = 1,
    ) -> None:
        if connections < 1:
            raise StoreError(f"connections must be 1 or more, not {connections}")
        self.url = PostgresUrl.parse(url)
        self.rollups = rollups
        self._upgrade = upgrade
        self._months: set[dt.date] = set()
        self._density: tuple[float, tuple[bool, bool]] = (-1e9, (True, True))
        # the expired months the last aggregate found in its window, for the next of that window
        self._expired_of: tuple[AggregateQuery, frozenset[dt.date]] | None = None
        # the failure rows of the last state_time: its query, roll-up mode, the store's change
        # count it read at (postgres_changes)
        self._failures_of: tuple[AggregateQuery, object, str, list[FailureTotal]] | None = None
        self._kept_params: dict[
            tuple[bool, frozenset[dt.date]], tuple[AggregateQuery, dict[str, Any]]
        ] = {}
        self._layouts: dict[
            tuple[int, tuple[str, ...]], tuple[dict[str, Any], postgres_columns.Layout]
        ] = {}
        # the last raw read of a window of one run of units, for its next aggregates
        self._kept_read = postgres_raw_sql.KeptRead()
        self.applied: list[str] = []  # migrations applied when opened with upgrade=True
        self._conn = self._open()
        self._pool = futures.ThreadPoolExecutor(max(1, connections - 1), "postgres-append")
        self._builder = futures.ThreadPoolExecutor(1, "postgres-writes")
        # the writers of an append's other parts: stores of their own (connection, months seen,
        # reconnect and replay), used only through _write
        self._others: list[PostgresStore] = []
        try:
            for _ in range(connections - 1):
                self._others.append(PostgresStore(url, rollups=rollups))
        except BaseException:
            self.close()
            raise

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
            # JIT compilation costs seconds on these many-branched statements and saves nothing
            # on the row counts they see (profiled: 7 of the 14 s of one roll-up statement)
            conn.execute("SET jit = off")
            # the aggregates sort tens of thousands of intervals: in memory, not in temp files
            conn.execute("SET work_mem = '32MB'")
            # psycopg prepares a statement run five times, and PostgreSQL may then plan it once
            # for any parameters: with the unit and tile arrays of unknown length it joins events
            # to tiles in a nested loop (measured at 10 M events: a 10-day site query 0.11 s
            # custom, 1.06 s generic; the site's year did not end in minutes)
            conn.execute("SET plan_cache_mode = force_custom_plan")
            self.url.enter_schema(conn)
            if self._upgrade:
                _, self.applied = postgres_schema.upgrade(conn, self.url.shown)
                self._upgrade = False  # once: a reconnect only checks
            else:
                postgres_schema.prepare(conn, self.url.shown)
            for statement in postgres_rollups.WORK_TABLES:
                conn.execute(statement)
            conn.execute(
                'CREATE TEMP TABLE IF NOT EXISTS _ids (n bigint, event_id text COLLATE "C") '
                "ON COMMIT DELETE ROWS"
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
        batch = postgres_batch.first_of_each_id(table)
        parts = postgres_batch.by_units(batch, 1 + len(self._others))
        inserted = self._write_parts(parts)
        return AppendResult(inserted, table.num_rows - inserted)

    def _write_parts(self, parts: list[pa.Table]) -> int:
        """The parts written at once, one per connection (the first on this store's own);
        returns when every one has committed.

        Not one transaction: a process killed between two commits leaves some parts stored.
        That is safe for a writer that reports the batch done only after this returns (the
        ingester acknowledges its messages then): the broker sends them again, the replayed
        batch finds the stored parts' ids in ``event_ids`` and counts them as duplicates, and
        stores the rest once (``tests/store/test_postgres_parts.py`` kills a process between
        the commits). The parts share no unit and no id, so they never wait on each other's
        locks or keys."""
        pending = [
            self._pool.submit(other._write, part)
            for other, part in zip(self._others, parts[1:], strict=False)
        ]
        try:
            inserted = self._write(parts[0])
        finally:
            futures.wait(pending)  # never leave a part running behind an error
        return inserted + sum(done.result() for done in pending)

    def _write(self, batch: pa.Table) -> int:
        """Store a de-duplicated batch in one transaction, retried on a lost connection; the
        number of new events."""
        months = postgres_batch.months_of(batch)
        delay = 0.2
        for attempt in range(RETRIES + 1):
            try:
                inserted = self._append_once(batch, months)
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
            return inserted
        raise AssertionError("unreachable: the loop returns or raises")

    def _reconnect(self) -> None:
        try:
            self._conn.close()
        finally:
            try:
                self._conn = self._open()
            except StoreError as exc:  # the server may still be away: the next attempt retries
                log.warning("reconnect to %s failed: %s", self.url.shown, exc)

    def _append_once(self, batch: pa.Table, months: set[dt.date]) -> int:
        conn = self._conn
        if conn.closed or conn.broken:
            raise psycopg.OperationalError("the connection is closed")
        if not months <= self._months:
            postgres_schema.create_partitions(conn, months)
            self._months |= months
        try:
            return self._insert(batch)
        except psycopg.errors.CheckViolation as exc:
            if "no partition" not in str(exc):
                raise
            # another process expired a month this batch needs: make it again, once
            self._months = postgres_schema.existing_months(conn)
            postgres_schema.create_partitions(conn, months)
            self._months |= months
            return self._insert(batch)

    def _insert(self, batch: pa.Table) -> int:
        conn = self._conn
        # the client builds what the batch writes after its ids while the server registers
        # them (postgres_writes): used as built when every id is new, the usual case
        built = self._builder.submit(postgres_writes.writes_of, batch)
        try:
            with conn.transaction(), conn.cursor() as cur:
                units = pc.unique(batch["path"]).to_pylist()
                cur.execute(postgres_locks.LOCK_UNITS, {"units": units})
                new = self._register_ids(cur, batch)
                if new.num_rows == 0:
                    return 0
                writes = built.result() if new is batch else postgres_writes.writes_of(new)
                writes.send(cur)
        finally:
            futures.wait([built])  # never leave it running behind an error
        return writes.events

    def _register_ids(self, cur: psycopg.Cursor[Any], batch: pa.Table) -> pa.Table:
        """Put the batch's ids in ``event_ids``; the rows whose ids were new.

        First a plain ``COPY`` of the ids in order, in a savepoint: a new batch (the usual case)
        is done in one pass (2.3x faster than ``INSERT ... ON CONFLICT``, measured on 1 M
        random ids). An id stored already (a replay, overlapping writers) breaks it at that id;
        then ``ON CONFLICT DO NOTHING`` over the staged ids names the duplicates. An id being
        inserted by another transaction makes either wait for that one's end, as a unique index
        does: of two writers exactly one stores it.
        """
        conn = cur.connection
        try:
            with conn.transaction(), cur.copy(_COPY_IDS) as copy:
                copy.write(pgcopy.binary_copy(postgres_batch.sorted_ids(batch)))
            return batch
        except psycopg.errors.UniqueViolation:
            pass
        postgres_writes.copy_of("_ids", postgres_batch.numbered_ids(batch)).send(cur)
        duplicates = [row[0] for row in cur.execute(_KEEP_NEW).fetchall()]
        if not duplicates:
            return batch
        keep = pc.invert(
            pc.is_in(pa.array(range(batch.num_rows), pa.int64()), pa.array(duplicates, pa.int64()))
        )
        return batch.filter(keep)

    def refresh_rollups(self) -> int:
        """Recompute the state roll-ups of the hours appends marked; the ranges recomputed.

        The aggregates call it before they read roll-ups, so calling it is never needed for
        right answers; a writer may call it after a burst so that no reader pays for it.
        """

        return self._run("refreshing roll-ups", postgres_rollups.refresh)

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

    def _aggregate(
        self,
        query: AggregateQuery,
        what: str,
        sql_of: str,
        rows_of: Callable[[list[Any]], T],
        raw: Callable[..., tuple[postgres_raw_sql.Check, T]],
        *,
        also: str = "",
        **kw: bool,
    ) -> T:
        """The aggregate ``what``: from roll-ups (the SQL ``sql_of`` of ``postgres_rollup_sql``,
        its rows made into results by ``rows_of``) or from raw events (``raw``, a function of
        ``postgres_columns``).

        Roll-ups pay off while the raw segments stay few: each one is an index probe per unit.
        A window with many units and many cut hours (a site over a year) reads raw events in one
        pass instead; both give the same answer (``tests/store/test_postgres_rollups.py``). A
        window reaching into months whose raw events expired reads roll-ups whatever it costs:
        they are all that is left of those months. A raw read also fetches the kinds ``also``
        (``postgres_raw_sql.KeptRead``: the next aggregates of the window use them).
        """
        if self.rollups is False:
            params = self._params(query, False, frozenset())
            return self._run(what, self._raw(raw, query, params, also, stop_if_expired=False))[1]
        # Optimistic: the statement for the expired months seen last in this window
        # (usually none) goes out in one round trip with the check of what it assumed; only a
        # wrong guess, or roll-up hours marked by appends, costs another.
        kept = self._expired_of
        expired = kept[1] if kept is not None and _same_window(kept[0], query) else frozenset()
        for attempt in range(2):
            rolled, text, params = self._statement(query, sql_of, expired, kw)
            if not rolled:
                read = self._raw(raw, query, params, also, stop_if_expired=True)
                seen, result = self._run(what, read)
                self._expired_of = (query, seen.expired)
                if not seen.expired:
                    return result
                expired = seen.expired  # the next attempt reads roll-ups
                continue
            checked = functools.partial(self._checked, query=query, text=text, params=params)
            found, dirty, rows = self._run(what, checked)
            self._expired_of = (query, found)
            if found != expired and attempt == 0:
                expired = found
                continue
            if dirty:
                self.refresh_rollups()
                rows = self._run(what, functools.partial(_fetch, text=text, params=params))
            return rows_of(rows)
        raise AssertionError("unreachable: the second attempt returns")

    def _raw(
        self,
        raw: Callable[..., tuple[postgres_raw_sql.Check, T]],
        query: AggregateQuery,
        params: dict[str, Any],
        also: str,
        *,
        stop_if_expired: bool,
    ) -> Callable[[psycopg.Connection[Any]], tuple[postgres_raw_sql.Check, T]]:
        """The raw read ``raw`` (a function of ``postgres_columns``) of ``params``, its reads
        kept for the next aggregates of the window."""
        layout = self._layout(query, params)

        def read(conn: psycopg.Connection[Any]) -> tuple[postgres_raw_sql.Check, T]:
            fetch = self._kept_read.fetch(conn, params, self.rollups, also)
            return raw(fetch, layout=layout, params=params, stop_if_expired=stop_if_expired)

        return read

    def _points_raw(self, query: AggregateQuery) -> bool:
        """Whether counts and energy of ``query`` are read from raw events (the state read then
        fetches them too)."""
        return (
            self.rollups is False
            or not self._statement(query, "count_totals_sql", frozenset(), {})[0]
        )

    def _statement(
        self, query: AggregateQuery, sql_of: str, expired: frozenset[dt.date], kw: dict[str, bool]
    ) -> tuple[bool, str, dict[str, Any]]:
        """Whether the aggregate reads roll-ups, their SQL (empty when not) and the
        parameters."""
        use = self.rollups
        if use == "auto":
            states, points = self._rollups_pay()
            use = points if sql_of in ("count_totals_sql", "energy_totals_sql") else states
        rolled = bool(use or expired)
        params = self._params(query, rolled, expired)
        if rolled:
            segments = Counter(params["s_key"])
            probes = sum(segments[key] for key in params["u_key"])
            if probes <= MAX_SEGMENT_PROBES or expired:
                return True, getattr(postgres_rollup_sql, sql_of)(query.group_by, **kw), params
        return False, "", params

    @staticmethod
    def _checked(
        conn: psycopg.Connection[Any], query: AggregateQuery, text: str, params: dict[str, Any]
    ) -> tuple[frozenset[dt.date], bool, list[Any]]:
        """The window's expired months, whether roll-up hours are marked, and the rows of
        ``text``: two statements in one round trip (a pipeline)."""
        with conn.pipeline():
            check = conn.execute(
                "SELECT ARRAY(SELECT month FROM expired_months "
                "WHERE month < %s AND month >= %s::date - 31), EXISTS (SELECT FROM rollup_dirty)",
                (query.end, query.start.astimezone(dt.UTC).date()),
            )
            main = conn.execute(text, params)
        row = check.fetchone()
        if row is None:
            raise AssertionError("unreachable: a SELECT without FROM returns one row")
        return frozenset(row[0]), bool(row[1]), main.fetchall()

    def _params(
        self, query: AggregateQuery, rolled: bool, expired: frozenset[dt.date]
    ) -> dict[str, Any]:
        """The query's parameters, built once for the aggregates of one report (the KPI engine
        asks five of the same window: 0.8 ms of Python each for a line-month, 5 ms with its
        rolled hours and segments). They do not depend on the grouping."""
        key = (rolled, expired)
        kept = self._kept_params.get(key)
        if kept is not None and _same_window(kept[0], query):
            return kept[1]
        params = postgres_batch.query_params(query, rollups=rolled, expired=expired)
        self._kept_params[key] = (query, params)
        return params

    def _layout(self, query: AggregateQuery, params: dict[str, Any]) -> postgres_columns.Layout:
        """The units and tiles of ``params`` as arrays, built once for the aggregates of one
        report (9 ms of Python each for a line-month, measured) like the parameters."""
        key = (id(params), query.group_by)
        kept = self._layouts.get(key)
        if kept is not None and kept[0] is params:
            return kept[1]
        if len(self._layouts) > 8:
            self._layouts.clear()
        layout = postgres_columns.Layout(query, params)
        self._layouts[key] = (params, layout)
        return layout

    def _rollups_pay(self) -> tuple[bool, bool]:
        """Whether state and point roll-ups hold ROLLUP_GAIN times fewer rows than their events
        (catalog row estimates, read at most once a minute; unknown before the first ANALYZE:
        yes)."""
        read_at, answer = self._density
        if time.monotonic() - read_at < 60:
            return answer
        rows = self._run("reading table statistics", postgres_rollups.row_estimates)
        states_raw, points_raw, states_rolled, points_rolled = rows
        answer = (
            states_rolled <= 0 or states_raw <= 0 or states_rolled * ROLLUP_GAIN < states_raw,
            points_rolled <= 0 or points_raw <= 0 or points_rolled * ROLLUP_GAIN < points_raw,
        )
        self._density = (time.monotonic(), answer)
        return answer

    def state_time(self, query: AggregateQuery, *, by_reason: bool = False) -> list[StateTime]:
        """Seconds in each state, clipped to the query window and cut by its periods.

        The same pass sums failures over the same intervals; a following ``failure_totals`` of
        the same query object returns them, without a second pass, when the store's change
        count (``postgres_changes``) shows that nothing was stored or expired in between. A raw
        read of a window of one run of units also fetches the counts and energy, when they are
        read raw too, for ``count_totals`` and ``energy_totals`` of the window to use in the
        same way (``postgres_raw_sql.KeptRead``).
        """
        states, failures, changes = self._aggregate(
            query,
            "state_time",
            "state_and_failures_sql",
            _states_and_failures,
            functools.partial(_raw_states_and_failures, by_reason=by_reason),
            also="ce" if self._points_raw(query) else "",
            by_reason=by_reason,
        )
        self._failures_of = (query, self.rollups, changes, failures)
        return states

    def failure_totals(self, query: AggregateQuery) -> list[FailureTotal]:
        """Entries into a failure state and seconds in failure states, by the period of each."""
        kept = self._failures_of
        if kept is not None and kept[0] is query and kept[1] == self.rollups:
            row = self._run(
                "reading the change count",
                lambda c: c.execute(postgres_raw_sql.CHANGES).fetchone(),
            )
            if row is not None and row[0] == kept[2]:
                return list(kept[3])
        return self._aggregate(
            query, "failure_totals", "failure_totals_sql", _failures, _raw_failures
        )

    def count_totals(self, query: AggregateQuery) -> list[CountTotal]:
        return self._aggregate(
            query, "count_totals", "count_totals_sql", _counts, postgres_columns.count_totals
        )

    def energy_totals(self, query: AggregateQuery) -> list[EnergyTotal]:
        return self._aggregate(
            query, "energy_totals", "energy_totals_sql", _energy, postgres_columns.energy_totals
        )

    # -- retention (PostgreSQL only: DuckDB has no partitions) -----------------------------

    def set_retention(self, node: str, raw_days: int) -> None:
        """Keep ``raw_days`` days of raw events under ``node`` (a plant)."""
        self._run("setting retention", lambda c: postgres_retention.set_policy(c, node, raw_days))

    def retention_plan(self, now: dt.datetime) -> postgres_retention.RetentionPlan:
        """The policies, the month partitions, and which of them expire at ``now``."""
        return self._run("retention plan", lambda c: postgres_retention.plan(c, now))

    def apply_retention(self, now: dt.datetime) -> postgres_retention.RetentionPlan:
        """Drop the month partitions expired at ``now``; roll-ups stay."""
        done = self._run("retention", lambda c: postgres_retention.apply(c, now))
        self._months -= {p.month for p in done.expiring}
        return done

    # -- day packs (PostgreSQL only) -------------------------------------------------------

    def compact(
        self, today: dt.date | None = None, progress: Callable[[int, int], None] | None = None
    ) -> postgres_packs.Compaction:
        """Pack every unit's days before ``today`` (default: the current UTC day) not packed
        yet, and the days appends left as holes; ``progress(done, total)`` after each step."""
        day = today or dt.datetime.now(dt.UTC).date()
        return self._run("compaction", lambda c: postgres_packs.compact(c, day, progress))

    def close(self) -> None:
        self._conn.close()
        for other in self._others:
            other.close()
        self._pool.shutdown()
        self._builder.shutdown()


def _fetch(conn: psycopg.Connection[Any], text: str, params: dict[str, Any]) -> list[Any]:
    return conn.execute(text, params).fetchall()


# The rows of the roll-up statements as results, and the raw reads in the same shape.


def _states_and_failures(rows: list[Any]) -> tuple[list[StateTime], list[FailureTotal], str]:
    states = [
        StateTime(GroupValues(p, d, s), PeriodKind(kind), state, reason, float(seconds))
        for section, p, d, s, kind, state, reason, seconds, _, _ in rows
        if section == "s"
    ]
    failures = [
        FailureTotal(GroupValues(p, d, s), int(n), float(seconds))
        for section, p, d, s, _, _, _, seconds, n, _ in rows
        if section == "f"
    ]
    changes = next(row[-1] for row in rows if row[0] == "v")
    return states, failures, changes


def _raw_states_and_failures(
    fetch: postgres_raw_sql.Fetch,
    layout: postgres_columns.Layout,
    params: dict[str, Any],
    *,
    stop_if_expired: bool,
    by_reason: bool,
) -> tuple[postgres_raw_sql.Check, tuple[list[StateTime], list[FailureTotal], str]]:
    seen, states, failures = postgres_columns.states_and_failures(
        fetch, layout, params, by_reason=by_reason, stop_if_expired=stop_if_expired
    )
    return seen, (states, failures, seen.changes)


def _failures(rows: list[Any]) -> list[FailureTotal]:
    return [
        FailureTotal(GroupValues(p, d, s), int(n), float(seconds)) for p, d, s, n, seconds in rows
    ]


def _raw_failures(
    fetch: postgres_raw_sql.Fetch,
    layout: postgres_columns.Layout,
    params: dict[str, Any],
    *,
    stop_if_expired: bool,
) -> tuple[postgres_raw_sql.Check, list[FailureTotal]]:
    seen, _, failures = postgres_columns.states_and_failures(
        fetch, layout, params, by_reason=False, stop_if_expired=stop_if_expired, times=False
    )
    return seen, failures


def _counts(rows: list[Any]) -> list[CountTotal]:
    return [
        CountTotal(GroupValues(p, d, s), path, product, op, int(good), int(scrap), int(rework))
        for p, d, s, path, product, op, good, scrap, rework in rows
    ]


def _energy(rows: list[Any]) -> list[EnergyTotal]:
    return [
        EnergyTotal(GroupValues(p, d, s), float(kwh), float(cost)) for p, d, s, kwh, cost in rows
    ]


def _same_window(a: AggregateQuery, b: AggregateQuery) -> bool:
    """Whether two queries have the same parameters (the same periods and units objects, as
    the queries of one report share them; a grouping of its own changes no parameter)."""
    return (
        a.periods is b.periods
        and a.calendar_key_of_path is b.calendar_key_of_path
        and (a.start, a.end, a.node) == (b.start, b.end, b.node)
    )
