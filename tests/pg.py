"""The real PostgreSQL the tests use, and a fresh schema per store.

The server is ``FACTORYOS_TEST_PG`` (default: the loopback server ``scripts/services.sh`` starts
and CI uses). Other sessions share it, so every store gets a schema of its own with a unique
name, dropped by :func:`drop_schemas` (the contract fixture calls it after each test).
"""

from __future__ import annotations

import functools
import os
import uuid
from typing import Any

import psycopg
from psycopg import sql

PG_URL = os.environ.get("FACTORYOS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
_created: list[str] = []


@functools.cache
def pg_unavailable() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when the server answers."""
    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"no PostgreSQL at {PG_URL}: {first}"
    return None


def new_schema() -> str:
    name = f"fos_test_{uuid.uuid4().hex[:12]}"
    _created.append(name)
    return name


def url_with_schema(schema: str) -> str:
    return f"{PG_URL}{'&' if '?' in PG_URL else '?'}schema={schema}"


def fresh_schema_url() -> str:
    """A store URL whose schema no one else uses (created by the store on open)."""
    return url_with_schema(new_schema())


def drop_schemas() -> None:
    """Drop the schemas made by this process so far."""
    if not _created:
        return
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        while _created:
            name = _created.pop()
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def run_sql(schema: str, text: str) -> list[tuple[Any, ...]]:
    """Run ``text`` in ``schema`` (autocommit); its rows, or [] for a statement without."""
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        cur = conn.execute(text)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []
