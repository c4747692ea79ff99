"""Contract: appends are idempotent by event id; queries filter by window, subtree and kind."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pyarrow as pa
import pytest

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
from factoryos.model.states import MachineState
from factoryos.store.arrow import EVENT_SCHEMA, events_to_table, table_to_events
from factoryos.store.protocol import EventStore

T0 = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def state(eid: str, minutes: float, path: str, s: str = "producing") -> StateChange:
    return StateChange(eid, at(minutes), path, MachineState(s))


def mixed() -> list[Event]:
    """One event of every kind, on two lines."""
    return [
        state("s1", 0, "e/s/a/l1/m/1"),
        state("s2", 5, "e/s/a/l1/m/2", "idle"),
        StateChange("s3", at(7), "e/s/a/l1/m/1", MachineState.FAULT, reason="jam"),
        ProductionCount(
            "c1",
            at(1),
            "e/s/a/l1/m/1",
            product="p",
            good=3,
            scrap=1,
            rework=0,
            order_id="o1",
            operation="op",
        ),
        EnergyReading("n1", at(2), "e/s/a/l2/x", energy_kwh=1.25),
        SensorSample("x1", at(3), "e/s/a/l2/x", sensor="temp", value=21.5, unit="degC"),
        OrderEvent(
            "o1s",
            at(0),
            "e/s/a/l1",
            kind=EventKind.ORDER_START,
            order_id="o1",
            product="p",
            quantity=10,
        ),
        OrderEvent("o1e", at(9), "e/s/a/l1", kind=EventKind.ORDER_END, order_id="o1", product="p"),
        OperationEvent(
            "op1",
            at(0.5),
            "e/s/a/l1/m/1",
            kind=EventKind.OPERATION_START,
            order_id="o1",
            product="p",
            operation="op",
        ),
    ]


def ids(table: pa.Table) -> list[str]:
    return table.column("event_id").to_pylist()


def test_empty_store(store: EventStore) -> None:
    assert store.count() == 0
    assert store.time_range() is None
    assert store.events().num_rows == 0
    assert store.events().schema == EVENT_SCHEMA


def test_round_trip_every_kind(store: EventStore) -> None:
    events = mixed()
    assert store.append(events).inserted == len(events)
    table = store.events()
    assert table.schema == EVENT_SCHEMA
    assert sorted(table_to_events(table), key=lambda e: e.event_id) == sorted(
        events, key=lambda e: e.event_id
    )
    assert ids(table) == ["o1s", "s1", "op1", "c1", "n1", "x1", "s2", "s3", "o1e"]
    assert store.time_range() == (at(0), at(9))


def test_same_batch_twice_is_idempotent(store: EventStore) -> None:
    events = mixed()
    first = store.append(events)
    second = store.append(events)
    assert (first.inserted, first.duplicates) == (len(events), 0)
    assert (second.inserted, second.duplicates) == (0, len(events))
    assert store.count() == len(events)


def test_overlapping_batches_arrow_and_events(store: EventStore) -> None:
    events = mixed()
    assert store.append(events[:5]).inserted == 5
    result = store.append(events_to_table(events[3:]))  # 2 already stored, 4 new
    assert (result.inserted, result.duplicates) == (4, 2)
    assert store.count() == len(events)


def test_duplicate_within_batch_counts_once(store: EventStore) -> None:
    events = mixed()
    result = store.append([*events, events[0], events[3]])
    assert (result.inserted, result.duplicates) == (len(events), 2)
    assert store.count() == len(events)


def test_id_unique_across_kinds(store: EventStore) -> None:
    # The same id reused by an event of another kind is still a duplicate.
    store.append([state("same", 0, "e/s/a/l1/m/1")])
    result = store.append([EnergyReading("same", at(1), "e/s/a/l1/m/1", energy_kwh=1.0)])
    assert (result.inserted, result.duplicates) == (0, 1)
    result = store.append([state("other", 0, "e/s/a/l1/m/1")])
    store.append([EnergyReading("e", at(1), "e/s/a/l1/m/1", energy_kwh=1.0)])
    result = store.append([state("e", 2, "e/s/a/l1/m/1")])
    assert (result.inserted, result.duplicates) == (0, 1)
    assert store.count() == 3


def test_arrow_table_with_partial_columns(store: EventStore) -> None:
    table = pa.table(
        {
            "event_id": ["a", "b"],
            "ts": pa.array([at(0), at(1)], pa.timestamp("us", tz="UTC")),
            "kind": ["state", "energy"],
            "path": ["e/s/a/l1/m/1", "e/s/a/l1/m/1"],
            "state": ["idle", None],
            "energy_kwh": [None, 2.5],
        }
    )
    assert store.append(table).inserted == 2
    out = store.events()
    assert out.column("energy_kwh").to_pylist() == [None, 2.5]
    assert out.column("state").to_pylist() == ["idle", None]


def test_bad_arrow_table_is_a_store_error(store: EventStore) -> None:
    with pytest.raises(StoreError, match="path"):
        store.append(pa.table({"event_id": ["a"], "ts": [at(0)], "kind": ["state"]}))
    with pytest.raises(StoreError, match="'bogus'"):
        store.append(pa.table({"event_id": ["a"], "ts": [at(0)], "kind": ["bogus"], "path": ["p"]}))
    assert store.count() == 0


def test_window_is_half_open(store: EventStore) -> None:
    store.append(mixed())
    assert ids(store.events(start=at(1), end=at(5))) == ["c1", "n1", "x1"]
    assert ids(store.events(start=at(7))) == ["s3", "o1e"]
    assert ids(store.events(end=at(0.5))) == ["o1s", "s1"]


def test_subtree_and_kinds(store: EventStore) -> None:
    store.append(mixed())
    assert ids(store.events(node="e/s/a/l1/m/1")) == ["s1", "op1", "c1", "s3"]
    assert ids(store.events(node="e/s/a/l1/m")) == ["s1", "op1", "c1", "s2", "s3"]
    assert ids(store.events(node="e/s/a/l2/")) == ["n1", "x1"]
    assert ids(store.events(node="e/s/a/l")) == []  # a prefix of a name is not a parent
    assert ids(store.events(kinds=[EventKind.STATE])) == ["s1", "s2", "s3"]
    assert ids(store.events(node="e/s/a/l1", kinds=[EventKind.ORDER_START, EventKind.COUNT])) == [
        "o1s",
        "c1",
    ]


def test_subtree_has_no_wildcards(store: EventStore) -> None:
    store.append(
        [
            state("a", 0, "e/s/a/l_x/m"),
            state("b", 1, "e/s/a/lyx/m"),
            state("c", 2, "e/s/a/l%/m"),
            state("d", 3, "e/s/a/l%x/m"),
        ]
    )
    assert ids(store.events(node="e/s/a/l_x")) == ["a"]
    assert ids(store.events(node="e/s/a/l%")) == ["c"]


def test_stores_are_independent(store_factory: Callable[[], EventStore]) -> None:
    one, two = store_factory(), store_factory()
    one.append(mixed())
    assert two.count() == 0
