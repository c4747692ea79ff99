"""``factoryos import``: counts, idempotency, rejects with reasons, nothing silently dropped."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from factoryos.cli.main import app
from factoryos.store.duckdb_store import DuckDBStore

FIXTURES = Path(__file__).parents[1] / "fixtures"
PLANT = str(FIXTURES / "mini_plant.yaml")
CNC1 = "acme/plant1/main/line1/cnc/1"
runner = CliRunner(env={"COLUMNS": "200"})

ROWS = [
    # good rows
    {
        "event_id": "a1",
        "ts": "2026-01-05T08:00:00+08:00",
        "kind": "state",
        "path": CNC1,
        "state": "producing",
    },
    {
        "event_id": "a2",
        "ts": "2026-01-05T10:00:00+08:00",
        "kind": "state",
        "path": CNC1,
        "state": "fault",
        "reason": "spindle",
    },
    {
        "event_id": "a3",
        "ts": "2026-01-05T11:00:00Z",
        "kind": "count",
        "path": CNC1,
        "product": "part",
        "operation": "mill",
        "good": "5",
    },
    # bad rows, one per reason
    {"event_id": "b1", "ts": "2026-01-05T09:00:00", "kind": "state", "path": CNC1, "state": "idle"},
    {
        "event_id": "b2",
        "ts": "2026-01-05T09:00:00+08:00",
        "kind": "state",
        "path": CNC1,
        "state": "sleeping",
    },
    {
        "event_id": "b3",
        "ts": "2026-01-05T09:00:00+08:00",
        "kind": "state",
        "path": "acme/plant1/main/line1/lathe",
        "state": "idle",
    },
    {
        "event_id": "b4",
        "ts": "2026-01-05T09:00:00+08:00",
        "kind": "count",
        "path": CNC1,
        "product": "part",
        "good": "-3",
    },
    {
        "event_id": "a1",
        "ts": "2026-01-05T12:00:00+08:00",
        "kind": "state",
        "path": CNC1,
        "state": "idle",
    },
]
FIELDS = ["event_id", "ts", "kind", "path", "state", "reason", "product", "operation", "good"]


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def test_import_stores_good_rows_and_keeps_bad_ones_with_a_reason(tmp_path: Path) -> None:
    events, db = tmp_path / "events.csv", tmp_path / "plant.duckdb"
    _write(events, ROWS)
    result = runner.invoke(app, ["import", str(events), "--db", str(db), "--plant", PLANT])
    assert result.exit_code == 0, result.output
    rejects = tmp_path / "events.rejects.csv"
    assert rejects.exists()
    with rejects.open() as f:
        rejected = list(csv.DictReader(f))
    assert len(rejected) + 3 == len(ROWS)  # nothing silently dropped
    reasons = {r["event_id"] + "@" + r["ts"]: r["reject_reason"] for r in rejected}
    assert "time zone" in reasons["b1@2026-01-05T09:00:00"]
    assert "sleeping" in reasons["b2@2026-01-05T09:00:00+08:00"]
    assert "lathe" in reasons["b3@2026-01-05T09:00:00+08:00"]
    assert "-3" in reasons["b4@2026-01-05T09:00:00+08:00"]
    assert any("a1" in key for key in reasons)  # the repeated id
    with DuckDBStore(db) as store:
        assert store.count() == 3
    assert "rejected row(s)" in result.output


def test_importing_twice_adds_nothing_and_strict_fails_on_rejects(tmp_path: Path) -> None:
    events, db = tmp_path / "events.csv", tmp_path / "plant.duckdb"
    _write(events, ROWS[:3])
    first = runner.invoke(app, ["import", str(events), "--db", str(db)])
    again = runner.invoke(app, ["import", str(events), "--db", str(db)])
    assert first.exit_code == again.exit_code == 0
    with DuckDBStore(db) as store:
        assert store.count() == 3
    _write(events, ROWS)
    strict = runner.invoke(app, ["import", str(events), "--db", str(db), "--strict"])
    assert strict.exit_code == 2
