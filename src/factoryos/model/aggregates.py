"""What the KPI engine asks a store for, and what it gets back.

The calendar is cut into :class:`PlannedPeriod` tiles (busy, planned downtime, break, off shift) per
calendar key; a store sums event data over those tiles, grouped by the keys the caller asks for.
Stores know no KPIs: they sum durations and quantities, and ``factoryos.kpi`` gives them meaning.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class PeriodKind(StrEnum):
    BUSY = "busy"  # planned busy time (PBT)
    PLANNED_DOWN = "planned_down"  # planned downtime inside a shift: POT = PBT + planned_down
    BREAK = "break"  # a break inside a shift
    OFF = "off"  # outside every shift, or a holiday


GroupKey = Literal["path", "local_day", "shift"]


@dataclass(frozen=True, slots=True)
class PlannedPeriod:
    """A tile of one calendar key's timeline, [start, end) in UTC.

        The tiles of a key do not overlap and cover the queried window without gaps; they are also
    cut at time-of-use tariff band boundaries, so one price holds throughout a tile.
    """

    key: str
    start: dt.datetime
    end: dt.datetime
    local_day: dt.date
    shift: str | None
    kind: PeriodKind
    price_cny_per_kwh: float = 0.0  # time-of-use price in force throughout the tile


@dataclass(frozen=True, slots=True)
class AggregateQuery:
    """Which events to aggregate and how to group them.

    ``calendar_key_of_path`` maps every work unit path of the plant to its calendar key; events of
    paths absent from it are not aggregated. ``group_by`` is a subset of path, local_day and shift.
    """

    start: dt.datetime
    end: dt.datetime
    node: str
    periods: tuple[PlannedPeriod, ...]
    calendar_key_of_path: dict[str, str]
    group_by: tuple[GroupKey, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupValues:
    """The group keys of an aggregate row; a key not grouped on is None."""

    path: str | None = None
    local_day: dt.date | None = None
    shift: str | None = None


@dataclass(frozen=True, slots=True)
class StateTime:
    """Seconds a group's work units spent in ``state`` inside periods of ``period_kind``."""

    group: GroupValues
    period_kind: PeriodKind
    state: str
    reason: str | None
    seconds: float


@dataclass(frozen=True, slots=True)
class CountTotal:
    """Quantities a work unit reported for one product/operation within a group."""

    group: GroupValues
    path: str
    product: str
    operation: str | None
    good: int
    scrap: int
    rework: int


@dataclass(frozen=True, slots=True)
class EnergyTotal:
    group: GroupValues
    energy_kwh: float
    energy_cost_cny: float = 0.0  # sum of kWh x the price of the tile holding each reading


@dataclass(frozen=True, slots=True)
class FailureTotal:
    """Failures that began in a group, and the seconds spent in failure states, window-clipped."""

    group: GroupValues
    failures: int
    failure_seconds: float
