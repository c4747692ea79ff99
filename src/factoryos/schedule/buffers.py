"""Line input buffers against a plan: how many units the plan keeps waiting before each line.

The plan has no buffers; the twin has them (``Line.input_buffer``): following a plan
(``simulate.plan_follow``) it holds a lot before its line until the lot's planned start, then
the lot's units enter the line's buffer together and leave it one by one as its unit starts
them, and upstream work blocks while the buffer is full. So at an instant the plan keeps about
``quantity x (end - t) / (end - start)`` units of each lot under way on a line's first step of
it waiting before the line; where the sum passes the buffer the twin blocks and runs late
against the plan. :func:`buffer_notes` says so per line with a buffer, with the plan's peak.
"""

from __future__ import annotations

from factoryos.model.plant import Plant
from factoryos.schedule.orders import PlantProblem
from factoryos.schedule.solution import Solution

__all__ = ["buffer_notes", "waiting_peaks"]


def waiting_peaks(
    plant: Plant, pp: PlantProblem, solution: Solution
) -> dict[str, tuple[float, int]]:
    """Per line with an ``input_buffer``: the most units the plan keeps waiting before it and
    the plan time when it does."""
    p = pp.problem
    line_of_equipment = {u.equipment.id: u.line.id for u in plant.work_units}
    line_of = {m: line_of_equipment[eq] for m, (eq, _) in enumerate(p.machine_units)}
    by_ref = solution.by_ref()
    ramps: dict[str, list[tuple[int, int, int]]] = {}
    for ref, op in p.iter_operations():
        a = by_ref[ref]
        here = line_of[a.machine]
        # the unit came from the same product's previous step: on another line, it enters
        before = [
            by_ref[q]
            for q in p.predecessors[ref]
            if p.jobs[q[0]].operations[q[1]].product == op.product
        ]
        if all(line_of[b.machine] != here for b in before):
            ramps.setdefault(here, []).append((a.start, a.end, op.quantity))
    out = {}
    for area in plant.areas:
        for line in area.lines:
            if line.input_buffer is None or line.id not in ramps:
                continue
            lots = sorted(ramps[line.id])
            peak, at = 0.0, 0
            for t, _, _ in lots:
                waiting = sum(
                    q * (e - t) / (e - s) if e > s else 0.0 for s, e, q in lots if s <= t < e
                )
                if waiting > peak:
                    peak, at = waiting, t
            out[line.id] = (peak, at)
    return out


def buffer_notes(plant: Plant, pp: PlantProblem, solution: Solution) -> tuple[str, ...]:
    """One sentence per line with an ``input_buffer``: whether the plan's waiting units fit."""
    out = []
    lines = {line.id: line for area in plant.areas for line in area.lines}
    for line_id, (peak, at) in waiting_peaks(plant, pp, solution).items():
        buffer = lines[line_id].input_buffer
        when = pp.axis.start_at(at).astimezone(plant.zone).strftime("%Y-%m-%d %H:%M")
        if peak > (buffer or 0):
            out.append(
                f"not in the plan: line {line_id}'s input buffer of {buffer} units; the plan "
                f"keeps up to {peak:,.0f} units waiting before it ({when}), so the twin "
                "following it blocks upstream there"
            )
        else:
            out.append(
                f"fits the plan: line {line_id}'s input buffer of {buffer} units; the plan "
                f"keeps at most {peak:,.0f} units waiting before it ({when})"
            )
    return tuple(out)
