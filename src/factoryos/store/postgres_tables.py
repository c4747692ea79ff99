"""A few tables of a service's own in a PostgreSQL store's schema (the counterpart of
:mod:`factoryos.store.duckdb_tables`).

The user store and the service's records share this: one connection behind one lock (the service
calls them from its thread pool), opened again when the server dropped it, and every driver error
turned into a :class:`StoreError` that names what was being done and the URL without its password.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

from factoryos.model.errors import StoreError
from factoryos.store.postgres_url import PostgresUrl, one_line

T = TypeVar("T")


class PostgresTables:
    """Tables that :meth:`_set_up` makes ready on a new connection; ``label`` names them in
    errors."""

    def __init__(self, url: str, label: str) -> None:
        self.url = PostgresUrl.parse(url)
        self._label = label
        self._lock = threading.RLock()
        self._conn = self._open()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url.shown!r})"

    def _set_up(self, conn: psycopg.Connection[Any]) -> None:
        """Create or check the tables (in the URL's schema, already entered)."""
        raise NotImplementedError

    def _open(self) -> psycopg.Connection[Any]:
        conn = self.url.connect()
        try:
            self.url.enter_schema(conn)
            self._set_up(conn)
        except psycopg.Error as exc:
            conn.close()
            raise StoreError(
                f"cannot open {self._label} in {self.url.shown}: {one_line(exc)}"
            ) from exc
        except StoreError:
            conn.close()
            raise
        return conn

    def _run(self, what: str, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        with self._lock:
            if self._conn.closed or self._conn.broken:
                self._conn = self._open()
            try:
                return work(self._conn)
            except psycopg.Error as exc:
                raise StoreError(
                    f"{what} failed in {self._label} {self.url.shown}: {one_line(exc)}"
                ) from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()
