"""A few tables of a service's own in a DuckDB file, beside the events or in ``:memory:``.

The user store and the service's records (jobs, loop proposals) share this: one connection behind
one lock (the service calls them from its event loop's thread pool), and every driver error turned
into a :class:`StoreError` that names what was being done and the file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from factoryos.model.errors import StoreError


class DuckDBTables:
    """Tables created by ``ddl`` in the DuckDB file ``path``; ``label`` names them in errors."""

    def __init__(self, path: str | Path, ddl: str, label: str) -> None:
        self.path = str(path)
        self._label = label
        self._lock = threading.RLock()
        try:
            self._con = duckdb.connect(self.path)
            self._con.execute(ddl)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open {label} in {self.path!r}: {exc}") from exc

    @contextmanager
    def _guard(self, what: str) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            try:
                yield self._con
            except duckdb.Error as exc:
                raise StoreError(f"{what} failed in {self._label} {self.path!r}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._con.close()
