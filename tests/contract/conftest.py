"""The backends every contract test runs against.

A new backend joins by adding one entry to ``BACKENDS``: a name and a factory taking a unique
temporary base path (``tmp_path / "storeN"``, not created) it may use for files. Each test gets
a fresh, empty store.

PostgreSQL runs against the real server of ``FACTORYOS_TEST_PG`` (default: the loopback server
CI starts), each store in a schema of its own, dropped after the test. Without a server the
PostgreSQL cases skip and say why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.postgres_store import PostgresStore
from factoryos.store.protocol import EventStore
from tests.pg import drop_schemas, fresh_schema_url, pg_unavailable

BACKENDS: dict[str, Callable[[Path], EventStore]] = {
    "duckdb-memory": lambda base: DuckDBStore(":memory:"),
    "duckdb-file": lambda base: DuckDBStore(base.with_suffix(".duckdb")),
    "postgres": lambda base: PostgresStore(fresh_schema_url()),
}


@pytest.fixture(params=sorted(BACKENDS))
def store_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], EventStore]]:
    """Makes fresh stores of one backend; all are closed after the test."""
    if request.param == "postgres" and (why := pg_unavailable()):
        pytest.skip(why)
    made: list[EventStore] = []

    def make() -> EventStore:
        store = BACKENDS[request.param](tmp_path / f"store{len(made)}")
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()
    drop_schemas()


@pytest.fixture
def store(store_factory: Callable[[], EventStore]) -> EventStore:
    return store_factory()
