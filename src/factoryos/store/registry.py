"""The programme registry: many factories' levels, scores, gains, daily figures and densities in
one DuckDB file, plus the submissions that were kept aside with their reason.

The registry speaks Arrow tables whose columns are fixed here (``SCHEMAS``); the programme engine
(``factoryos.assess.program``) works on them after ``factoryos.app`` turns them into its records.
Writing a factory replaces everything stored for it, so loading the same document twice is
idempotent.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa

from factoryos.model.errors import StoreError

SCHEMAS: dict[str, pa.Schema] = {
    "factories": pa.schema(
        [
            ("factory_id", pa.string()),
            ("name", pa.string()),
            ("district", pa.string()),
            ("industry", pa.string()),
            ("certification_year", pa.int64()),
            ("type", pa.string()),
            ("level", pa.int64()),
            ("total_score", pa.float64()),
            ("robots", pa.int64()),
            ("employees", pa.int64()),
            ("assumed_axes", pa.int64()),
            ("public_key", pa.string()),
            ("source", pa.string()),  # "document" | "store" | "generated"
        ]
    ),
    "scores": pa.schema(
        [
            ("factory_id", pa.string()),
            ("level", pa.int64()),
            ("sub_domain", pa.string()),
            ("score", pa.float64()),
        ]
    ),
    "days": pa.schema(
        [
            ("factory_id", pa.string()),
            ("period", pa.string()),
            ("day", pa.date32()),
            ("value_added_cny", pa.float64()),
            ("good_units", pa.float64()),
            ("labour_h", pa.float64()),
            ("operating_cost_cny", pa.float64()),
            ("energy_kwh", pa.float64()),
            ("oee_good_run_s", pa.float64()),
            ("pbt_s", pa.float64()),
        ]
    ),
}
_TYPES = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.date32(): "DATE",
}


class Registry:
    """A DuckDB file (or ``:memory:``) holding the programme's factories."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        """``read_only``: an existing file, opened to read (a server beside the writing CLI)."""
        try:
            self._db = duckdb.connect(str(path), read_only=read_only)
            if read_only:
                return
            for name, schema in SCHEMAS.items():
                cols = ", ".join(f"{f.name} {_TYPES[f.type]}" for f in schema)
                self._db.execute(f"CREATE TABLE IF NOT EXISTS {name} ({cols})")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS rejected "
                "(source VARCHAR, reason VARCHAR, rejected_at TIMESTAMPTZ)"
            )
        except duckdb.Error as exc:
            raise StoreError(f"cannot open the registry {str(path)!r}: {exc}") from exc

    def put(self, tables: dict[str, pa.Table]) -> None:
        """Replace the stored rows of every factory that ``tables["factories"]`` names."""
        try:
            self._db.execute("BEGIN")
            ids = tables["factories"].select(["factory_id"])
            self._db.register("_ids", ids)
            for name in SCHEMAS:
                self._db.execute(
                    f"DELETE FROM {name} WHERE factory_id IN (SELECT factory_id FROM _ids)"
                )
                table = tables.get(name)
                if table is not None and table.num_rows:
                    self._db.register(
                        "_rows", table.select(SCHEMAS[name].names).cast(SCHEMAS[name])
                    )
                    self._db.execute(f"INSERT INTO {name} SELECT * FROM _rows")
                    self._db.unregister("_rows")
            self._db.unregister("_ids")
            self._db.execute("COMMIT")
        except (duckdb.Error, pa.ArrowInvalid, KeyError) as exc:
            self._db.execute("ROLLBACK")
            raise StoreError(f"cannot store factories: {exc}") from exc

    def reject(self, source: str, reason: str) -> None:
        """Keep a submission aside with why it was not loaded."""
        self._db.execute(
            "INSERT INTO rejected VALUES (?, ?, ?)", [source, reason, dt.datetime.now(dt.UTC)]
        )

    def table(self, name: str) -> pa.Table:
        """Every row of ``factories``, ``scores``, ``days`` or ``rejected``."""
        if name not in SCHEMAS and name != "rejected":
            raise StoreError(f"the registry has no table {name!r}")
        order = "factory_id" if name in SCHEMAS else "rejected_at"
        extra = (
            ", period, day" if name == "days" else ", level, sub_domain" if name == "scores" else ""
        )
        return self._db.sql(f"SELECT * FROM {name} ORDER BY {order}{extra}").to_arrow_table()

    def public_key(self, factory_id: str) -> str | None:
        """The key the factory's earlier submissions were signed with, if any."""
        rows = self._db.execute(
            "SELECT public_key FROM factories WHERE factory_id = ?", [factory_id]
        ).fetchall()
        return rows[0][0] if rows else None

    def count(self) -> int:
        [(count,)] = self._db.execute("SELECT count(*) FROM factories").fetchall()
        return int(count)

    def close(self) -> None:
        self._db.close()
