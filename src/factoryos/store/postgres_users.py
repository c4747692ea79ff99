"""Users, grants and sessions on a PostgreSQL server: the accounts beside a server event store.

Same tables and semantics as :class:`~factoryos.store.users.DuckDBUserStore`, in their own
schema-scoped tables (the URL's ``?schema=`` as for events), created when missing. Every
``serve`` process and every ``factoryos users`` command pointed at the same URL shares them, so
a user added on one machine logs in on any server of the plant. One connection per store,
serialised by a lock (the HTTP service calls from several threads); a lost connection is
reopened once per call.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from factoryos.model.errors import StoreError
from factoryos.store.postgres_tables import PostgresTables
from factoryos.store.users import Grant, UserRecord

_DDL = (
    """CREATE TABLE IF NOT EXISTS users (
        name text PRIMARY KEY, password_hash text NOT NULL, created timestamptz NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS grants (
        name text NOT NULL REFERENCES users (name), role text NOT NULL, site text NOT NULL,
        PRIMARY KEY (name, role, site))""",
    """CREATE TABLE IF NOT EXISTS sessions (
        token_digest text PRIMARY KEY, name text NOT NULL REFERENCES users (name),
        expires timestamptz NOT NULL)""",
)
_DDL_LOCK = 0x66_6F_73_03  # advisory lock key: "fos" + purpose (as in postgres_schema)


class PostgresUserStore(PostgresTables):
    """A :class:`~factoryos.store.users.UserStore` on PostgreSQL."""

    def __init__(self, url: str) -> None:
        super().__init__(url, "the user store")

    def _set_up(self, conn: psycopg.Connection[Any]) -> None:
        with conn.transaction():  # two servers starting at once create the tables once
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
            for statement in _DDL:
                conn.execute(statement)

    def add_user(self, name: str, password_hash: str) -> None:
        def add(c: psycopg.Connection[Any]) -> int:
            return c.execute(
                "INSERT INTO users VALUES (%s, %s, %s) ON CONFLICT (name) DO NOTHING",
                (name, password_hash, dt.datetime.now(dt.UTC)),
            ).rowcount

        if self._run("adding a user", add) == 0:
            raise StoreError(f"user {name!r} exists already")

    def set_password(self, name: str, password_hash: str) -> None:
        self._need(name)
        self._run(
            "setting a password",
            lambda c: c.execute(
                "UPDATE users SET password_hash = %s WHERE name = %s", (password_hash, name)
            ),
        )

    def user(self, name: str) -> UserRecord | None:
        def read(c: psycopg.Connection[Any]) -> UserRecord | None:
            row = c.execute(
                "SELECT name, password_hash FROM users WHERE name = %s", (name,)
            ).fetchone()
            if row is None:
                return None
            grants = c.execute(
                "SELECT role, site FROM grants WHERE name = %s ORDER BY site, role", (name,)
            ).fetchall()
            return UserRecord(row[0], row[1], tuple(Grant(r, s) for r, s in grants))

        return self._run("reading a user", read)

    def users(self) -> list[UserRecord]:
        names = self._run(
            "listing users",
            lambda c: [r[0] for r in c.execute("SELECT name FROM users ORDER BY name")],
        )
        return [u for n in names if (u := self.user(n)) is not None]

    def _need(self, name: str) -> None:
        if self.user(name) is None:
            raise StoreError(f"no user {name!r}")

    def grant(self, name: str, role: str, site: str) -> None:
        self._need(name)
        self._run(
            "granting a role",
            lambda c: c.execute(
                "INSERT INTO grants VALUES (%s, %s, %s) ON CONFLICT DO NOTHING", (name, role, site)
            ),
        )

    def revoke(self, name: str, role: str, site: str) -> None:
        self._run(
            "revoking a role",
            lambda c: c.execute(
                "DELETE FROM grants WHERE name = %s AND role = %s AND site = %s",
                (name, role, site),
            ),
        )

    def add_session(self, token_digest: str, name: str, expires: dt.datetime) -> None:
        self._run(
            "opening a session",
            lambda c: c.execute(
                "INSERT INTO sessions VALUES (%s, %s, %s)", (token_digest, name, expires)
            ),
        )

    def session_user(self, token_digest: str, now: dt.datetime) -> str | None:
        row = self._run(
            "reading a session",
            lambda c: c.execute(
                "SELECT name FROM sessions WHERE token_digest = %s AND expires > %s",
                (token_digest, now),
            ).fetchone(),
        )
        return None if row is None else str(row[0])

    def drop_session(self, token_digest: str) -> None:
        self._run(
            "closing a session",
            lambda c: c.execute("DELETE FROM sessions WHERE token_digest = %s", (token_digest,)),
        )
