"""Notices of stored events, across processes: PostgreSQL ``NOTIFY`` sent by every append.

An append that stores something sends, inside its transaction (so the notice is delivered at
commit, and only if it commits), one notice on :data:`CHANNEL` whose payload names the schema and
the earliest and latest ``ts`` of the events it stored (microseconds since the epoch) and how
many. A server that shows live data (``factoryos serve``) listens with :class:`StoredNotices` and
reads what changed from the store; a notice is a hint, the events themselves stay in the tables.
Notices are per database: the schema in the payload tells the stores of one database apart.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from factoryos.model.errors import StoreError
from factoryos.store.postgres_url import PostgresUrl, one_line

__all__ = ["CHANNEL", "NOTIFY_STORED", "StoredNotice", "StoredNotices"]

CHANNEL = "factoryos_stored"

# Run in the append's transaction after the insert, with the span and number of the events the
# batch stored (its duplicates left out).
NOTIFY_STORED = f"""
SELECT pg_notify('{CHANNEL}', json_build_object(
    'schema', current_schema(), 'lo', %(lo)s::bigint, 'hi', %(hi)s::bigint, 'n', %(n)s::bigint
)::text)
"""

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class StoredNotice:
    """Events were stored with ``lo <= ts <= hi`` (``count`` of them)."""

    lo: dt.datetime
    hi: dt.datetime
    count: int


class StoredNotices:
    """Listens for the stored-event notices of one store (its URL's schema), on its own
    connection; :meth:`wait` from one thread. A lost connection is a :class:`StoreError`: the
    caller cannot know what it missed, so it must treat everything as changed and reopen."""

    def __init__(self, url: str) -> None:
        self.url = PostgresUrl.parse(url)
        self._conn = self.url.connect()
        try:
            if self.url.schema is not None:
                self._conn.execute(
                    sql.SQL("SET search_path TO {}").format(sql.Identifier(self.url.schema))
                )
            row = self._conn.execute("SELECT current_schema()").fetchone()
            self.schema = str(row[0]) if row else "public"
            self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
        except psycopg.Error as exc:
            self._conn.close()
            raise StoreError(f"cannot listen on {self.url.shown}: {one_line(exc)}") from exc

    def wait(self, timeout_s: float) -> list[StoredNotice]:
        """The notices of this schema that arrive within ``timeout_s`` (returns at the first
        packet of notices, or empty after the timeout)."""
        found: list[StoredNotice] = []
        try:
            for notify in self._conn.notifies(timeout=timeout_s, stop_after=1):
                notice = _parse(notify.payload, self.schema)
                if notice is not None:
                    found.append(notice)
        except psycopg.Error as exc:
            raise StoreError(f"listening on {self.url.shown} failed: {one_line(exc)}") from exc
        return found

    def close(self) -> None:
        self._conn.close()


def _parse(payload: str, schema: str) -> StoredNotice | None:
    doc: dict[str, Any] = json.loads(payload)
    if doc.get("schema") != schema or doc.get("lo") is None:
        return None
    return StoredNotice(
        _EPOCH + dt.timedelta(microseconds=int(doc["lo"])),
        _EPOCH + dt.timedelta(microseconds=int(doc["hi"])),
        int(doc["n"]),
    )
