"""The PostgreSQL schema: versioned migrations, and monthly partitions created on demand.

``schema_version`` holds one row per applied migration. A store opened on an empty schema
applies every migration; on an older one it refuses and asks for ``factoryos db upgrade`` (a
migration may take long on a big plant: the user decides when); on a newer one (written by a
later factoryos) it refuses, since this code cannot know what changed. Migrations run under an
advisory lock, so two processes starting at once do not race.

Events live in two tables range-partitioned by ``ts`` (one partition per UTC month):
``state_events`` (narrow: the KPI engine's hot path) and ``other_events`` (every other kind).
Each has a btree on ``(path, ts)``: a hierarchy subtree is a ``path`` range (C collation, so
``node/`` .. ``node0`` holds exactly the paths below ``node``), the window a ``ts`` range inside it,
and the carried-in state of a unit one backward index step. A time window over every path is
pruned to its months' partitions and narrowed inside them by a BRIN index on ``ts`` (events
arrive roughly in time order, so block ranges are tight and the index costs almost nothing).
``event_ids`` makes ids unique across kinds and partitions (a partitioned table's unique index
must include the partition key). ``day_packs`` (migration 7, partitioned by month too) holds a
unit's closed days as rows of arrays for the raw reads (``postgres_packs``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from factoryos.model.errors import StoreError
from factoryos.store import postgres_changes, postgres_locks
from factoryos.store.postgres_rollups import (
    BACKFILL,
    DIRTY_DDL,
    ROLLUP_DDL,
    UNIT_LAST_BACKFILL,
    UNIT_LAST_DDL,
)

EVENT_TABLES = ("state_events", "other_events")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "events partitioned by month, id registry",
        (
            """CREATE TABLE event_ids (event_id text COLLATE "C" PRIMARY KEY)""",
            """CREATE TABLE state_events (
                event_id text COLLATE "C" NOT NULL,
                ts timestamptz NOT NULL,
                path text COLLATE "C" NOT NULL,
                state text NOT NULL,
                reason text
            ) PARTITION BY RANGE (ts)""",
            """CREATE TABLE other_events (
                event_id text COLLATE "C" NOT NULL,
                ts timestamptz NOT NULL,
                kind text NOT NULL,
                path text COLLATE "C" NOT NULL,
                product text,
                order_id text,
                operation text,
                good bigint,
                scrap bigint,
                rework bigint,
                quantity bigint,
                energy_kwh double precision,
                sensor text,
                value double precision,
                unit text
            ) PARTITION BY RANGE (ts)""",
            "CREATE INDEX state_events_path_ts ON state_events (path, ts)",
            "CREATE INDEX other_events_path_ts ON other_events (path, ts)",
            "CREATE INDEX state_events_ts ON state_events USING brin (ts)",
            "CREATE INDEX other_events_ts ON other_events USING brin (ts)",
        ),
    ),
)
MIGRATIONS += (
    Migration(2, "hourly roll-ups of states, failures, counts and energy", ROLLUP_DDL + BACKFILL),
    Migration(
        3,
        "retention policies (raw event days per plant)",
        (
            """CREATE TABLE retention (
                node text COLLATE "C" PRIMARY KEY,
                raw_days integer NOT NULL CHECK (raw_days > 0)
            )""",
        ),
    ),
    Migration(
        4,
        "expired months and each unit's last state: roll-ups alone answer for expired months",
        (
            "CREATE TABLE expired_months (month date PRIMARY KEY)",
            UNIT_LAST_DDL,
            UNIT_LAST_BACKFILL,
        ),
    ),
    Migration(
        5,
        "state roll-ups recomputed after the append, from the hours it marks",
        (DIRTY_DDL,),
    ),
    Migration(
        6,
        "the service's background jobs and live loop proposals, kept over a restart",
        (
            """CREATE TABLE jobs (
                id text PRIMARY KEY,
                kind text NOT NULL,
                site text NOT NULL,
                status text NOT NULL,
                progress double precision NOT NULL,
                created timestamptz NOT NULL,
                result jsonb,
                error text
            )""",
            "CREATE INDEX jobs_site ON jobs (site, created)",
            """CREATE TABLE loop_proposals (
                id text PRIMARY KEY,
                site text NOT NULL,
                created timestamptz NOT NULL,
                doc jsonb NOT NULL
            )""",
            "CREATE INDEX loop_proposals_site ON loop_proposals (site, created)",
            """CREATE TABLE loop_adoptions (
                site text PRIMARY KEY,
                plan text NOT NULL,
                adopted timestamptz NOT NULL
            )""",
        ),
    ),
)
MIGRATIONS += (
    Migration(
        7,
        "day packs: a unit's events of a closed day as one row of arrays (postgres_packs)",
        (
            """CREATE TABLE day_packs (
                path text COLLATE "C" NOT NULL,
                day date NOT NULL,
                state_ts timestamptz[], state text[], reason text[],
                count_ts timestamptz[], product text[], operation text[],
                good bigint[], scrap bigint[], rework bigint[],
                energy_ts timestamptz[], kwh double precision[],
                PRIMARY KEY (path, day)
            ) PARTITION BY RANGE (day)""",
            """CREATE TABLE pack_holes (
                path text COLLATE "C" NOT NULL, day date NOT NULL, PRIMARY KEY (path, day))""",
            """CREATE TABLE unit_packs (
                path text COLLATE "C" PRIMARY KEY, packed_until date NOT NULL)""",
        ),
    ),
)
MIGRATIONS += (
    Migration(
        8,
        "a count of the store's changes: a report's aggregates share one read (postgres_changes)",
        postgres_changes.DDL,
    ),
)
CODE_VERSION = MIGRATIONS[-1].version


def stored_version(conn: psycopg.Connection[Any]) -> int:
    """The schema version in the connection's schema; 0 when factoryos has no tables there."""
    row = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def _apply(conn: psycopg.Connection[Any], target: int = CODE_VERSION) -> list[Migration]:
    """Apply the migrations newer than the stored version up to ``target``, in one transaction."""
    applied = []
    with conn.transaction():
        conn.execute(postgres_locks.LOCK, (postgres_locks.MIGRATION,))
        current = stored_version(conn)  # read under the lock: another process may have run
        if current == 0:
            conn.execute(
                "CREATE TABLE schema_version (version integer PRIMARY KEY, description text "
                "NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
        for migration in MIGRATIONS:
            if not current < migration.version <= target:
                continue
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, description) VALUES (%s, %s)",
                (migration.version, migration.description),
            )
            applied.append(migration)
    return applied


