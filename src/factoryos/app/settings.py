"""Settings of a factoryos process: the only place that reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DB = "factoryos.duckdb"


@dataclass(frozen=True, slots=True)
class Settings:
    """Where data lives: ``db`` is one URL for every command.

    A DuckDB file path (the embedded default, or ``:memory:``) or a PostgreSQL URL
    (``postgresql://user@host:5432/db``, optionally ``?schema=NAME``). ``FACTORYOS_DB`` sets it
    for the process; a command's ``--db`` overrides it. ``db_from_env`` is what the environment
    said (None when unset), for commands that store only when asked.
    """

    db: str = DEFAULT_DB
    db_from_env: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        named = env.get("FACTORYOS_DB") or None
        return cls(db=named or DEFAULT_DB, db_from_env=named)

    def with_db(self, db: str | Path | None) -> Settings:
        return self if db is None else Settings(db=str(db), db_from_env=self.db_from_env)
