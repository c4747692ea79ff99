"""What one twin run measured, and the bottleneck analysis (active period method).

Active period method (Roser, Nakano, Tanaka, "A practical bottleneck detection method", Winter
Simulation Conference 2001): a station is *active* while it is not waiting (here: while none of
its on-shift units is starved, idle or blocked; off-shift it is neither). At any instant the
station with the longest uninterrupted active period covering that instant is the momentary
bottleneck; ties share the instant (that is where the bottleneck shifts). The station that is
the momentary bottleneck for the largest share of the time limits throughput.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from factoryos.model import MachineState

__all__ = ["PoolStats", "TwinResult", "bottleneck_shares"]

DAY_S = 86400.0


def bottleneck_shares(periods: Mapping[str, list[tuple[float, float]]]) -> dict[str, float]:
    """Share of the time with any active station during which each station is the momentary
    bottleneck (ties split evenly). A station's periods do not overlap, so at most one period per
    station is open at a time and the sweep costs O(edges x stations)."""
    edges: list[tuple[float, int, float, str]] = []  # (time, 0=end/1=start, length, station)
    for station, spans in periods.items():
        for lo, hi in spans:
            if hi > lo:
                edges.append((lo, 1, hi - lo, station))
                edges.append((hi, 0, hi - lo, station))
    edges.sort()  # at equal times, ends before starts
    open_length: dict[str, float] = {}
    shares: dict[str, float] = dict.fromkeys(periods, 0.0)
    covered = 0.0
    last = edges[0][0] if edges else 0.0
    for time, is_start, length, station in edges:
        if time > last and open_length:
            span = time - last
            covered += span
            longest = max(open_length.values())
            tied = [s for s, n in open_length.items() if n == longest]
            for s in tied:
                shares[s] += span / len(tied)
        last = time
        if is_start:
            open_length[station] = length
        else:
            open_length.pop(station, None)
    return {s: v / covered for s, v in shares.items()} if covered else shares


@dataclass(frozen=True, slots=True)
class PoolStats:
    """One equipment pool over the run. Shares are of its on-shift unit time (POT)."""

    equipment: str
    units: int
    utilization: float  # producing + setup
    blocked_share: float
    starved_share: float  # starved + idle
    down_share: float  # fault + maintenance
    oee: float  # ISO 22400: sum(good x planned run time) / planned busy time
    energy_kwh: float
    failures: int
    bottleneck_share: float
    planned_busy_s: float
    good_planned_s: float
    time_in_state_s: Mapping[MachineState, float] = field(repr=False)

    @classmethod
    def from_times(
        cls,
        equipment: str,
        *,
        units: int,
        time_in_state_s: Mapping[MachineState, float],
        planned_busy_s: float,
        good_planned_s: float,
        energy_kwh: float,
        failures: int,
        bottleneck_share: float,
    ) -> PoolStats:
        t = time_in_state_s
        on_shift = sum(v for s, v in t.items() if s is not MachineState.OFF)

        def share(*states: MachineState) -> float:
            return sum(t.get(s, 0.0) for s in states) / on_shift if on_shift else 0.0

        return cls(
            equipment=equipment,
            units=units,
            utilization=share(MachineState.PRODUCING, MachineState.SETUP),
            blocked_share=share(MachineState.BLOCKED),
            starved_share=share(MachineState.STARVED, MachineState.IDLE),
            down_share=share(MachineState.FAULT, MachineState.MAINTENANCE),
            oee=good_planned_s / planned_busy_s if planned_busy_s > 0 else 0.0,
            energy_kwh=energy_kwh,
            failures=failures,
            bottleneck_share=bottleneck_share,
            planned_busy_s=planned_busy_s,
            good_planned_s=good_planned_s,
            time_in_state_s=dict(t),
        )


@dataclass(frozen=True, slots=True)
class TwinResult:
    """The figures of one run; ``finished`` counts good units of the ordered products."""

    horizon_s: float
    finished: Mapping[str, int]
    scrapped: Mapping[str, int]
    orders_released: int
    orders_finished: int
    mean_unit_lead_time_s: float
    mean_order_lead_time_s: float
    mean_wip: float  # time-average number of ordered units released and not finished
    energy_kwh: float
    pools: tuple[PoolStats, ...]
    events_emitted: int
    sim_events: int

    @property
    def finished_total(self) -> int:
        return sum(self.finished.values())

    @property
    def throughput_per_day(self) -> float:
        return self.finished_total / (self.horizon_s / DAY_S) if self.horizon_s else 0.0

    @property
    def energy_per_unit_kwh(self) -> float:
        return self.energy_kwh / self.finished_total if self.finished_total else float("nan")

    @property
    def bottleneck(self) -> PoolStats:
        """The pool that limits throughput by the active period method."""
        return max(self.pools, key=lambda p: (p.bottleneck_share, p.utilization))

    @property
    def oee(self) -> float:
        """Plant OEE: planned-busy-time-weighted mean over the work centers that made good units
        (a stable figure across replications, unlike the OEE of whichever pool limits)."""
        loaded = [p for p in self.pools if p.good_planned_s > 0]
        busy = sum(p.planned_busy_s for p in loaded)
        return sum(p.good_planned_s for p in loaded) / busy if busy else 0.0

    def metrics(self) -> dict[str, float]:
        """The figures compared across replications and scenarios."""
        return {
            "throughput_per_day": self.throughput_per_day,
            "finished": float(self.finished_total),
            "oee": self.oee,
            "unit_lead_time_h": self.mean_unit_lead_time_s / 3600.0,
            "wip_units": self.mean_wip,
            "energy_per_unit_kwh": self.energy_per_unit_kwh,
        }
