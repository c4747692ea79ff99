"""Bring an event log (CSV or Parquet) into the store the settings name."""

from __future__ import annotations

from pathlib import Path

from factoryos.app.settings import Settings
from factoryos.app.stores import open_store
from factoryos.model.plant import Plant
from factoryos.store.files import ImportResult, import_events, read_raw


def import_event_file(
    settings: Settings,
    events: Path,
    plant: Plant | None = None,
    rejects: Path | None = None,
) -> ImportResult:
    """Validate ``events`` (against ``plant`` when given), store the good rows, keep the bad."""
    store = open_store(settings)
    try:
        return import_events(events, store, plant, rejects)
    finally:
        store.close()


def reject_reasons(rejects: Path, limit: int) -> list[tuple[str, str]]:
    """The first ``limit`` rejected rows of a rejects file as (event id, reason)."""
    table = read_raw(rejects).slice(0, limit).to_pylist()
    return [(str(row.get("event_id") or ""), str(row["reject_reason"])) for row in table]
