"""What one twin run measured, and the bottleneck analysis (shifting bottleneck method).

Active periods (Roser, Nakano, Tanaka, "A practical bottleneck detection method", WSC 2001): a
station is *active* while it is not waiting (here: while none of its on-shift units is starved,
idle or blocked; off-shift it is neither). Shifting bottleneck detection (Roser, Nakano, Tanaka,
"Shifting bottleneck detection", WSC 2002): at any instant the station with the longest
uninterrupted active period covering it is the momentary bottleneck; where the bottleneck passes
from one station to the next, the overlap of their active periods is *shifting* bottleneck time
for both, the rest is *sole*. The station that is the momentary bottleneck for the largest share of
the time is named as limiting throughput: in a plant of parallel branches (machining, reducers and
motors all feeding final assembly) active periods overlap so much that sole + shifting stops
ranking the stations by their load, while the momentary share still does (measured on the robot
plant: momentary names arm_station, the designed bottleneck, as the busiest station at 84 %).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

from factoryos.model import MachineState

__all__ = ["BottleneckShare", "PoolStats", "TwinResult", "bottleneck_analysis", "bottleneck_shares"]

DAY_S = 86400.0


Span = tuple[float, float]


@dataclass(frozen=True, slots=True)
class BottleneckShare:
    """Shares of the active time: as the momentary bottleneck (ties split evenly; these add up
    to 1 over the stations), and Roser's sole and shifting bottleneck shares."""

    momentary: float
    sole: float
    shifting: float


@dataclass(frozen=True, slots=True)
class _Run:
    """A stretch [start, end) during which one station, in one active period, is the bottleneck."""

    start: float
    end: float
    stations: tuple[str, ...]  # several when tied: the bottleneck is shifting among them
    periods: tuple[Span, ...]


def _momentary_runs(periods: Mapping[str, list[Span]]) -> tuple[list[_Run], float]:
    """Sweep the active periods; return the bottleneck runs and the time any station was active.

    A station's periods do not overlap, so at most one period per station is open at a time and
    the sweep costs O(edges x stations).
    """
    edges: list[tuple[float, int, float, float, str]] = []  # (time, 0=end/1=start, lo, hi, station)
    for station, spans in periods.items():
        for lo, hi in spans:
            if hi > lo:
                edges.append((lo, 1, lo, hi, station))
                edges.append((hi, 0, lo, hi, station))
    edges.sort()  # at equal times, ends before starts
    open_periods: dict[str, Span] = {}
    runs: list[_Run] = []
    covered = 0.0
    last = edges[0][0] if edges else 0.0
    for time, is_start, lo, hi, station in edges:
        if time > last and open_periods:
            covered += time - last
            longest = max(b - a for a, b in open_periods.values())
            tied = tuple(sorted(s for s, (a, b) in open_periods.items() if b - a == longest))
            held = tuple(open_periods[s] for s in tied)
            previous = runs[-1] if runs else None
            same = previous is not None and previous.end == last
            if (
                previous is not None
                and same
                and (previous.stations, previous.periods) == (tied, held)
            ):
                runs[-1] = _Run(previous.start, time, tied, held)
            else:
                runs.append(_Run(last, time, tied, held))
        last = time
        if is_start:
            open_periods[station] = (lo, hi)
        else:
            open_periods.pop(station, None)
    return runs, covered


def _union_length(spans: list[Span]) -> float:
    total, reach = 0.0, float("-inf")
    for a, b in sorted(spans):
        a = max(a, reach)
        if b > a:
            total += b - a
            reach = b
    return total


def _clip(spans: list[Span], start: float, end: float) -> list[Span]:
    return [(max(a, start), min(b, end)) for a, b in spans if min(b, end) > max(a, start)]


def bottleneck_analysis(periods: Mapping[str, list[Span]]) -> dict[str, BottleneckShare]:
    """The shifting bottleneck detection method (Roser, Nakano, Tanaka, WSC 2002).

    At any instant the station with the longest active period covering it is the momentary
    bottleneck. When the bottleneck passes from station a to station b, the overlap of their two
    active periods is *shifting* bottleneck time for both (so shares may add up to more than 1);
    the rest of a station's time as momentary bottleneck is *sole*. Instants where stations tie
    are shifting for each of them. Shares are of the time during which any station was active.
    """
    runs, covered = _momentary_runs(periods)
    momentary: dict[str, list[Span]] = {s: [] for s in periods}
    shifting: dict[str, list[Span]] = {s: [] for s in periods}
    momentary_s = dict.fromkeys(periods, 0.0)
    for run in runs:
        for station in run.stations:
            momentary_s[station] += (run.end - run.start) / len(run.stations)
        if len(run.stations) > 1:
            for station in run.stations:
                shifting[station].append((run.start, run.end))
        else:
            momentary[run.stations[0]].append((run.start, run.end))
    for before, after in itertools.pairwise(runs):
        for a, span_a in zip(before.stations, before.periods, strict=True):
            for b, span_b in zip(after.stations, after.periods, strict=True):
                lo, hi = max(span_a[0], span_b[0]), min(span_a[1], span_b[1])
                if a != b and hi > lo:
                    shifting[a].append((lo, hi))
                    shifting[b].append((lo, hi))
    scale = 1.0 / covered if covered else 0.0
    out = {}
    for station in periods:
        alone = sum(b - a for a, b in momentary[station])
        alone -= sum(_union_length(_clip(shifting[station], a, b)) for a, b in momentary[station])
        out[station] = BottleneckShare(
            momentary_s[station] * scale, alone * scale, _union_length(shifting[station]) * scale
        )
    return out


def bottleneck_shares(periods: Mapping[str, list[Span]]) -> dict[str, float]:
    """Share of the active time during which each station is the momentary bottleneck."""
    return {s: share.momentary for s, share in bottleneck_analysis(periods).items()}


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
    bottleneck: BottleneckShare  # sole and shifting bottleneck shares (Roser 2002)
    planned_busy_s: float
    good_planned_s: float
    time_in_state_s: Mapping[MachineState, float] = field(repr=False)

    @property
    def bottleneck_share(self) -> float:
        """Share of the active time as the momentary bottleneck."""
        return self.bottleneck.momentary

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
        bottleneck: BottleneckShare,
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
            bottleneck=bottleneck,
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
        """The pool that limits throughput by the shifting bottleneck method."""
        return max(self.pools, key=lambda p: (p.bottleneck.momentary, p.bottleneck.sole))

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
