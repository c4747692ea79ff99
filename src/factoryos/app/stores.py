"""Open the event store the settings name: a DuckDB file or a PostgreSQL server, by its URL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from factoryos.app.settings import Settings
from factoryos.model.errors import StoreError
from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.postgres_packs import Compaction
from factoryos.store.postgres_records import PostgresRecordStore
from factoryos.store.postgres_retention import RetentionPlan
from factoryos.store.postgres_store import PostgresStore
from factoryos.store.postgres_url import is_postgres_url, redact
from factoryos.store.postgres_users import PostgresUserStore
from factoryos.store.protocol import EventStore
from factoryos.store.records import DuckDBRecordStore, RecordStore
from factoryos.store.users import DuckDBUserStore, UserStore


def open_store(settings: Settings, *, must_exist: bool = False, connections: int = 1) -> EventStore:
    """The store at ``settings.db``: PostgreSQL for a ``postgresql://`` URL, else a DuckDB file.

    ``must_exist`` refuses a DuckDB file that is not there (a reader with nothing to read had a
    typo); a PostgreSQL database must always exist, the server says so in one line.
    ``connections``: PostgreSQL writes a big batch in that many parts at once (a live writer's
    choice; DuckDB has one writer).
    """
    if is_postgres_url(settings.db):
        return PostgresStore(settings.db, connections=connections)
    if must_exist and settings.db != ":memory:" and not Path(settings.db).exists():
        raise StoreError(f"no event store at {settings.db!r}: run 'factoryos import' first")
    return DuckDBStore(settings.db)


def open_user_store(db: str) -> UserStore:
    """The accounts at ``db``: tables on the PostgreSQL server of a ``postgresql://`` URL (every
    server and command of the plant shares them), else in the DuckDB file."""
    return PostgresUserStore(db) if is_postgres_url(db) else DuckDBUserStore(db)


def open_record_store(db: str) -> RecordStore:
    """The service's jobs and loop proposals at ``db``: beside the events, on the PostgreSQL
    server of a ``postgresql://`` URL or in the DuckDB file."""
    return PostgresRecordStore(db) if is_postgres_url(db) else DuckDBRecordStore(db)


def shown(db: str) -> str:
    """``db`` as it may be printed: a URL's password redacted."""
    return redact(db) if is_postgres_url(db) else db


def discard_embedded(db: str) -> None:
    """Delete a DuckDB file and its write-ahead log (the demo starts afresh); a server is kept:
    re-storing the same events there adds nothing, ids being idempotent."""
    if is_postgres_url(db) or db == ":memory:":
        return
    path = Path(db)
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)


def upgrade_store(settings: Settings) -> tuple[str, list[str]]:
    """Bring the store's schema to this factoryos: (where, migrations applied, maybe none)."""
    if not is_postgres_url(settings.db):
        return shown(settings.db), []  # the embedded file creates its tables as it opens
    with PostgresStore(settings.db, upgrade=True) as store:
        return store.url.shown, list(store.applied)


def compact(
    settings: Settings, progress: Callable[[int, int], None] | None = None
) -> tuple[str, Compaction]:
    """Pack the PostgreSQL store's closed days for reading: (where, what was packed)."""
    if not is_postgres_url(settings.db):
        raise StoreError(
            f"{shown(settings.db)}: compaction needs the PostgreSQL store (day packs); the "
            "embedded DuckDB file reads its columns as they are"
        )
    with PostgresStore(settings.db) as store:
        return store.url.shown, store.compact(progress=progress)


def retention(
    settings: Settings, *, node: str | None, raw_days: int | None, apply: bool
) -> RetentionPlan:
    """Set a plant's policy if given, then show (or, with ``apply``, carry out) the expiry."""
    if not is_postgres_url(settings.db):
        raise StoreError(
            f"{shown(settings.db)}: retention needs the PostgreSQL store (it drops monthly "
            "partitions; the embedded DuckDB file has none)"
        )
    if (node is None) != (raw_days is None):
        raise StoreError("--node and --raw-days go together: the plant and its days of raw events")
    now = dt.datetime.now(dt.UTC)
    with PostgresStore(settings.db) as store:
        if node is not None and raw_days is not None:
            store.set_retention(node, raw_days)
        return store.apply_retention(now) if apply else store.retention_plan(now)
