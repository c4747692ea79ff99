"""Event files: CSV and Parquet round trips, and every reason a row is rejected, with counts."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from factoryos.model import load_plant
from factoryos.model.errors import StoreError
from factoryos.model.events import (
    EnergyReading,
    Event,
    EventKind,
    OperationEvent,
    OrderEvent,
    ProductionCount,
    SensorSample,
    StateChange,
)
from factoryos.model.plant import Plant
from factoryos.model.states import MachineState
from factoryos.store.arrow import EVENT_SCHEMA, events_to_table, table_to_events
from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.files import (
    REJECT_REASON,
    import_events,
    read_events,
    write_events,
    write_rejects,
)

ROOT = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)
HEADER = "event_id,ts,kind,path,state,reason,product,good,scrap,energy_kwh"


@pytest.fixture(scope="module")
def plant() -> Plant:
    return load_plant(ROOT / "examples" / "robot_factory.yaml")


def every_kind() -> list[Event]:
    t = [T0 + dt.timedelta(seconds=s, microseconds=250) for s in range(9)]
    return [
        StateChange("s1", t[0], "e/s/a/l/m/1", MachineState.PRODUCING),
        StateChange("s2", t[1], "e/s/a/l/m/1", MachineState.FAULT, reason="spindle, jam"),
        ProductionCount("c1", t[2], "e/s/a/l/m/1", "arm", 3, 1, 2, "o1", "op10"),
        ProductionCount("c2", t[3], "e/s/a/l/m/2", "arm"),
        EnergyReading("n1", t[4], "e/s/a/l/m/1", 0.1 + 0.2),
        SensorSample("x1", t[5], "e/s/a/l/m/1", "temp", -3.25, None),
        OrderEvent("o1", t[6], "e/s/a/l", EventKind.ORDER_START, "o1", "arm", 10),
        OrderEvent("o2", t[7], "e/s/a/l", EventKind.ORDER_END, "o1", "arm"),
        OperationEvent("p1", t[8], "e/s/a/l/m/1", EventKind.OPERATION_END, "o1", "arm", "op10"),
    ]


@pytest.mark.parametrize("name", ["events.csv", "events.parquet"])
def test_round_trip(tmp_path: Path, name: str) -> None:
    events = every_kind()
    assert write_events(events, tmp_path / name) == len(events)
    result = read_events(tmp_path / name)
    assert (result.read, result.accepted, result.rejected) == (9, 9, 0)
    assert result.events.schema == EVENT_SCHEMA
    assert table_to_events(result.events) == events


def test_arrow_conversion_round_trip() -> None:
    events = every_kind()
    table = events_to_table(events)
    assert table.schema == EVENT_SCHEMA
    assert table_to_events(table) == events


def test_csv_offsets_are_converted_to_utc(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(
        HEADER
        + "\na,2024-03-01T16:00:00+08:00,state,p/1,idle,,,,,"
        + "\nb,2024-03-01 08:00:01Z,state,p/1,idle,,,,,"
        + "\nc,2024-03-01T03:00:02-0500,state,p/1,idle,,,,,\n"
    )
    result = read_events(path)
    assert result.rejected == 0
    assert result.events["ts"].to_pylist() == [
        T0,
        T0 + dt.timedelta(seconds=1),
        T0 + dt.timedelta(seconds=2),
    ]


BAD_CSV = """\
    event_id,ts,kind,path,state,reason,product,good,scrap,energy_kwh
    ok1,2024-03-01T08:00:00Z,state,{unit},producing,,,,,
    ,2024-03-01T08:00:00Z,state,{unit},producing,,,,,
    nokind,2024-03-01T08:00:00Z,,{unit},idle,,,,,
    badkind,2024-03-01T08:00:00Z,stat,{unit},idle,,,,,
    nostate,2024-03-01T08:01:00Z,state,{unit},,,,,,
    badstate,2024-03-01T08:01:00Z,state,{unit},runing,,,,,
    noproduct,2024-03-01T08:01:00Z,count,{unit},,,,1,,
    noenergy,2024-03-01T08:01:00Z,energy,{unit},,,,,,
    nozone,2024-03-01T08:01:00,state,{unit},idle,,,,,
    badts,2024-03-01T25:01:00Z,state,{unit},idle,,,,,
    nots,,state,{unit},idle,,,,,
    negcount,2024-03-01T08:01:00Z,count,{unit},,,arm,-2,,
    notint,2024-03-01T08:01:00Z,count,{unit},,,arm,two,,
    negenergy,2024-03-01T08:01:00Z,energy,{unit},,,,,,-0.5
    ok1,2024-03-01T08:02:00Z,state,{unit},idle,,,,,
    ghost,2024-03-01T08:01:00Z,state,acme/nowhere/x,idle,,,,,
    clash1,2024-03-01T09:00:00Z,state,{unit},idle,,,,,
    clash2,2024-03-01T09:00:00Z,state,{unit},fault,,,,,
    same1,2024-03-01T09:30:00Z,state,{unit},idle,,,,,
    same2,2024-03-01T09:30:00Z,state,{unit},idle,,,,,
    ok2,2024-03-01T08:01:00Z,count,{unit},,,arm,0,1,
    ok3,2024-03-01T08:01:00Z,energy,{unit},,,,,,1.5
    two,2024-03-01T08:01:00,bogus,{unit},,,,,,
    """

EXPECTED = {
    2: "event_id: missing",
    3: "kind: missing",
    4: "kind: unknown kind 'stat'",
    5: "state: a state event needs 'state'",
    6: "state: unknown state 'runing'",
    7: "product: a count event needs 'product'",
    8: "energy_kwh: a energy event needs 'energy_kwh'",
    9: "ts: timestamp has no time zone (add Z or an offset): '2024-03-01T08:01:00'",
    10: "ts: cannot parse timestamp '2024-03-01T25:01:00Z'",
    11: "ts: missing",
    12: "good: negative value '-2'",
    13: "good: not an integer: 'two'",
    14: "energy_kwh: negative value '-0.5'",
    15: "event_id: duplicate id 'ok1', first at row 1",
    16: "path: not a work unit of the plant: 'acme/nowhere/x'",
    17: "ts: overlapping state intervals: '{unit}' has another state than 'idle' at "
    "'2024-03-01T09:00:00Z'",
    18: "ts: overlapping state intervals: '{unit}' has another state than 'fault' at "
    "'2024-03-01T09:00:00Z'",
    23: "ts: timestamp has no time zone (add Z or an offset): '2024-03-01T08:01:00'; "
    "kind: unknown kind 'bogus'",
}


def test_every_reject_reason(tmp_path: Path, plant: Plant) -> None:
    unit = plant.work_units[0].path
    path = tmp_path / "bad.csv"
    path.write_text(textwrap.dedent(BAD_CSV).format(unit=unit))
    result = read_events(path, plant)
    assert (result.read, result.accepted, result.rejected) == (23, 5, 18)
    assert result.events["event_id"].to_pylist() == ["ok1", "same1", "same2", "ok2", "ok3"]
    reasons = dict(
        zip(
            result.rejects["event_id"].to_pylist(),
            result.rejects[REJECT_REASON].to_pylist(),
            strict=True,
        )
    )
    lines = textwrap.dedent(BAD_CSV).splitlines()
    expected = {}
    for row, reason in EXPECTED.items():
        event_id = lines[row].split(",")[0] or None
        expected[event_id] = reason.format(unit=unit)
    assert reasons == expected


def test_rejects_file_keeps_original_columns(tmp_path: Path, plant: Plant) -> None:
    unit = plant.work_units[0].path
    path = tmp_path / "bad.csv"
    path.write_text(textwrap.dedent(BAD_CSV).format(unit=unit))
    result = read_events(path, plant)
    write_rejects(result.rejects, tmp_path / "rejects.csv")
    back = pa_csv.read_csv(tmp_path / "rejects.csv")
    assert back.column_names == [*HEADER.split(","), REJECT_REASON]
    assert back.num_rows == result.rejected
    row = back.filter(pa.compute.equal(back["event_id"], "notint")).to_pylist()[0]
    assert row["good"] == "two"


def test_order_events_may_name_a_line(tmp_path: Path, plant: Plant) -> None:
    unit = plant.work_units[0]
    line = unit.path.rsplit("/", 2)[0] if unit.equipment.units > 1 else unit.path.rsplit("/", 1)[0]
    events = [
        OrderEvent("o1", T0, line, EventKind.ORDER_START, "o1", "arm", 1),
        OrderEvent("o2", T0, "acme/else", EventKind.ORDER_END, "o1", "arm"),
        StateChange("s1", T0, line, MachineState.IDLE),  # a line is not a work unit
    ]
    write_events(events, tmp_path / "o.csv")
    result = read_events(tmp_path / "o.csv", plant)
    assert result.events["event_id"].to_pylist() == ["o1"]
    assert result.rejects[REJECT_REASON].to_pylist() == [
        "path: not a node of the plant: 'acme/else'",
        f"path: not a work unit of the plant: '{line}'",
    ]


def test_parquet_typed_columns_are_validated(tmp_path: Path) -> None:
    table = pa.table(
        {
            "event_id": ["a", "b", "c"],
            "ts": pa.array([T0, T0, T0], pa.timestamp("ms", tz="Asia/Shanghai")),
            "kind": ["count", "count", "energy"],
            "path": ["p/1", "p/1", "p/1"],
            "product": ["arm", "arm", None],
            "good": pa.array([1, -1, None], pa.int32()),
            "energy_kwh": pa.array([None, None, float("nan")], pa.float32()),
        }
    )
    pq.write_table(table, tmp_path / "e.parquet")
    result = read_events(tmp_path / "e.parquet")
    assert result.events["event_id"].to_pylist() == ["a"]
    assert result.events["ts"].to_pylist() == [T0]
    assert result.rejects[REJECT_REASON].to_pylist() == [
        "good: negative value '-1'",
        "energy_kwh: not a finite number 'nan'",
    ]


def test_parquet_timestamps_without_zone_are_rejected(tmp_path: Path) -> None:
    table = pa.table(
        {
            "event_id": ["a"],
            "ts": pa.array([dt.datetime(2024, 3, 1, 8)], pa.timestamp("us")),  # noqa: DTZ001
            "kind": ["state"],
            "path": ["p/1"],
            "state": ["idle"],
        }
    )
    pq.write_table(table, tmp_path / "naive.parquet")
    result = read_events(tmp_path / "naive.parquet")
    assert (result.read, result.accepted, result.rejected) == (1, 0, 1)
    assert result.rejects[REJECT_REASON][0].as_py().startswith("ts: timestamp has no time zone")


def test_unknown_file_type(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="unknown event file type"):
        read_events(tmp_path / "events.json")
    with pytest.raises(StoreError, match="cannot read"):
        read_events(tmp_path / "missing.csv")


def test_import_stores_good_rows_and_writes_rejects(tmp_path: Path, plant: Plant) -> None:
    unit = plant.work_units[0].path
    path = tmp_path / "bad.csv"
    path.write_text(textwrap.dedent(BAD_CSV).format(unit=unit))
    with DuckDBStore() as store:
        first = import_events(path, store, plant)
        again = import_events(path, store, plant, rejects_path=tmp_path / "r.csv")
        assert store.count() == 5
    assert (first.read, first.accepted, first.rejected) == (23, 5, 18)
    assert (first.inserted, first.duplicates) == (5, 0)
    assert (again.inserted, again.duplicates) == (0, 5)
    assert first.rejects_path == tmp_path / "bad.rejects.csv"
    assert pa_csv.read_csv(first.rejects_path).num_rows == 18
    assert again.rejects_path is not None and again.rejects_path.exists()


def test_docs_example_is_a_valid_event_log(tmp_path: Path, plant: Plant) -> None:
    text = (ROOT / "docs" / "events.md").read_text()
    block = text.split("```csv\n", 1)[1].split("```", 1)[0]
    (tmp_path / "example.csv").write_text(block)
    result = read_events(tmp_path / "example.csv", plant)
    assert (result.read, result.rejected) == (7, 0)
    assert {k.as_py() for k in result.events["kind"]} == {
        "state",
        "count",
        "energy",
        "sample",
        "order_start",
        "operation_start",
    }


RAGGED_CSV = """\
event_id,ts,kind,path,energy_kwh
e1,2026-03-02T08:00Z,energy,{unit},1.5
e2,2026-03-02T08:01Z,energy
e3,2026-03-02T08:02Z,energy,{unit},1.0,extra
e4,2026-03-02T08:03Z,energy,"{unit},2.0
e5,2026-03-02T08:04Z,energy,{unit},nan
e6,2026-03-02T08:05Z,energy,{unit},2.5
"""


def test_ragged_rows_are_rejected_with_their_line_and_the_rest_imports(
    tmp_path: Path, plant: Plant
) -> None:
    unit = plant.work_units[0].path
    path = tmp_path / "ragged.csv"
    path.write_text(RAGGED_CSV.format(unit=unit))
    with DuckDBStore() as store:
        result = import_events(path, store, plant)
        assert store.count() == 2
    assert (result.read, result.accepted, result.rejected) == (6, 2, 4)
    assert result.rejects_path is not None
    rejects = {
        r["event_id"]: r[REJECT_REASON] for r in pa_csv.read_csv(result.rejects_path).to_pylist()
    }
    assert rejects == {
        "e2": "line 3: 3 field(s), the header has 5: 'e2,2026-03-02T08:01Z,energy'",
        "e3": "line 4: 6 fields, the header has only 5: "
        f"'e3,2026-03-02T08:02Z,energy,{unit},1.0,extra'",
        "e4": "line 5: a quote opened on this line is never closed: "
        f"'e4,2026-03-02T08:03Z,energy,\"{unit},2.0'",
        "e5": "energy_kwh: not a finite number 'nan'",
    }


def test_na_and_null_texts_are_values_to_judge_not_missing(tmp_path: Path) -> None:
    path = tmp_path / "na.csv"
    path.write_text(f"{HEADER}\nx1,2026-03-02T08:00Z,count,e/s/a/l/m,,,NA,1,,\n")
    result = read_events(path)
    assert result.accepted == 1
    assert result.events["product"].to_pylist() == ["NA"]
