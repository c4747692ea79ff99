"""Modelling errors the KPIs reveal: a work unit whose output took less time than its routing says.

ISO 22400 effectiveness is PRI x PQ / APT. Above 100 % a unit made its output faster than the
planned run times (PRI) of the model allow: a ``run_time`` (or ``run_time_on``) longer than the real
cycle, counts booked on the wrong unit, or production outside the planned busy time of its
calendar. Over a short window the unit started before the window and finished inside it adds up to
one cycle; only what goes beyond that is flagged, with the cycle times involved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from factoryos.model.aggregates import PeriodKind, StateTime
from factoryos.model.states import MachineState

__all__ = ["CycleTime", "ModellingError", "effectiveness_errors", "producing_time_by_path"]

# Tolerance for rounding of event times, seconds.
_SLACK_S = 1.0


@dataclass(frozen=True, slots=True)
class CycleTime:
    """A planned run time per unit (PRI) of the model and the units counted against it."""

    product: str
    operation: str
    equipment: str
    planned_s: float
    units: int


@dataclass(frozen=True, slots=True)
class ModellingError:
    """A work unit whose effectiveness exceeds 100 % by more than one carried-over cycle."""

    path: str
    apt_s: float  # producing time inside planned busy time
    planned_run_s: float  # PRI x PQ
    producing_outside_s: float  # producing time outside planned busy time (not in APT)
    cycle_times: tuple[CycleTime, ...]

    @property
    def effectiveness(self) -> float | None:
        return self.planned_run_s / self.apt_s if self.apt_s > 0 else None

    @property
    def message(self) -> str:
        eff = self.effectiveness
        ratio = f"effectiveness {eff:.0%}" if eff is not None else "output without producing time"
        units = sum(c.units for c in self.cycle_times)
        cycles = ", ".join(
            f"{c.product}/{c.operation} on {c.equipment}: run time {_duration(c.planned_s)} "
            f"x {c.units:,}"
            for c in self.cycle_times
        )
        outside = (
            f"; it also produced {_duration(self.producing_outside_s)} outside planned busy time"
            if self.producing_outside_s > _SLACK_S
            else ""
        )
        return (
            f"{self.path}: {ratio}: the model's cycle times add up to "
            f"{_duration(self.planned_run_s)} for {units:,} units, but the unit produced for "
            f"{_duration(self.apt_s)} in planned busy time{outside} ({cycles}); a modelling "
            "error: a run_time longer than the real cycle, counts on the wrong unit, or work "
            "outside the calendar"
        )


def producing_time_by_path(states: Iterable[StateTime]) -> dict[str, tuple[float, float]]:
    """Per work unit that reported any state: seconds producing inside planned busy time (APT),
    and outside it."""
    out: dict[str, tuple[float, float]] = {}
    for row in states:
        if row.group.path is None:
            continue
        inside, outside = out.get(row.group.path, (0.0, 0.0))
        if row.state == MachineState.PRODUCING.value:
            if row.period_kind is PeriodKind.BUSY:
                inside += row.seconds
            else:
                outside += row.seconds
        out[row.group.path] = (inside, outside)
    return out


def effectiveness_errors(
    producing: dict[str, tuple[float, float]], cycles: dict[str, list[CycleTime]]
) -> list[ModellingError]:
    """The work units whose PRI x PQ exceeds APT by more than their longest cycle (a unit that
    reported no state at all has unknown time, not an error)."""
    found = []
    for path in sorted(cycles.keys() & producing.keys()):
        merged: dict[tuple[str, str, str, float], int] = {}
        for c in cycles[path]:
            key = (c.product, c.operation, c.equipment, c.planned_s)
            merged[key] = merged.get(key, 0) + c.units
        times = tuple(CycleTime(*key, units) for key, units in merged.items() if units)
        planned = sum(c.planned_s * c.units for c in times)
        carried_over = max((c.planned_s for c in times), default=0.0)
        apt, outside = producing[path]
        if planned > apt + carried_over + _SLACK_S:
            found.append(ModellingError(path, apt, planned, outside, times))
    return found


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:,.2f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"