def prepare(conn: psycopg.Connection[Any], shown: str) -> None:
    """Create the schema when empty; refuse an older (upgrade first) or a newer one."""
    version = stored_version(conn)
    if version == 0:
        _apply(conn)
        return
    check(version, shown)


def check(version: int, shown: str) -> None:
    if version > CODE_VERSION:
        raise StoreError(
            f"{shown}: the stored schema is version {version}, newer than this factoryos "
            f"(version {CODE_VERSION}): upgrade factoryos to use this database"
        )
    if version < CODE_VERSION:
        raise StoreError(
            f"{shown}: the stored schema is version {version}, older than this factoryos "
            f"(version {CODE_VERSION}): run 'factoryos db upgrade --db URL' first"
        )


def upgrade(
    conn: psycopg.Connection[Any], shown: str, target: int = CODE_VERSION
) -> tuple[int, list[str]]:
    """Apply the missing migrations (up to ``target``); (version before, those applied)."""
    before = stored_version(conn)
    if before > CODE_VERSION:
        check(before, shown)
    applied = _apply(conn, target)
    return before, [f"{m.version}: {m.description}" for m in applied]


# -- partitions ------------------------------------------------------------------------------


def month_of(us: int) -> dt.date:
    """First day of the UTC month holding the instant ``us`` (microseconds since the epoch)."""
    day = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=us)
    return dt.date(day.year, day.month, 1)


def next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(table: str, month: dt.date) -> str:
    return f"{table}_p{month.year:04d}{month.month:02d}"


def existing_months(
    conn: psycopg.Connection[Any], tables: tuple[str, ...] = EVENT_TABLES
) -> set[dt.date]:
    """Months that have a partition of every one of ``tables`` (parsed from the partition
    names)."""
    found: dict[str, set[dt.date]] = {table: set() for table in tables}
    rows = conn.execute(
        "SELECT parent.relname, child.relname FROM pg_inherits i "
        "JOIN pg_class parent ON parent.oid = i.inhparent "
        "JOIN pg_class child ON child.oid = i.inhrelid "
        "WHERE parent.relnamespace = current_schema()::regnamespace "
        "AND parent.relname = ANY(%s)",
        (list(tables),),
    ).fetchall()
    for parent, child in rows:
        stamp = str(child).rsplit("_p", 1)[1]
        found[str(parent)].add(dt.date(int(stamp[:4]), int(stamp[4:]), 1))
    return set.intersection(*found.values())


def create_partitions(conn: psycopg.Connection[Any], months: Iterable[dt.date]) -> None:
    """Create the monthly partitions of both event tables that do not exist yet.

    Own transaction, before the batch's: creating a partition locks its parent exclusively, and
    a batch holding that lock to its end would stall every reader. The advisory lock keeps two
    writers from creating the same partition at once.
    """
    with conn.transaction():
        conn.execute(postgres_locks.LOCK, (postgres_locks.PARTITION,))
        have = existing_months(conn)
        for month in sorted(set(months) - have):
            for table in EVENT_TABLES:
                conn.execute(
                    sql.SQL(
                        "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})"
                    ).format(
                        sql.Identifier(partition_name(table, month)),
                        sql.Identifier(table),
                        sql.Literal(f"{month.isoformat()} 00:00:00+00"),
                        sql.Literal(f"{next_month(month).isoformat()} 00:00:00+00"),
                    )
                )
