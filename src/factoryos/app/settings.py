"""Settings of a factoryos process: the only place that reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DB = "factoryos.duckdb"


@dataclass(frozen=True, slots=True)
class Settings:
    """Where data lives. ``db`` is a DuckDB file path (the embedded default) or ``:memory:``."""

    db: str = DEFAULT_DB

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(db=env.get("FACTORYOS_DB", DEFAULT_DB))

    def with_db(self, db: str | Path | None) -> Settings:
        return self if db is None else Settings(db=str(db))
