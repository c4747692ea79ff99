"""The inputs of every KPI for one group: ISO 22400-2 time elements, quantities, failures, energy.

Roll-ups add these inputs (``+``) and compute ratios afterwards, never averaging ratios, so the KPI
of a line equals the KPI of the concatenated events of its work units.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from factoryos.model.aggregates import PeriodKind, StateTime
from factoryos.model.states import TIME_ELEMENT_OF_STATE, MachineState, TimeElement


class _Addable:
    """Field-wise addition for the input dataclasses below."""

    def __add__(self, other: object):  # type: ignore[no-untyped-def]
        if type(other) is not type(self):
            return NotImplemented
        return type(self)(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(self))  # type: ignore[arg-type]
        )


@dataclass(frozen=True, slots=True)
class TimeElements(_Addable):
    """ISO 22400-2 time elements in seconds (element definitions).

    Machine time counts only inside planned busy time (PBT); ``unknown_s`` is PBT with no state
    reported yet, so APT + AUST + ADET + ADOT + APMT + unknown = PBT exactly.
    """

    pot_s: float = 0.0  # planned operation time: shifts minus breaks
    planned_down_s: float = 0.0  # planned downtime inside POT (maintenance windows)
    apt_s: float = 0.0  # actual production time
    aust_s: float = 0.0  # actual unit setup time
    adet_s: float = 0.0  # actual unit delay time (faults, minor stops)
    adot_s: float = 0.0  # actual unit down time (idle, starved, blocked, off)
    apmt_s: float = 0.0  # preventive maintenance during PBT
    unknown_s: float = 0.0  # PBT without any state reported

    @property
    def pbt_s(self) -> float:
        """Planned busy time PBT = POT - planned downtime."""
        return self.pot_s - self.planned_down_s

    @property
    def aupt_s(self) -> float:
        """Actual unit processing time AUPT = APT + AUST."""
        return self.apt_s + self.aust_s

    @property
    def aubt_s(self) -> float:
        """Actual unit busy time AUBT = AUPT + ADET."""
        return self.aupt_s + self.adet_s


@dataclass(frozen=True, slots=True)
class Quantities(_Addable):
    """ISO 22400-2 logistical elements plus what the economic KPIs need."""

    pq: int = 0  # produced quantity = good + scrap + rework
    gq: int = 0  # good quantity
    sq: int = 0  # scrap quantity
    rq: int = 0  # rework quantity
    planned_run_s: float = 0.0  # sum of PRI x PQ: the time the output should have taken
    finished_good: int = 0  # good units of sellable products at their last operation
    value_added_cny: float = 0.0  # finished_good x value added per unit


@dataclass(frozen=True, slots=True)
class Maintenance(_Addable):
    failures: int = 0  # FE: failure events that began in the group
    failure_s: float = 0.0  # TTR summed: time in failure states (CMT)
    maintenance_s: float = 0.0  # PMT: time in the maintenance state, planned or not


@dataclass(frozen=True, slots=True)
class Resources(_Addable):
    energy_kwh: float = 0.0
    energy_cost_cny: float = 0.0
    labour_h: float = 0.0  # operators x POT of the group's work units
    equipment_cost_cny: float = 0.0  # hourly equipment cost x POT
    overhead_cny: float = 0.0  # site overhead while shifts run, spread evenly over work units


@dataclass(frozen=True, slots=True)
class GroupInputs(_Addable):
    """Everything the KPIs of one group are computed from."""

    time: TimeElements = TimeElements()
    quantities: Quantities = Quantities()
    maintenance: Maintenance = Maintenance()
    resources: Resources = Resources()


def machine_time(rows: list[StateTime]) -> tuple[dict[TimeElement, float], float]:
    """Seconds per time element inside PBT, and seconds in the maintenance state anywhere."""
    per_element = dict.fromkeys(TimeElement, 0.0)
    maintenance_s = 0.0
    for row in rows:
        try:
            state = MachineState(row.state)
        except ValueError:
            state = None
        if state is MachineState.MAINTENANCE:
            maintenance_s += row.seconds
        if row.period_kind is not PeriodKind.BUSY:
            continue
        element = TimeElement.UNKNOWN if state is None else TIME_ELEMENT_OF_STATE[state]
        per_element[element] += row.seconds
    return per_element, maintenance_s
