"""Where events live: the storage protocol, the embedded DuckDB backend, event files.

``EventStore`` is the port (``protocol.py``); ``DuckDBStore`` the default backend, one file and no
server; ``PostgresStore`` the server backend (several writers, partitions, migrations);
``files`` reads and writes CSV/Parquet event logs in the canonical schema, with rejects.
"""

from factoryos.store.arrow import EVENT_SCHEMA, events_to_table, table_to_events
from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.files import (
    ImportResult,
    ReadResult,
    import_events,
    read_events,
    write_events,
    write_rejects,
)
from factoryos.store.postgres_store import PostgresStore
from factoryos.store.protocol import AppendResult, EventStore

__all__ = [
    "EVENT_SCHEMA",
    "AppendResult",
    "DuckDBStore",
    "EventStore",
    "ImportResult",
    "PostgresStore",
    "ReadResult",
    "events_to_table",
    "import_events",
    "read_events",
    "table_to_events",
    "write_events",
    "write_rejects",
]
