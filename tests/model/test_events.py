"""Canonical events: UTC timestamps, validation naming the field, and row round-trips."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from factoryos.model import (
    COLUMN_NAMES,
    EnergyReading,
    Event,
    EventError,
    EventKind,
    MachineState,
    OperationEvent,
    OrderEvent,
    ProductionCount,
    SensorSample,
    StateChange,
    event_from_row,
    event_to_row,
)

TS = dt.datetime(2026, 3, 2, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
PATH = "step_robotics/jiading/final_assembly/arm_assembly/arm_station/3"


def test_naive_timestamp_is_rejected_naming_event_and_field() -> None:
    with pytest.raises(EventError) as caught:
        StateChange("e1", dt.datetime(2026, 3, 2, 8), PATH, MachineState.PRODUCING)  # noqa: DTZ001
    assert caught.value.event_id == "e1"
    assert caught.value.field == "ts"
    assert str(caught.value) == "event 'e1': ts: timestamp 2026-03-02T08:00:00 has no time zone"


def test_timestamps_are_stored_in_utc() -> None:
    event = StateChange("e1", TS, PATH, MachineState.SETUP)
    assert event.ts == dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)
    assert event.ts.tzinfo is dt.UTC


def test_unknown_state_and_negative_counts_are_rejected() -> None:
    with pytest.raises(EventError, match="state: unknown state 'dancing'"):
        StateChange("e1", TS, PATH, "dancing")  # type: ignore[arg-type]
    with pytest.raises(EventError, match="scrap: negative count -1"):
        ProductionCount("e2", TS, PATH, product="sr6", scrap=-1)
    with pytest.raises(EventError, match="energy_kwh"):
        EnergyReading("e3", TS, PATH, energy_kwh=float("nan"))
    with pytest.raises(EventError, match="empty path"):
        EnergyReading("e4", TS, "", energy_kwh=1.0)


EVENTS: list[Event] = [
    StateChange("s1", TS, PATH, MachineState.FAULT, reason="torque tool"),
    StateChange("s2", TS, PATH, MachineState.IDLE),
    ProductionCount("c1", TS, PATH, "sr6", good=9, scrap=1, rework=2, order_id="o1", operation="a"),
    EnergyReading("k1", TS, PATH, energy_kwh=1.25),
    SensorSample("x1", TS, PATH, sensor="spindle_temp", value=41.5, unit="degC"),
    OrderEvent("o1s", TS, "step_robotics/jiading", EventKind.ORDER_START, "o1", "sr6", 50),
    OrderEvent("o1e", TS, "step_robotics/jiading", EventKind.ORDER_END, "o1", "sr6"),
    OperationEvent("p1", TS, PATH, EventKind.OPERATION_START, "o1", "sr6", "arm_assembly"),
    OperationEvent("p2", TS, PATH, EventKind.OPERATION_END, "o1", "sr6", "arm_assembly"),
]


@pytest.mark.parametrize("event", EVENTS, ids=[e.event_id for e in EVENTS])
def test_row_round_trip(event: Event) -> None:
    row = event_to_row(event)
    assert tuple(row) == COLUMN_NAMES
    assert event_from_row(row) == event


def test_row_of_a_state_change() -> None:
    row = event_to_row(EVENTS[0])
    assert row["kind"] == "state"
    assert row["state"] == "fault"
    assert row["good"] is None


def test_bad_rows_name_the_field() -> None:
    row = event_to_row(EVENTS[0])
    with pytest.raises(EventError, match="kind: unknown kind 'explosion'"):
        event_from_row({**row, "kind": "explosion"})
    with pytest.raises(EventError, match="state: a state event needs 'state'"):
        event_from_row({**row, "state": ""})
    with pytest.raises(EventError, match=r"ts: timestamp .* has no time zone"):
        event_from_row({**row, "ts": dt.datetime(2026, 1, 1)})  # noqa: DTZ001
