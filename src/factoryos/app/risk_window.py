"""Where to put a maintenance window for a unit at risk: the candidate that costs the plan least.

Each candidate window takes the unit down in the scheduler's repair (the same ``repair`` a
breakdown triggers, :func:`factoryos.app.repairing.repair_plan`) and is priced by what the
repaired plan loses against the plan repaired without any window (same solver, same time limit,
so solver noise cancels as far as it can): added weighted tardiness first, then the unit's
planned work the window displaces (lost capacity, hours of the current plan inside the window).
Candidates are evaluated one after the other; a repair takes up to ``time_limit_s``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from factoryos.app.repairing import repair_plan
from factoryos.app.simulation import read_schedule_file
from factoryos.model.errors import ReliabilityError

__all__ = ["WindowCost", "candidate_starts", "place_maintenance"]


@dataclass(frozen=True, slots=True)
class WindowCost:
    start: dt.datetime
    end: dt.datetime
    weighted_tardiness_h: float  # of the plan repaired around the window
    added_weighted_tardiness_h: float  # against the plan repaired without a window
    late_orders: int
    displaced_work_h: float  # the unit's work in the current plan that lies in the window

    @property
    def key(self) -> tuple[float, float, dt.datetime]:
        return (round(self.added_weighted_tardiness_h, 3), self.displaced_work_h, self.start)


def candidate_starts(
    now: dt.datetime, horizon: dt.timedelta, step: dt.timedelta
) -> list[dt.datetime]:
    """``now``, ``now + step``, ... before ``now + horizon``."""
    if step <= dt.timedelta(0) or horizon <= dt.timedelta(0):
        raise ReliabilityError(f"need a positive step and horizon, got {step} and {horizon}")
    count = int(horizon / step)
    return [now + i * step for i in range(max(count, 1))]


def _displaced_h(
    plan_path: Path, equipment: str, unit: int, start: dt.datetime, end: dt.datetime
) -> float:
    seconds = 0.0
    for op in read_schedule_file(plan_path).operations:
        if op.equipment_id == equipment and op.unit_index == unit:
            overlap = (min(op.end, end) - max(op.start, start)).total_seconds()
            seconds += max(overlap, 0.0)
    return seconds / 3600.0


def place_maintenance(
    plant_path: Path,
    orders_path: Path,
    plan_path: Path,
    *,
    equipment: str,
    unit: int,
    duration: dt.timedelta,
    starts: Sequence[dt.datetime],
    now: dt.datetime,
    time_limit_s: float = 5.0,
    on_progress: Callable[[float], None] | None = None,
) -> list[WindowCost]:
    """Every candidate window priced, cheapest first (see the module doc)."""
    if not starts:
        raise ReliabilityError("no candidate start for the maintenance window")
    if any(s < now for s in starts):
        raise ReliabilityError("a maintenance window cannot start before --now")

    def repaired(down: list[tuple[str, int, dt.datetime, dt.datetime]]) -> dict[str, float]:
        outcome = repair_plan(
            plant_path, orders_path, plan_path, now=now, down=down, time_limit_s=time_limit_s
        )
        return outcome.schedule.kpis

    base = repaired([])["total_weighted_tardiness_h"]
    costs = []
    for done, start in enumerate(starts, start=1):
        end = start + duration
        kpis = repaired([(equipment, unit, start, end)])
        costs.append(
            WindowCost(
                start,
                end,
                kpis["total_weighted_tardiness_h"],
                kpis["total_weighted_tardiness_h"] - base,
                int(kpis["late_orders"]),
                _displaced_h(plan_path, equipment, unit, start, end),
            )
        )
        if on_progress is not None:
            on_progress(done / len(starts))
    return sorted(costs, key=lambda c: c.key)
