"""The DuckDB store's narrow sample table: plain samples (the ingester's) are stored in
``sample_events``, a sample that fills another kind's column in ``other_events``; both read back
as written, ids stay unique across the tables, and a file made before ``sample_events`` (its
samples in ``other_events``) opens, reads and deduplicates as before."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from factoryos.model.errors import StoreError
from factoryos.model.events import EnergyReading, EventKind, SensorSample, StateChange
from factoryos.model.states import MachineState
from factoryos.store.arrow import EVENT_SCHEMA, events_to_table
from factoryos.store.duckdb_store import SCHEMA, DuckDBStore

T = dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)
PATH = "site/area/line/unit"


def _sample(event_id: str, minute: int, value: float = 1.0) -> SensorSample:
    return SensorSample(event_id, T + dt.timedelta(minutes=minute), PATH, "temp", value, "degC")


def _rows(store: DuckDBStore, table: str) -> int:
    return int(store._con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def test_plain_samples_go_to_the_narrow_table_and_read_back(tmp_path: Path) -> None:
    samples = [_sample(f"s{i}", i, float(i)) for i in range(5)]
    with DuckDBStore(tmp_path / "a.duckdb") as store:
        assert store.append(samples).inserted == 5
        assert (_rows(store, "sample_events"), _rows(store, "other_events")) == (5, 0)
        assert store.events().equals(events_to_table(samples))
        assert store.events(kinds=[EventKind.SAMPLE]).num_rows == 5
        assert store.events(kinds=[EventKind.STATE]).num_rows == 0
        assert store.time_range() == (T, T + dt.timedelta(minutes=4))
    with DuckDBStore(tmp_path / "a.duckdb") as store:  # the key set built from the narrow table
        again = store.append([*samples, _sample("s5", 5)])
        assert (again.inserted, again.duplicates, store.count()) == (1, 5, 6)


def test_a_sample_filling_another_kinds_column_stays_in_the_long_table(tmp_path: Path) -> None:
    table = events_to_table([_sample("plain", 0), _sample("odd", 1)])
    odd = table.set_column(
        EVENT_SCHEMA.get_field_index("product"), "product", pa.array([None, "P-7"], pa.string())
    )
    with DuckDBStore(tmp_path / "b.duckdb") as store:
        assert store.append(odd).inserted == 2
        assert (_rows(store, "sample_events"), _rows(store, "other_events")) == (1, 1)
        assert store.events().equals(odd)


def test_an_id_two_kinds_use_in_one_batch_is_stored_once(tmp_path: Path) -> None:
    batch = [
        _sample("same", 0),
        EnergyReading("same", T, PATH, 1.0),
        StateChange("first", T, PATH, MachineState.IDLE),
        _sample("first", 1),
    ]
    with DuckDBStore(tmp_path / "c.duckdb") as store:
        result = store.append(batch)
        assert (result.inserted, result.duplicates) == (2, 2)
        read = store.events().to_pydict()
        kinds = dict(zip(read["event_id"], read["kind"], strict=True))
        assert kinds == {"same": "sample", "first": "state"}  # state, then sample, then other


def test_a_file_made_before_the_sample_table_opens_and_keeps_ids_unique(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    old = [_sample(f"old{i}", i) for i in range(3)]
    with DuckDBStore(db) as store:  # made as earlier versions did: samples in other_events
        store.append([EnergyReading("e", T, PATH, 1.0)])
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE sample_events")
        con.register("_old", events_to_table(old))
        con.execute("INSERT INTO other_events SELECT * EXCLUDE (state, reason) FROM _old")
    with DuckDBStore(db) as store:
        result = store.append([*old, _sample("new", 5)])  # a redelivery and one new sample
        assert (result.inserted, result.duplicates) == (1, 3)
        assert (_rows(store, "sample_events"), _rows(store, "other_events")) == (1, 4)
        read = store.events(kinds=[EventKind.SAMPLE])
        assert read.equals(events_to_table([*old, _sample("new", 5)]))
        assert store.count() == 5


def test_a_file_is_marked_with_its_schema_and_a_newer_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.duckdb"
    with duckdb.connect(str(path)) as con:  # a file of an earlier version: no mark
        con.execute("CREATE TABLE state_events (event_id VARCHAR)")
    with DuckDBStore(path):
        pass
    with duckdb.connect(str(path)) as con:
        assert con.execute("SELECT version FROM factoryos_schema").fetchall() == [(SCHEMA,)]
        con.execute("UPDATE factoryos_schema SET version = ?", [SCHEMA + 1])
    with pytest.raises(StoreError, match=f"newer factoryos \\(file schema {SCHEMA + 1}"):
        DuckDBStore(path)
