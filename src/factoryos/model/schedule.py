"""A production schedule: what the planner decided and the digital twin executes.

Plain frozen dataclasses with no third-party imports, so every layer can pass a schedule around.
Times are timezone-aware UTC datetimes; setups precede the operation they prepare on the same unit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["PlanStatus", "Schedule", "ScheduledOperation"]

PlanStatus = Literal["optimal", "feasible"]


def _require_utc(name: str, value: dt.datetime) -> None:
    if value.tzinfo is None or value.utcoffset() != dt.timedelta(0):
        raise ValueError(f"{name} must be a timezone-aware UTC datetime, got {value!r}")


@dataclass(frozen=True, slots=True)
class ScheduledOperation:
    """One operation of one order on one work unit: ``[start, end)``, after an optional setup."""

    order_id: str
    product: str
    operation_id: str
    equipment_id: str
    unit_index: int
    """1-based index of the unit inside the equipment pool (1 for a single unit)."""
    start: dt.datetime
    end: dt.datetime
    setup_start: dt.datetime | None = None
    setup_duration: dt.timedelta = dt.timedelta(0)
    quantity: int = 1

    def __post_init__(self) -> None:
        _require_utc("start", self.start)
        _require_utc("end", self.end)
        if self.end < self.start:
            raise ValueError(f"{self.order_id}/{self.operation_id}: end {self.end} < start")
        if self.unit_index < 1:
            raise ValueError(f"unit_index is 1-based, got {self.unit_index}")
        if self.setup_duration < dt.timedelta(0):
            raise ValueError(f"setup_duration must be >= 0, got {self.setup_duration}")
        if self.setup_start is not None:
            _require_utc("setup_start", self.setup_start)
            if self.setup_start + self.setup_duration > self.start:
                raise ValueError(
                    f"{self.order_id}/{self.operation_id}: setup ends after the operation starts"
                )

    @property
    def duration(self) -> dt.timedelta:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Schedule:
    """A plan: scheduled operations plus how good the solver proved it to be."""

    operations: tuple[ScheduledOperation, ...]
    status: PlanStatus
    objective: float
    """Value of the objective the plan minimises (``objective_name``), in its own unit."""
    best_bound: float
    """Proven lower bound on that objective; equals ``objective`` when optimal."""
    wall_time_s: float
    objective_name: str = "makespan"
    solver: str = ""
    created_at: dt.datetime | None = None
    kpis: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in ("optimal", "feasible"):
            raise ValueError(f"status must be 'optimal' or 'feasible', got {self.status!r}")
        if self.created_at is not None:
            _require_utc("created_at", self.created_at)

    def __iter__(self) -> Iterator[ScheduledOperation]:
        return iter(self.operations)

    def __len__(self) -> int:
        return len(self.operations)

    @property
    def start(self) -> dt.datetime | None:
        return min((o.setup_start or o.start for o in self.operations), default=None)

    @property
    def end(self) -> dt.datetime | None:
        return max((o.end for o in self.operations), default=None)

    @property
    def gap(self) -> float:
        """Relative gap between objective and bound (0 when optimal)."""
        if self.objective == 0:
            return 0.0
        return max(0.0, (self.objective - self.best_bound) / abs(self.objective))

    def for_equipment(
        self, equipment_id: str, unit_index: int | None = None
    ) -> list[ScheduledOperation]:
        """The unit's (or pool's) operations in start order."""
        ops = [
            o
            for o in self.operations
            if o.equipment_id == equipment_id and (unit_index is None or o.unit_index == unit_index)
        ]
        return sorted(ops, key=lambda o: o.start)
