"""The variable records of the CP-SAT job-shop model (per operation, per resumable run, per
energy table) and the granularity of its energy tables."""

from __future__ import annotations

from dataclasses import dataclass

from ortools.sat.python import cp_model

__all__ = ["ENERGY_ENTRIES", "EnergyVars", "OpVars", "Stretch", "price_step"]

ENERGY_ENTRIES = 4_000
"""Energy-table entries (start steps x machines) per model, shared evenly by its operations:
CP-SAT expands each table into a literal per entry, and a plant step's exact tables (several
hundred thousand literals) took its whole budget in presolve."""


def price_step(starts: int, machines: int, slot: int, share: int) -> int:
    """Start granularity of an operation's energy tables: 1 (exact) when ``starts`` x
    ``machines`` entries fit in its ``share``, else the smallest divisor of the price ``slot``
    whose tables fit, else the slot."""
    if starts * machines <= share:
        return 1
    for step in range(2, slot):
        if slot % step == 0 and (starts // step + 2) * machines <= share:
            return step
    return slot


@dataclass(slots=True)
class EnergyVars:
    """An operation's energy-cost variables, kept to hint them from a plan."""

    step: int
    lo_k: int
    index: cp_model.IntVar | None
    """Start step (start // step) when ``step > 1``."""
    cost: cp_model.IntVar
    pick: cp_model.IntVar | None
    """Entry of the machines' tables laid end to end (flexible operations only).

    One element over all machines instead of a cost per machine selected by its presence
    literal: CP-SAT 9.15 aborted presolve (``absl::btree_map::at`` in its hint crushing) on
    hinted per-machine costs."""
    tables: dict[int, list[int]]


@dataclass(slots=True)
class OpVars:
    start: cp_model.IntVar
    end: cp_model.IntVar
    interval: cp_model.IntervalVar
    choices: dict[int, tuple[cp_model.IntVar | int, cp_model.IntervalVar]]
    """machine -> (presence literal or 1, interval on that machine)."""


@dataclass(frozen=True, slots=True)
class Stretch:
    """A resumable run's stretch indices on one unit, what its elements map them to, and the
    element variables (start bounds, end bounds, time off before start and end)."""

    ks: cp_model.IntVar
    ke: cp_model.IntVar
    begins: list[int]
    closes: list[int]
    before: list[int]
    parts: tuple[cp_model.IntVar, ...]
