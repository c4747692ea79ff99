"""The storage port: what every backend (DuckDB embedded, PostgreSQL server) offers.

Backends are checked by one contract suite, ``tests/contract/``, so the rest of factoryos can
ignore which one it talks to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa

from factoryos.model.aggregates import (
    AggregateQuery,
    CountTotal,
    EnergyTotal,
    FailureTotal,
    StateTime,
)
from factoryos.model.events import Event, EventKind


@dataclass(frozen=True, slots=True)
class AppendResult:
    """How an append went: new events stored, and events whose id was already there."""

    inserted: int
    duplicates: int


class EventStore(Protocol):
    """An append-only, idempotent store of canonical events with aggregate queries."""

    def append(self, events: Iterable[Event] | pa.Table) -> AppendResult:
        """Store events; an event whose ``event_id`` is already stored is skipped, not an error.

        A ``pa.Table`` must have the canonical columns (``factoryos.store.arrow.EVENT_SCHEMA``).
        """
        ...

    def events(
        self,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        node: str | None = None,
        kinds: Sequence[EventKind] | None = None,
    ) -> pa.Table:
        """Events with ``start <= ts < end`` under hierarchy ``node``, ordered by ts, path, id."""
        ...

    def time_range(self) -> tuple[dt.datetime, dt.datetime] | None:
        """Earliest and latest event timestamps, or None when the store is empty."""
        ...

    def count(self) -> int:
        """Number of stored events."""
        ...

    def state_time(self, query: AggregateQuery, *, by_reason: bool = False) -> list[StateTime]:
        """Seconds in each state, clipped to the query window and cut by its periods.

        A state lasts from its event until the unit's next state event, or the window end; the
        state a unit was in at the window start (its last earlier event) counts from the start.
        """
        ...

    def count_totals(self, query: AggregateQuery) -> list[CountTotal]:
        """Good/scrap/rework per work unit, product and operation; grouped by the period of ts."""
        ...

    def energy_totals(self, query: AggregateQuery) -> list[EnergyTotal]:
        """kWh of energy readings in the window; grouped by the period of ts."""
        ...

    def failure_totals(self, query: AggregateQuery) -> list[FailureTotal]:
        """Entries into a failure state in the window (grouped by the period of the entry) and the
        seconds spent in failure states within the window (grouped the same way)."""
        ...

    def close(self) -> None: ...
