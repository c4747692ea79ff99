"""Canonical events: what a plant (real or simulated) says about itself.

Every event has a unique ``event_id`` (writes are idempotent on it), a timezone-aware UTC ``ts``
and the ISA-95 ``path`` of the work unit (or order's line) it concerns. Files and stores hold them
in one long table whose columns are :data:`EVENT_COLUMNS` (documented in ``docs/events.md``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from factoryos.model.errors import EventError
from factoryos.model.states import MachineState


class EventKind(StrEnum):
    STATE = "state"
    COUNT = "count"
    ENERGY = "energy"
    SAMPLE = "sample"
    ORDER_START = "order_start"
    ORDER_END = "order_end"
    OPERATION_START = "operation_start"
    OPERATION_END = "operation_end"


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    name: str
    type: str  # "string" | "timestamp" | "int64" | "float64"
    description: str


EVENT_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("event_id", "string", "unique id; a second event with the same id is a duplicate"),
    ColumnSpec("ts", "timestamp", "when it happened, ISO 8601 with a zone; stored in UTC"),
    ColumnSpec("kind", "string", "one of: " + ", ".join(k.value for k in EventKind)),
    ColumnSpec("path", "string", "ISA-95 path of the work unit, e.g. acme/site/area/line/cnc/3"),
    ColumnSpec("state", "string", "state events: the state entered (see MachineState)"),
    ColumnSpec("reason", "string", "state events: why (downtime reason code), optional"),
    ColumnSpec("product", "string", "counts, orders, operations: product id"),
    ColumnSpec("order_id", "string", "counts, orders, operations: production order id"),
    ColumnSpec("operation", "string", "counts, operations: routing operation id"),
    ColumnSpec("good", "int64", "counts: good units (GQ)"),
    ColumnSpec("scrap", "int64", "counts: scrapped units (SQ)"),
    ColumnSpec("rework", "int64", "counts: units sent to rework (RQ)"),
    ColumnSpec("quantity", "int64", "order_start: ordered quantity"),
    ColumnSpec("energy_kwh", "float64", "energy: kWh consumed since the unit's previous reading"),
    ColumnSpec("sensor", "string", "samples: sensor name"),
    ColumnSpec("value", "float64", "samples: measured value"),
    ColumnSpec("unit", "string", "samples: unit of the value"),
)
COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in EVENT_COLUMNS)


_UTC = dt.UTC


def _utc(event_id: str, ts: dt.datetime) -> dt.datetime:
    if not isinstance(ts, dt.datetime):
        raise EventError(f"expected a datetime, got {ts!r}", event_id=event_id, field="ts")
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise EventError(
            f"timestamp {ts.isoformat()} has no time zone", event_id=event_id, field="ts"
        )
    return ts.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class _Event:
    event_id: str
    ts: dt.datetime
    path: str

    def __post_init__(self) -> None:
        if not self.event_id:
            raise EventError("empty event id", field="event_id")
        if not self.path:
            raise EventError("empty path", event_id=self.event_id, field="path")
        ts = self.ts
        # Already aware UTC (what the twin and the stores build): skip the conversion, a third of
        # the cost of building an event.
        if ts.__class__ is not dt.datetime or ts.tzinfo is not _UTC:
            object.__setattr__(self, "ts", _utc(self.event_id, ts))


@dataclass(frozen=True, slots=True)
class StateChange(_Event):
    """The work unit entered ``state`` at ``ts`` and stays in it until its next state change."""

    state: MachineState
    reason: str | None = None

    def __post_init__(self) -> None:
        _Event.__post_init__(self)
        if self.state.__class__ is MachineState:
            return  # a member already: nothing to validate
        try:
            object.__setattr__(self, "state", MachineState(self.state))
        except ValueError as exc:
            raise EventError(
                f"unknown state {self.state!r}", event_id=self.event_id, field="state"
            ) from exc


@dataclass(frozen=True, slots=True)
class ProductionCount(_Event):
    """Units finished by an operation on the work unit: good, scrapped, sent to rework."""

    product: str
    good: int = 0
    scrap: int = 0
    rework: int = 0
    order_id: str | None = None
    operation: str | None = None

    def __post_init__(self) -> None:
        _Event.__post_init__(self)
        for name in ("good", "scrap", "rework"):
            if getattr(self, name) < 0:
                raise EventError(
                    f"negative count {getattr(self, name)}", event_id=self.event_id, field=name
                )


@dataclass(frozen=True, slots=True)
class EnergyReading(_Event):
    """kWh the work unit consumed since its previous reading."""

    energy_kwh: float

    def __post_init__(self) -> None:
        _Event.__post_init__(self)
        if not math.isfinite(self.energy_kwh) or self.energy_kwh < 0:
            raise EventError(
                f"energy {self.energy_kwh!r} is not a non-negative number",
                event_id=self.event_id,
                field="energy_kwh",
            )


@dataclass(frozen=True, slots=True)
class SensorSample(_Event):
    sensor: str
    value: float
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class OrderEvent(_Event):
    """A production order started or ended (``path`` is the line or site that runs it)."""

    kind: EventKind
    order_id: str
    product: str
    quantity: int | None = None


@dataclass(frozen=True, slots=True)
class OperationEvent(_Event):
    """An operation of an order started or ended on a work unit."""

    kind: EventKind
    order_id: str
    product: str
    operation: str


Event = StateChange | ProductionCount | EnergyReading | SensorSample | OrderEvent | OperationEvent

_KIND_OF_TYPE: dict[type, EventKind] = {
    StateChange: EventKind.STATE,
    ProductionCount: EventKind.COUNT,
    EnergyReading: EventKind.ENERGY,
    SensorSample: EventKind.SAMPLE,
}


def kind_of(event: Event) -> EventKind:
    if isinstance(event, OrderEvent | OperationEvent):
        return event.kind
    return _KIND_OF_TYPE[type(event)]


def event_to_row(event: Event) -> dict[str, Any]:
    """One event as a row of the long table: every column present, unused ones None."""
    row: dict[str, Any] = dict.fromkeys(COLUMN_NAMES)
    row.update(asdict(event))
    row["kind"] = kind_of(event).value
    if isinstance(event, StateChange):
        row["state"] = event.state.value
    return row


def event_from_row(row: Mapping[str, Any]) -> Event:
    """Build the typed event from a row of the long table; raises EventError naming the field."""
    event_id = str(row.get("event_id") or "")
    raw_kind = row.get("kind")
    try:
        kind = EventKind(str(raw_kind))
    except ValueError as exc:
        raise EventError(f"unknown kind {raw_kind!r}", event_id=event_id, field="kind") from exc
    common: dict[str, Any] = {
        "event_id": event_id,
        "ts": row.get("ts"),
        "path": row.get("path") or "",
    }

    def need(name: str) -> Any:
        value = row.get(name)
        if value is None or value == "":
            raise EventError(f"a {kind.value} event needs {name!r}", event_id=event_id, field=name)
        return value

    if kind is EventKind.STATE:
        return StateChange(**common, state=need("state"), reason=row.get("reason") or None)
    if kind is EventKind.COUNT:
        return ProductionCount(
            **common,
            product=need("product"),
            good=int(row.get("good") or 0),
            scrap=int(row.get("scrap") or 0),
            rework=int(row.get("rework") or 0),
            order_id=row.get("order_id") or None,
            operation=row.get("operation") or None,
        )
    if kind is EventKind.ENERGY:
        return EnergyReading(**common, energy_kwh=float(need("energy_kwh")))
    if kind is EventKind.SAMPLE:
        return SensorSample(
            **common, sensor=need("sensor"), value=float(need("value")), unit=row.get("unit")
        )
    if kind in (EventKind.ORDER_START, EventKind.ORDER_END):
        quantity = row.get("quantity")
        return OrderEvent(
            **common,
            kind=kind,
            order_id=need("order_id"),
            product=need("product"),
            quantity=None if quantity is None else int(quantity),
        )
    return OperationEvent(
        **common,
        kind=kind,
        order_id=need("order_id"),
        product=need("product"),
        operation=need("operation"),
    )
