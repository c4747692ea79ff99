"""The DuckDB store's duplicate check through its in-memory key set: an id whose key another id
has is still stored (collisions forced with a key of two bits), the set is built from a file's
ids at open and again after another writer, and a file of an earlier version (with its
``event_keys`` table) opens and keeps its ids unique."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from factoryos.model.events import EnergyReading, StateChange
from factoryos.model.states import MachineState
from factoryos.store import duckdb_store
from factoryos.store.duckdb_store import DuckDBStore
from tests.contract import test_append_query as contract

T = dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)
PATH = "site/area/line/unit"

CONTRACT = [
    contract.test_round_trip_every_kind,
    contract.test_same_batch_twice_is_idempotent,
    contract.test_overlapping_batches_arrow_and_events,
    contract.test_duplicate_within_batch_counts_once,
    contract.test_id_unique_across_kinds,
    contract.test_arrow_table_with_partial_columns,
]


@pytest.fixture
def colliding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys of two bits: most ids of a batch share their key with another id."""
    monkeypatch.setattr(duckdb_store, "KEY_SQL", "hash(event_id) % 4")


@pytest.mark.parametrize("contract_test", CONTRACT, ids=lambda f: f.__name__)
def test_the_contracts_appends_hold_when_keys_collide(
    colliding: None, contract_test: object
) -> None:
    with DuckDBStore() as store:
        contract_test(store)  # type: ignore[operator]


def test_ids_sharing_keys_are_all_stored_once(colliding: None, tmp_path: Path) -> None:
    events = [EnergyReading(f"e{i}", T + dt.timedelta(seconds=i), PATH, 1.0) for i in range(50)]
    with DuckDBStore(tmp_path / "c.duckdb") as store:
        first = store.append(events[:30])
        second = store.append(events[20:])
        assert (first.inserted, second.inserted, second.duplicates) == (30, 20, 10)
    with DuckDBStore(tmp_path / "c.duckdb") as store:  # the set built from the file
        again = store.append([*events, StateChange("new", T, PATH, MachineState.IDLE)])
        assert (again.inserted, again.duplicates) == (1, 50)
        assert store.count() == 51


def test_a_file_of_the_earlier_key_table_opens_without_it(tmp_path: Path) -> None:
    """A file as main's store of 2026-12-07 left it past 500,000 events: its ids and an
    ``event_keys`` table (64 bits of each id's MD5, an ART primary key)."""
    db = tmp_path / "old.duckdb"
    with DuckDBStore(db) as store:
        store.append([EnergyReading(f"e{i}", T, PATH, 1.0) for i in range(3)])
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE event_keys (key UBIGINT PRIMARY KEY)")
        con.execute("INSERT INTO event_keys SELECT md5_number_lower(event_id) FROM other_events")
    with DuckDBStore(db) as store:
        result = store.append([EnergyReading(f"e{i}", T, PATH, 1.0) for i in range(4)])
        assert (result.inserted, result.duplicates) == (1, 3)
        tables = store._con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        assert "event_keys" not in {t for (t,) in tables}


def test_another_writer_in_the_process_is_seen(tmp_path: Path) -> None:
    """Two store objects on one file (DuckDB shares the database within a process): each one's
    appends are duplicates to the other."""
    db = tmp_path / "shared.duckdb"
    with DuckDBStore(db) as one, DuckDBStore(db) as two:
        one.append([StateChange("a", T, PATH, MachineState.IDLE)])
        assert two.append([StateChange("a", T, PATH, MachineState.IDLE)]).duplicates == 1
        two.append([StateChange("b", T, PATH, MachineState.IDLE)])
        result = one.append([StateChange(i, T, PATH, MachineState.IDLE) for i in "abc"])
        assert (result.inserted, result.duplicates) == (1, 2)
