"""Regenerate ``examples/events_3days.csv``: three days of the reference robot plant's twin.

The file is the event log the README's main job imports; it is the twin's output written in the
canonical event schema (docs/events.md), so it reads exactly like a log exported from a real plant.

    .venv/bin/python examples/make_example_events.py
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from factoryos.app.simulation import run_simulation
from factoryos.model import load_plant
from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.files import write_events

HERE = Path(__file__).parent
DAYS = 3
SEED = 7


def main() -> None:
    plant = load_plant(HERE / "robot_factory.yaml")
    start = dt.datetime(2026, 3, 2, tzinfo=plant.zone)  # a Monday
    with DuckDBStore(":memory:") as store:
        run_simulation(plant, days=DAYS, seed=SEED, store=store, start=start)
        written = write_events(store.events(), HERE / "events_3days.csv")
    print(f"wrote {written:,} events to {HERE / 'events_3days.csv'}")


if __name__ == "__main__":
    main()
