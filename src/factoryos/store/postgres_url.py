"""PostgreSQL URLs: recognise them, say them without the password, open a connection.

A store URL is a libpq URL (``postgresql://user:secret@host:5432/db``) with one addition: an
optional ``schema=NAME`` query parameter naming the schema the store lives in (created when
missing; default: the server's search path, normally ``public``). Every connection error becomes
one :class:`~factoryos.model.errors.StoreError` line naming the URL without its password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from factoryos.model.errors import StoreError

_SCHEMES = ("postgresql://", "postgres://")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def is_postgres_url(db: str) -> bool:
    """True when ``db`` names a PostgreSQL server rather than a DuckDB file."""
    return db.startswith(_SCHEMES)


def redact(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


@dataclass(frozen=True, slots=True)
class PostgresUrl:
    """A parsed store URL: what libpq gets, and the schema factoryos adds."""

    conninfo: str
    schema: str | None
    shown: str  # the URL as given, password redacted: for messages

    @classmethod
    def parse(cls, url: str) -> PostgresUrl:
        shown = redact(url)
        if not is_postgres_url(url):
            raise StoreError(f"not a PostgreSQL URL: {shown!r} (postgresql://user@host:port/db)")
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        schemas = [value for name, value in query if name == "schema"]
        schema = schemas[-1] if schemas else None
        if schema is not None and not _IDENTIFIER.fullmatch(schema):
            raise StoreError(f"{shown}: schema {schema!r} is not a plain SQL identifier")
        rest = urlencode([(name, value) for name, value in query if name != "schema"])
        return cls(urlunsplit(parts._replace(query=rest)), schema, shown)

    def enter_schema(self, conn: psycopg.Connection[Any]) -> None:
        """Create the URL's schema when it is missing and make it ``conn``'s search path: every
        store opened on one URL (events, users, records) sees the same tables."""
        if self.schema is not None:
            name = sql.Identifier(self.schema)
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
            conn.execute(sql.SQL("SET search_path TO {}").format(name))

    def connect(self) -> psycopg.Connection[Any]:
        """An autocommit connection in UTC; StoreError (one line) when the server says no."""
        try:
            return psycopg.connect(
                self.conninfo, autocommit=True, connect_timeout=10, options="-c TimeZone=UTC"
            )
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to PostgreSQL at {self.shown}: {one_line(exc)}"
            ) from exc


def one_line(exc: BaseException) -> str:
    """The gist of a driver error on one line (libpq messages span several)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    # libpq puts "connection to server at ... failed: REASON" first; the hint after it is noise.
    text = lines[0]
    text = re.sub(
        r'^connection failed: connection to server at "[^"]*", port \d+ failed: ', "", text
    )
    text = re.sub(r"^(FATAL:\s+|connection is bad:\s+)", "", text)
    return text
