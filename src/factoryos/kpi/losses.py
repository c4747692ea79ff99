"""Where planned busy time went: the six big losses and a Pareto of downtime reasons.

The six big losses follow TPM (Nakajima): availability losses are breakdowns and setups;
performance losses are idling/minor stops and reduced speed; quality losses are defects and rework.
They partition PBT with the fully productive time PRI x GQ, so the loss waterfall adds up exactly.
Startup rejects cannot be told apart from production rejects without a ramp-up flag, so both are
reported together as ``defects_and_rework_s``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from factoryos.kpi.elements import GroupInputs
from factoryos.model.aggregates import PeriodKind, StateTime
from factoryos.model.states import (
    FAILURE_STATES,
    TIME_ELEMENT_OF_STATE,
    MachineState,
    TimeElement,
)


@dataclass(frozen=True, slots=True)
class SixBigLosses:
    breakdowns_s: float
    setup_and_adjustment_s: float
    idling_and_minor_stops_s: float
    reduced_speed_s: float
    defects_and_rework_s: float
    fully_productive_s: float

    def as_dict(self) -> dict[str, float]:
        return {
            "breakdowns_s": self.breakdowns_s,
            "setup_and_adjustment_s": self.setup_and_adjustment_s,
            "idling_and_minor_stops_s": self.idling_and_minor_stops_s,
            "reduced_speed_s": self.reduced_speed_s,
            "defects_and_rework_s": self.defects_and_rework_s,
            "fully_productive_s": self.fully_productive_s,
        }


def six_big_losses(inputs: GroupInputs, breakdowns_s: float) -> SixBigLosses:
    """Split PBT; ``breakdowns_s`` is the failure-state time inside PBT (part of ADET)."""
    t, q = inputs.time, inputs.quantities
    planned_output_s = q.planned_run_s
    fully_productive_s = planned_output_s * q.gq / q.pq if q.pq else 0.0
    return SixBigLosses(
        breakdowns_s=breakdowns_s,
        setup_and_adjustment_s=t.aust_s,
        idling_and_minor_stops_s=t.pbt_s - t.apt_s - t.aust_s - breakdowns_s,
        reduced_speed_s=t.apt_s - planned_output_s,
        defects_and_rework_s=planned_output_s - fully_productive_s,
        fully_productive_s=fully_productive_s,
    )


def failure_time_in_pbt(rows: Iterable[StateTime]) -> float:
    """Seconds in failure states (the same set MTBF and MTTR count) inside planned busy time."""
    failures = {s.value for s in FAILURE_STATES}
    return sum(r.seconds for r in rows if r.period_kind is PeriodKind.BUSY and r.state in failures)


@dataclass(frozen=True, slots=True)
class ParetoEntry:
    reason: str
    state: str
    seconds: float
    share: float
    cumulative_share: float


def downtime_pareto(rows: Iterable[StateTime]) -> list[ParetoEntry]:
    """Delay time (ADET: faults, minor stops) inside PBT by reason, largest first."""
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for r in rows:
        if r.period_kind is not PeriodKind.BUSY:
            continue
        try:
            element = TIME_ELEMENT_OF_STATE[MachineState(r.state)]
        except ValueError:
            continue
        if element is TimeElement.ADET:
            totals[(r.reason or "unspecified", r.state)] += r.seconds
    grand = sum(totals.values())
    entries, running = [], 0.0
    for (reason, state), seconds in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])):
        running += seconds
        entries.append(ParetoEntry(reason, state, seconds, seconds / grand, running / grand))
    return entries
