"""What a repair moved and why: one line per operation whose unit or start changed.

A planner checks a repaired plan by its changes, not by the whole plan. Each change names its
cause as far as the plan shows it: the unit it was on is down over its old time, a new (rush)
order, a remake of scrap, the work that now runs right before it on its unit, or its own input
arriving later; work that moves earlier does so because its unit is free sooner.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from factoryos.schedule.problem import OpRef, Problem
from factoryos.schedule.solution import Assignment, Solution

__all__ = ["Move", "explain_moves"]


@dataclass(frozen=True, slots=True)
class Move:
    """``ref`` ran as ``old`` (``None`` for new work) and runs as ``new`` because ``reason``."""

    ref: OpRef
    old: Assignment | None
    new: Assignment
    reason: str


def _name(problem: Problem, ref: OpRef) -> str:
    job = problem.jobs[ref[0]]
    return f"{job.name or f'J{ref[0]}'}/{job.operations[ref[1]].name or ref[1]}"


def _unit(problem: Problem, machine: int) -> str:
    equipment, unit = problem.machine_unit(machine)
    return f"{equipment}/{unit}"


def explain_moves(
    problem: Problem,
    old: Solution,
    new: Solution,
    *,
    now: int,
    down: tuple[tuple[int, int, int], ...] = (),
    remakes: tuple[OpRef, ...] = (),
) -> list[Move]:
    """Every operation of ``new`` that is new or changed unit or start against ``old``, in
    order of its new start, with its reason. Work started before ``now`` never moves."""
    before = old.by_ref()
    placed = new.by_ref()
    previous: dict[OpRef, Assignment] = {}
    for seq in new.machine_sequences(problem.num_machines):
        for a, b in itertools.pairwise(seq):
            previous[b.ref] = a
    fresh = {a.job for a in new.assignments} - {a.job for a in old.assignments}
    out = []
    for a in sorted(new.assignments, key=lambda x: (x.start, x.machine, x.ref)):
        was = before.get(a.ref)
        if was is not None and (
            was.start < now or (was.machine, was.start) == (a.machine, a.start)
        ):
            continue
        why = _reason(problem, a, was, placed, previous, down, remakes, fresh)
        out.append(Move(a.ref, was, a, why))
    return out


def _reason(
    problem: Problem,
    a: Assignment,
    was: Assignment | None,
    placed: dict[OpRef, Assignment],
    previous: dict[OpRef, Assignment],
    down: tuple[tuple[int, int, int], ...],
    remakes: tuple[OpRef, ...],
    fresh: set[int],
) -> str:
    job = problem.jobs[a.job]
    if a.ref in remakes:
        return "remake of scrapped work"
    if was is None:
        return f"new order (weight {job.weight})"
    prefix = f"to {_unit(problem, a.machine)}: " if a.machine != was.machine else ""
    for m, lo, hi in down:
        if m == was.machine and was.start < hi and lo < was.end:
            return f"{prefix}its unit {_unit(problem, m)} is down over its old time"
    if a.start < was.start:
        return f"{prefix}earlier: its unit is free sooner"
    inputs = [placed[p] for p in problem.predecessors[a.ref] if p in placed]
    latest = max(inputs, key=lambda x: x.end, default=None)
    ahead = previous.get(a.ref)
    if ahead is not None and (latest is None or ahead.end >= latest.end):
        kind = "new order " if ahead.job in fresh else ""
        return f"{prefix}after {kind}{_name(problem, ahead.ref)} on {_unit(problem, a.machine)}"
    if latest is not None:
        return f"{prefix}waits for its input {_name(problem, latest.ref)}"
    return f"{prefix}later"
