"""Dead letters and the ingester's session: what a live source sent that could not be stored.

Every message (or one value of it) that cannot be decoded, validated or mapped is kept with its
topic or node, raw payload, reason and arrival time, so that nothing a plant sent is lost:
``factoryos deadletters replay`` moves them into the event store once the mapping is fixed. A
letter's id is derived from the message, so a redelivered message does not add a second letter.

The same database keeps the ingester's session (Sparkplug births and sequence numbers, the last
reading of each cumulative counter) as named JSON documents. :meth:`DeadLetterStore.commit` writes
a batch's letters and the session after it in one transaction: after a crash, redelivered
messages meet the session as it was when they were first taken.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa

from factoryos.model.deadletter import DeadLetter
from factoryos.model.errors import StoreError


class DeadLetterStore(Protocol):
    """Where dead letters and the ingester's session live (DuckDB embedded; one per ingester)."""

    def commit(self, letters: Sequence[DeadLetter], session: Mapping[str, str]) -> int:
        """Add ``letters`` (ids already there are skipped) and save the named session documents,
        in one transaction; the number of new letters."""
        ...

    def session(self, name: str) -> str | None:
        """A saved session document, or None."""
        ...

    def letters(self, *, limit: int = 100, replayed: bool = False) -> list[DeadLetter]:
        """Letters by arrival, the pending ones (or only the replayed ones)."""
        ...

    def letter(self, letter_id: str) -> DeadLetter | None: ...

    def mark_replayed(self, letter_ids: Sequence[str], at: dt.datetime) -> None: ...

    def count(self, *, replayed: bool = False) -> int: ...

    def close(self) -> None: ...


_DDL = """
CREATE TABLE IF NOT EXISTS dead_letters (
    letter_id VARCHAR PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL,
    protocol VARCHAR NOT NULL,
    topic VARCHAR NOT NULL,
    payload BLOB NOT NULL,
    reason VARCHAR NOT NULL,
    reading VARCHAR,
    replayed_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS ingest_session (name VARCHAR PRIMARY KEY, doc VARCHAR NOT NULL);
"""
_COLUMNS = "letter_id, received_at, protocol, topic, payload, reason, reading, replayed_at"


class DuckDBDeadLetterStore:
    """Dead letters in a DuckDB file (or ``:memory:``)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        try:
            self._con = duckdb.connect(self.path)
            self._con.execute("SET TimeZone = 'UTC'")
            self._con.execute(_DDL)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open dead letters {self.path!r}: {exc}") from exc

    def commit(self, letters: Sequence[DeadLetter], session: Mapping[str, str]) -> int:
        with self._lock:
            con = self._con
            try:
                con.execute("BEGIN")
                added = 0
                if letters:
                    before = _scalar(con, "SELECT count(*) FROM dead_letters")
                    # one Arrow scan: executemany inserts a row per statement, 1,000x slower
                    con.register("_letters", _table(letters))
                    con.execute(
                        f"INSERT OR IGNORE INTO dead_letters ({_COLUMNS}) "
                        f"SELECT {_COLUMNS} FROM (SELECT DISTINCT ON (letter_id) * FROM _letters)"
                    )
                    con.unregister("_letters")
                    added = _scalar(con, "SELECT count(*) FROM dead_letters") - before
                for name, doc in session.items():
                    # An UPDATE, then an INSERT the first time: INSERT OR REPLACE cost ~4 ms a
                    # call, more than the rest of a live ingester's commit (docs/ingest.md).
                    updated = con.execute(
                        "UPDATE ingest_session SET doc = ? WHERE name = ?", [doc, name]
                    ).fetchall()
                    if not updated or not updated[0][0]:
                        con.execute("INSERT INTO ingest_session VALUES (?, ?)", [name, doc])
                con.execute("COMMIT")
            except duckdb.Error as exc:
                con.execute("ROLLBACK")
                raise StoreError(f"dead letters {self.path!r}: {exc}") from exc
            return added

    def session(self, name: str) -> str | None:
        with self._lock:
            rows = self._con.execute(
                "SELECT doc FROM ingest_session WHERE name = ?", [name]
            ).fetchall()
        return str(rows[0][0]) if rows else None

    def letters(self, *, limit: int = 100, replayed: bool = False) -> list[DeadLetter]:
        where = "replayed_at IS NOT NULL" if replayed else "replayed_at IS NULL"
        with self._lock:
            rows = self._con.execute(
                f"SELECT {_COLUMNS} FROM dead_letters WHERE {where} "
                "ORDER BY received_at, letter_id LIMIT ?",
                [limit],
            ).fetchall()
        return [_letter(r) for r in rows]

    def letter(self, letter_id: str) -> DeadLetter | None:
        with self._lock:
            rows = self._con.execute(
                f"SELECT {_COLUMNS} FROM dead_letters WHERE letter_id = ?", [letter_id]
            ).fetchall()
        return _letter(rows[0]) if rows else None

    def mark_replayed(self, letter_ids: Sequence[str], at: dt.datetime) -> None:
        if not letter_ids:
            return
        with self._lock:
            self._con.executemany(
                "UPDATE dead_letters SET replayed_at = ? WHERE letter_id = ?",
                [(at, i) for i in letter_ids],
            )

    def count(self, *, replayed: bool = False) -> int:
        where = "replayed_at IS NOT NULL" if replayed else "replayed_at IS NULL"
        with self._lock:
            return _scalar(self._con, f"SELECT count(*) FROM dead_letters WHERE {where}")

    def close(self) -> None:
        with self._lock:
            self._con.close()


_SCHEMA = pa.schema(
    [
        ("letter_id", pa.string()),
        ("received_at", pa.timestamp("us", tz="UTC")),
        ("protocol", pa.string()),
        ("topic", pa.string()),
        ("payload", pa.binary()),
        ("reason", pa.string()),
        ("reading", pa.string()),
        ("replayed_at", pa.timestamp("us", tz="UTC")),
    ]
)


def _table(letters: Sequence[DeadLetter]) -> pa.Table:
    columns = [[getattr(d, f.name) for d in letters] for f in _SCHEMA]
    return pa.Table.from_arrays(columns, schema=_SCHEMA)


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    [(value,)] = con.execute(sql).fetchall()
    return int(value)


def _letter(row: tuple[object, ...]) -> DeadLetter:
    (letter_id, received_at, protocol, topic, payload, reason, reading, replayed_at) = row
    assert isinstance(received_at, dt.datetime)
    return DeadLetter(
        str(letter_id),
        received_at,
        str(protocol),
        str(topic),
        bytes(payload) if isinstance(payload, bytes | bytearray | memoryview) else b"",
        str(reason),
        None if reading is None else str(reading),
        replayed_at if isinstance(replayed_at, dt.datetime) else None,
    )
