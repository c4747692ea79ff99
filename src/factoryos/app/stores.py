"""Open the event store the settings name."""

from __future__ import annotations

from factoryos.app.settings import Settings
from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.protocol import EventStore


def open_store(settings: Settings) -> EventStore:
    """The embedded DuckDB store (one file, no server) at ``settings.db``."""
    return DuckDBStore(settings.db)
