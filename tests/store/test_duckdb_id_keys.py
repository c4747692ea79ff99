"""The DuckDB store's duplicate check through ``event_keys`` (64 bits of each id's MD5): an id whose
key is taken by another id is still stored, and a file from before the key table gets it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from factoryos.model.events import EnergyReading, StateChange
from factoryos.model.states import MachineState
from factoryos.store.duckdb_store import DuckDBStore

T = dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)
PATH = "site/area/line/unit"


def test_an_id_whose_key_is_taken_is_still_stored() -> None:
    """A 64-bit key collision, made by hand: the key of ``b`` is stored, ``b`` is not."""
    with DuckDBStore() as store:
        store._con.execute("INSERT INTO event_keys SELECT md5_number_lower('b')")
        first = store.append([StateChange("a", T, PATH, MachineState.IDLE)])
        both = store.append(
            [
                StateChange("a", T, PATH, MachineState.IDLE),
                EnergyReading("b", T, PATH, 1.5),
                EnergyReading("b", T, PATH, 1.5),
            ]
        )
        again = store.append([EnergyReading("b", T, PATH, 1.5)])
        assert (first.inserted, both.inserted, both.duplicates) == (1, 1, 2)
        assert (again.inserted, again.duplicates) == (0, 1)
        assert store.count() == 2


def test_a_file_without_the_key_table_gets_it(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    with DuckDBStore(db) as store:
        store.append(
            [StateChange("a", T, PATH, MachineState.IDLE), EnergyReading("b", T, PATH, 2.0)]
        )
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE event_keys")
    with DuckDBStore(db) as store:
        result = store.append(
            [EnergyReading("a", T, PATH, 1.0), StateChange("b", T, PATH, MachineState.IDLE)]
        )
        assert (result.inserted, result.duplicates) == (0, 2)
        assert store.count() == 2
