"""DuckDB allows one writing process per file: a second one gets a clear error, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factoryos.cli.main import app
from factoryos.model.errors import StoreError
from factoryos.store.duckdb_store import DuckDBStore

MESSAGE = "the file is open for writing by another process; use PostgreSQL for several writers"
HOLD = (
    "import sys; from factoryos.store.duckdb_store import DuckDBStore; "
    "s = DuckDBStore(sys.argv[1]); print('ready', flush=True); sys.stdin.read(); s.close()"
)


def test_a_second_writer_process_is_told_to_use_postgres(tmp_path: Path) -> None:
    db = tmp_path / "plant.duckdb"
    events = tmp_path / "events.csv"
    events.write_text("event_id,ts,kind,path,state\na,2026-01-05T08:00:00Z,state,e/s/l/m,idle\n")
    first = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError, match=MESSAGE):
            DuckDBStore(db)
        result = CliRunner(env={"FACTORYOS_DB": ""}).invoke(
            app, ["import", str(events), "--db", str(db)]
        )
        assert result.exit_code == 1
        assert MESSAGE in result.output and "Traceback" not in result.output
    finally:
        assert first.stdin is not None
        first.stdin.close()
        first.wait(timeout=60)
    with DuckDBStore(db) as store:  # once the first writer is gone, the file opens
        assert store.count() == 0
