"""The DuckDB store's duplicate check through ``event_keys`` (64 bits of each id's MD5), which a
store uses from ``index_from`` stored events on: an id whose key is taken by another id is still
stored, the index is built when the store reaches its size (or is opened at it), and the
contract's append tests hold through it (the contract suite itself runs on small stores, which
anti-join)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from factoryos.model.events import EnergyReading, StateChange
from factoryos.model.states import MachineState
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


def _has_keys(store: DuckDBStore) -> bool:
    rows = store._con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'event_keys'"
    ).fetchall()
    return bool(rows[0][0])


@pytest.mark.parametrize("contract_test", CONTRACT, ids=lambda f: f.__name__)
def test_the_contracts_appends_hold_through_the_index(contract_test: object) -> None:
    with DuckDBStore(index_from=0) as store:
        assert _has_keys(store)
        contract_test(store)  # type: ignore[operator]


def test_an_id_whose_key_is_taken_is_still_stored() -> None:
    """A 64-bit key collision, made by hand: the key of ``b`` is stored, ``b`` is not."""
    with DuckDBStore(index_from=0) as store:
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


def test_the_index_is_built_when_the_store_reaches_its_size(tmp_path: Path) -> None:
    db = tmp_path / "growing.duckdb"
    events = [EnergyReading(f"e{i}", T + dt.timedelta(seconds=i), PATH, 1.0) for i in range(5)]
    with DuckDBStore(db, index_from=4) as store:
        store.append(events[:2])
        assert not _has_keys(store)
        store.append(events[2:4])
        assert _has_keys(store)
        result = store.append([*events, StateChange("e1", T, PATH, MachineState.IDLE)])
        assert (result.inserted, result.duplicates) == (1, 5)
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE event_keys")
    with DuckDBStore(db, index_from=4) as store:  # a file from before the index, at its size
        assert _has_keys(store)
        result = store.append([StateChange(f"e{i}", T, PATH, MachineState.IDLE) for i in range(6)])
        assert (result.inserted, result.duplicates) == (1, 5)
        assert store.count() == 6
