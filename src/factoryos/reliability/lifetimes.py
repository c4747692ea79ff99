"""Lifetimes from a unit's state history: times between failures and times to repair.

A unit's history is the sequence of states it entered inside an observation window. Two kinds of
lifetime are read from it, both as survival data (a duration and whether its end was observed):

- **time between failures (TBF)**: *operating* time (``producing`` and ``setup``, ISO 22400's
  APT + AUST, the same time the KPI engine divides by the failure count for MTBF) from the end of
  one repair to the next entry into a failure state (:data:`FAILURE_STATES`). Idle, starved,
  blocked and off-shift time does not age the unit. A TBF still running when the window ends is
  *right-censored*: the unit survived at least that long. Planned maintenance either pauses the
  clock (:attr:`MaintenancePolicy.PAUSES`, what the digital twin does) or renews the unit
  (:attr:`MaintenancePolicy.RENEWS`, preventive maintenance restores it as good as new): then the
  running TBF is censored when maintenance starts and a new one begins after it.
- **time to repair (TTR)**: clock time in failure states, from entry to exit; a repair still
  running at the window end is censored.

What happened before a unit's first event in the window is unknown, so a repair already running
then is not used, and the operating time before the first failure is used only when the unit's
age is known there (``age_known_at_start``: the history starts in the window, e.g. a new unit or
the twin's first day); otherwise it would be a left-truncated lifetime of unknown age.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from factoryos.model.states import FAILURE_STATES, MachineState

__all__ = [
    "OPERATING_STATES",
    "Lifetimes",
    "MaintenancePolicy",
    "UnitHistory",
    "unit_lifetimes",
]

OPERATING_STATES: frozenset[MachineState] = frozenset({MachineState.PRODUCING, MachineState.SETUP})
"""States whose time counts as operating time, the time a TBF is measured in."""


class MaintenancePolicy(StrEnum):
    """What planned maintenance does to a unit's failure clock."""

    PAUSES = "pauses"
    RENEWS = "renews"


@dataclass(frozen=True, slots=True)
class Lifetimes:
    """Survival data: durations in seconds and whether each ended in the event (else censored)."""

    durations_s: npt.NDArray[np.float64]
    observed: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, pairs: Iterable[tuple[float, bool]]) -> Lifetimes:
        items = list(pairs)
        return cls(
            np.array([d for d, _ in items], dtype=np.float64),
            np.array([o for _, o in items], dtype=np.bool_),
        )

    @classmethod
    def concat(cls, parts: Sequence[Lifetimes]) -> Lifetimes:
        if not parts:
            return cls.of([])
        return cls(
            np.concatenate([p.durations_s for p in parts]),
            np.concatenate([p.observed for p in parts]),
        )

    @property
    def n(self) -> int:
        return int(self.durations_s.size)

    @property
    def events(self) -> int:
        return int(self.observed.sum())

    @property
    def censored(self) -> int:
        return self.n - self.events

    def without_censored(self) -> Lifetimes:
        """Only the completed lifetimes: what a naive analysis keeps (biased towards short)."""
        return Lifetimes(self.durations_s[self.observed], self.observed[self.observed])


@dataclass(frozen=True, slots=True)
class UnitHistory:
    """The states one unit entered, at seconds ``times_s`` (ascending) inside a window."""

    path: str
    times_s: Sequence[float]
    states: Sequence[MachineState]


def unit_lifetimes(
    history: UnitHistory,
    window_end_s: float,
    *,
    age_known_at_start: bool,
    policy: MaintenancePolicy = MaintenancePolicy.PAUSES,
) -> tuple[Lifetimes, Lifetimes]:
    """(TBF, TTR) of one unit over its history up to ``window_end_s`` (see the module doc)."""
    tbf: list[tuple[float, bool]] = []
    ttr: list[tuple[float, bool]] = []
    age: float | None = 0.0 if age_known_at_start else None  # operating time since renewal
    fault_since: float | None = None  # entry into the running failure, if seen
    previous: MachineState | None = None
    ends = [*history.times_s[1:], window_end_s]
    for begin, end, state in zip(history.times_s, ends, history.states, strict=True):
        failing = state in FAILURE_STATES
        was_failing = previous in FAILURE_STATES
        if failing and not was_failing:
            if age is not None and age > 0.0:
                tbf.append((age, True))
            age = None  # known again once this repair is seen to end
            # A failure as a unit's first event may be a state re-sent, its start unknown.
            fault_since = begin if previous is not None or age_known_at_start else None
        elif was_failing and not failing:
            if fault_since is not None:
                ttr.append((begin - fault_since, True))
            fault_since = None
            age = 0.0
        if (
            policy is MaintenancePolicy.RENEWS
            and state is MachineState.MAINTENANCE
            and previous is not MachineState.MAINTENANCE
            and age is not None
        ):
            if age > 0.0:
                tbf.append((age, False))
            age = 0.0
        if state in OPERATING_STATES and age is not None:
            age += max(end - begin, 0.0)
        previous = state
    if fault_since is not None and window_end_s > fault_since:
        ttr.append((window_end_s - fault_since, False))
    if age is not None and age > 0.0:
        tbf.append((age, False))
    return Lifetimes.of(tbf), Lifetimes.of(ttr)
