"""The backends every contract test runs against.

A new backend joins by adding one entry to ``BACKENDS``: a name and a factory taking a unique
temporary base path (``tmp_path / "storeN"``, not created) it may use for files. Each test gets
a fresh, empty store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.protocol import EventStore

BACKENDS: dict[str, Callable[[Path], EventStore]] = {
    "duckdb-memory": lambda base: DuckDBStore(":memory:"),
    "duckdb-file": lambda base: DuckDBStore(base.with_suffix(".duckdb")),
}


@pytest.fixture(params=sorted(BACKENDS))
def store_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], EventStore]]:
    """Makes fresh stores of one backend; all are closed after the test."""
    made: list[EventStore] = []

    def make() -> EventStore:
        store = BACKENDS[request.param](tmp_path / f"store{len(made)}")
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(store_factory: Callable[[], EventStore]) -> EventStore:
    return store_factory()
