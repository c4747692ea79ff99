"""Users, their role grants per site, and login sessions: the port and its DuckDB backend.

The store keeps what it is given: password hashes (hashing is the application's business) and
session token digests (a stolen database file does not hold usable tokens). A grant is
(user, role, site); the site ``*`` stands for every site (the programme officer's reading grant).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from factoryos.model.errors import StoreError
from factoryos.store.duckdb_tables import DuckDBTables

__all__ = ["DuckDBUserStore", "Grant", "UserRecord", "UserStore"]

ALL_SITES = "*"

_DDL = """
CREATE TABLE IF NOT EXISTS users (
    name VARCHAR PRIMARY KEY,
    password_hash VARCHAR NOT NULL,
    created TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS grants (
    name VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    site VARCHAR NOT NULL,
    PRIMARY KEY (name, role, site)
);
CREATE TABLE IF NOT EXISTS sessions (
    token_digest VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    expires TIMESTAMPTZ NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Grant:
    role: str
    site: str  # a site id, or "*" for every site


@dataclass(frozen=True, slots=True)
class UserRecord:
    name: str
    password_hash: str
    grants: tuple[Grant, ...]


class UserStore(Protocol):
    """Where users, grants and sessions persist."""

    def add_user(self, name: str, password_hash: str) -> None:
        """Create a user; a name already taken is a :class:`StoreError`."""
        ...

    def set_password(self, name: str, password_hash: str) -> None: ...

    def user(self, name: str) -> UserRecord | None: ...

    def users(self) -> list[UserRecord]: ...

    def grant(self, name: str, role: str, site: str) -> None:
        """Give ``name`` ``role`` on ``site`` (idempotent); an unknown user is an error."""
        ...

    def revoke(self, name: str, role: str, site: str) -> None: ...

    def add_session(self, token_digest: str, name: str, expires: dt.datetime) -> None: ...

    def session_user(self, token_digest: str, now: dt.datetime) -> str | None:
        """The user of an unexpired session, else None."""
        ...

    def drop_session(self, token_digest: str) -> None: ...

    def close(self) -> None: ...


class DuckDBUserStore(DuckDBTables):
    """A :class:`UserStore` in a DuckDB file (the event store's file is fine) or ``:memory:``."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        super().__init__(path, _DDL, "the user store")

    def add_user(self, name: str, password_hash: str) -> None:
        if self.user(name) is not None:
            raise StoreError(f"user {name!r} exists already")
        with self._guard("adding a user") as con:
            con.execute(
                "INSERT INTO users VALUES (?, ?, ?)", [name, password_hash, dt.datetime.now(dt.UTC)]
            )

    def set_password(self, name: str, password_hash: str) -> None:
        self._need(name)
        with self._guard("setting a password") as con:
            con.execute("UPDATE users SET password_hash = ? WHERE name = ?", [password_hash, name])

    def user(self, name: str) -> UserRecord | None:
        with self._guard("reading a user") as con:
            row = con.execute(
                "SELECT name, password_hash FROM users WHERE name = ?", [name]
            ).fetchone()
            if row is None:
                return None
            grants = con.execute(
                "SELECT role, site FROM grants WHERE name = ? ORDER BY site, role", [name]
            ).fetchall()
        return UserRecord(row[0], row[1], tuple(Grant(r, s) for r, s in grants))

    def users(self) -> list[UserRecord]:
        with self._guard("listing users") as con:
            names = [r[0] for r in con.execute("SELECT name FROM users ORDER BY name").fetchall()]
        return [u for n in names if (u := self.user(n)) is not None]

    def _need(self, name: str) -> None:
        if self.user(name) is None:
            raise StoreError(f"no user {name!r}")

    def grant(self, name: str, role: str, site: str) -> None:
        self._need(name)
        with self._guard("granting a role") as con:
            con.execute("INSERT OR IGNORE INTO grants VALUES (?, ?, ?)", [name, role, site])

    def revoke(self, name: str, role: str, site: str) -> None:
        with self._guard("revoking a role") as con:
            con.execute(
                "DELETE FROM grants WHERE name = ? AND role = ? AND site = ?", [name, role, site]
            )

    def add_session(self, token_digest: str, name: str, expires: dt.datetime) -> None:
        with self._guard("opening a session") as con:
            con.execute("INSERT INTO sessions VALUES (?, ?, ?)", [token_digest, name, expires])

    def session_user(self, token_digest: str, now: dt.datetime) -> str | None:
        with self._guard("reading a session") as con:
            row = con.execute(
                "SELECT name FROM sessions WHERE token_digest = ? AND expires > ?",
                [token_digest, now],
            ).fetchone()
        return None if row is None else str(row[0])

    def drop_session(self, token_digest: str) -> None:
        with self._guard("closing a session") as con:
            con.execute("DELETE FROM sessions WHERE token_digest = ?", [token_digest])
