"""A small simulated plant in a DuckDB store, shared by the assessment tests of one module."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from factoryos.app.simulation import run_simulation
from factoryos.model.loader import load_plant
from factoryos.model.plant import Plant
from factoryos.store.duckdb_store import DuckDBStore

FIXTURES = Path(__file__).parents[1] / "fixtures"
START = dt.datetime(2026, 3, 2, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture(scope="module")
def mini_plant() -> Plant:
    return load_plant(FIXTURES / "mini_plant.yaml")


@pytest.fixture(scope="module")
def mini_store(
    mini_plant: Plant, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DuckDBStore]:
    """Four weeks of the mini plant from Monday 2026-03-02 (plant-local)."""
    store = DuckDBStore(str(tmp_path_factory.mktemp("assess") / "events.duckdb"))
    run_simulation(mini_plant, days=28, seed=3, demand_per_year=15_000, start=START, store=store)
    yield store
    store.close()
