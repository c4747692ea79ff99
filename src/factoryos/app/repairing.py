"""Repair use case: read a written plan back, disrupt it (downtime, rush orders, scrap), repair
it, and write the same outputs as a plan plus the list of what moved and why.

Composes ``factoryos.schedule`` with file locations; the CLI and ``bench/plan.py`` call this.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from factoryos.app.planning import load_problem, parse_objective, write_schedule
from factoryos.model.plant import Plant
from factoryos.model.schedule import Schedule
from factoryos.schedule import (
    Assignment,
    Disruption,
    PlantProblem,
    SchedulingError,
    Solution,
    SolverParams,
    build_problem,
    check,
    plan_kpis,
    read_orders,
    repair,
    right_shift,
    to_schedule,
)
from factoryos.schedule.moves import Move, explain_moves
from factoryos.schedule.repair import RepairResult, operation_hours, scrap_and_remake

__all__ = ["MOVE_COLUMNS", "RepairOutcome", "read_plan", "repair_plan", "write_repair"]


@dataclass(frozen=True)
class RepairOutcome:
    schedule: Schedule
    deviation_h: float
    right_shift_objective: float  # NaN when not compared (see repair_plan)
    frozen_operations: int
    stopped: str = ""
    """Why the repair ended before or at its time limit."""
    moves: tuple[dict[str, str], ...] = ()
    """One row per moved or new operation (see :data:`MOVE_COLUMNS`)."""
    repaired: RepairResult | None = None
    """The engine's result: the disrupted problem and the repaired solution."""
    old: Solution | None = None
    """The plan before the disruption (scrapped running work stopped at ``now``)."""
    now: int = 0


MOVE_COLUMNS = (
    "order_id",
    "operation_id",
    "old_unit",
    "old_start",
    "new_unit",
    "new_start",
    "new_end",
    "shift_h",
    "reason",
)


def read_plan(pp: PlantProblem, path: Path) -> Solution:
    """A ``schedule.json`` written by :func:`~factoryos.app.planning.write_schedule`, as a
    solution of ``pp``."""
    doc = json.loads(path.read_text())
    p = pp.problem
    refs = {
        (job.name, op.name): (j, o)
        for j, job in enumerate(p.jobs)
        for o, op in enumerate(job.operations)
    }
    machines = {mu: i for i, mu in enumerate(p.machine_units)}
    out = []
    for row in doc["operations"]:
        key = (row["order_id"], row["operation_id"])
        if key not in refs:
            raise SchedulingError(f"{path}: operation {key} is not in the orders")
        j, o = refs[key]
        mach = machines[(row["equipment_id"], int(row["unit_index"]))]
        start = pp.to_units(dt.datetime.fromisoformat(row["start"]))
        end = pp.to_units(dt.datetime.fromisoformat(row["end"]))
        out.append(Assignment(j, o, mach, start, end))
    return Solution.from_assignments(out)


def _move_rows(pp: PlantProblem, moves: list[Move]) -> tuple[dict[str, str], ...]:
    p, axis = pp.problem, pp.axis

    def unit(m: int) -> str:
        equipment, index = p.machine_unit(m)
        return f"{equipment}/{index}"

    rows = []
    for mv in moves:
        job = p.jobs[mv.ref[0]]
        new_start = axis.start_at(mv.new.start)
        old_start = None if mv.old is None else axis.start_at(mv.old.start)
        rows.append(
            {
                "order_id": job.name,
                "operation_id": job.operations[mv.ref[1]].name,
                "old_unit": "" if mv.old is None else unit(mv.old.machine),
                "old_start": "" if old_start is None else old_start.isoformat(),
                "new_unit": unit(mv.new.machine),
                "new_start": new_start.isoformat(),
                "new_end": axis.end_at(mv.new.end).isoformat(),
                "shift_h": ""
                if old_start is None
                else f"{(new_start - old_start).total_seconds() / 3600:+.2f}",
                "reason": f"{mv.reason}, due {axis.end_at(job.due_date).isoformat()}"
                if mv.reason.startswith("new order") and job.due_date is not None
                else mv.reason,
            }
        )
    return tuple(rows)


def repair_plan(
    plant_path: Path,
    orders_path: Path,
    plan_path: Path,
    *,
    now: dt.datetime,
    down: list[tuple[str, int, dt.datetime, dt.datetime]],
    rush_path: Path | None = None,
    scrap: list[tuple[str, str]] | None = None,
    objective: str = "weighted_tardiness",
    time_limit_s: float = 5.0,
    num_workers: int = 2,
    deviation_weight: int = 1,
    lot_size: int | None = None,
    plant: Plant | None = None,
    compare_right_shift: bool = True,
) -> RepairOutcome:
    """Repair the plan in ``plan_path`` at ``now`` for downtime, rush orders and scrap.

    The objective is ``objective`` plus ``deviation_weight`` times the operation-hours moved
    (each old operation's start change in hours, rounded up: see
    :mod:`factoryos.schedule.repair`).

    ``scrap`` lists (order id, step) pairs, the step named as in the plan's ``operation_id``
    (``arm_assembly``, ``castings_sr6.painting``); each must be running or done at ``now``.
    ``plant``: the model of ``plant_path`` when the caller holds it already. Without
    ``compare_right_shift`` (the live loop, in a hurry) ``right_shift_objective`` is NaN.
    """
    stages = parse_objective(objective)
    if len(stages) > 1:
        raise SchedulingError(f"repair takes one objective, not the order {objective!r}")
    obj = stages[0]
    plant, pp = load_problem(plant_path, orders_path, lot_size, plant)
    refs = {
        (job.name, op.name): (j, o)
        for j, job in enumerate(pp.problem.jobs)
        for o, op in enumerate(job.operations)
    }
    scrapped = []
    for order_id, step in scrap or []:
        if (order_id, step) not in refs:
            steps = sorted(name for (o, name) in refs if o == order_id)
            raise SchedulingError(
                f"scrap {order_id}:{step}: no such operation"
                + (f"; steps of {order_id}: {', '.join(steps)}" if steps else "; unknown order")
            )
        scrapped.append(refs[(order_id, step)])
    old = read_plan(pp, plan_path)
    check(pp.problem, old)
    rush = read_orders(rush_path, products=plant.product_by_id) if rush_path else []
    new_jobs = (
        build_problem(plant, rush, origin=pp.origin, lot_size=lot_size).problem.jobs if rush else ()
    )
    machines = {mu: i for i, mu in enumerate(pp.problem.machine_units)}
    spans = []
    for equipment, unit, t1, t2 in down:
        if (equipment, unit) not in machines:
            raise SchedulingError(f"no work unit {equipment}/{unit} in the plant")
        spans.append((machines[(equipment, unit)], pp.to_units(t1), pp.to_units(t2)))
    disruption = Disruption(
        now=pp.to_units(now), down=tuple(spans), new_jobs=new_jobs, scrap=tuple(scrapped)
    )
    params = SolverParams(time_limit_s=time_limit_s, num_workers=num_workers)
    per_hour = pp.units_per_hour
    out = repair(
        pp.problem,
        old,
        disruption,
        params,
        objective=obj,
        deviation_weight=deviation_weight,
        deviation_unit=per_hour,
    )
    check(out.problem, out.result.solution)
    new_pp = PlantProblem(out.problem, pp.orders + tuple(rush), pp.origin, pp.time_unit, pp.axis)
    _, stopped, _ = scrap_and_remake(pp.problem, old, disruption.now, disruption.scrap)
    right_shift_objective = float("nan")
    if compare_right_shift:
        shifted = right_shift(out.problem, stopped, disruption.now)
        shifted_at = shifted.by_ref()  # once: it builds a dict of every operation
        shift_dev = sum(
            operation_hours(shifted_at[a.ref].start - a.start, per_hour)
            for a in old.assignments
            if a.start >= disruption.now
        )
        right_shift_objective = float(
            obj.score(out.problem, shifted) + deviation_weight * shift_dev
        )
    plan = to_schedule(
        out.problem,
        out.result,
        origin=pp.origin,
        time_unit=pp.time_unit,
        axis=pp.axis,
        objective_name=f"{obj.name}+{deviation_weight}*deviation_hours",
    )
    plan = dataclasses.replace(plan, kpis=plan_kpis(new_pp, out.result.solution))
    moves = explain_moves(
        out.problem,
        stopped,
        out.result.solution,
        now=disruption.now,
        down=disruption.down,
        remakes=out.remakes,
    )
    return RepairOutcome(
        schedule=plan,
        deviation_h=out.deviation * pp.time_unit.total_seconds() / 3600,
        right_shift_objective=right_shift_objective,
        frozen_operations=len(out.frozen),
        stopped=out.stopped,
        moves=_move_rows(new_pp, moves),
        repaired=out,
        old=stopped,
        now=disruption.now,
    )


def write_repair(
    outcome: RepairOutcome, out_dir: Path, plant: Plant, *, gantt: bool = True
) -> list[Path]:
    """The repaired plan as ``repaired.csv``/``repaired.json`` and the Gantt charts (as
    ``schedule`` writes them), and ``moves.csv``: what moved and why."""
    written = write_schedule(outcome.schedule, out_dir, plant, stem="repaired", gantt=gantt)
    path = out_dir / "moves.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=MOVE_COLUMNS)
        writer.writeheader()
        writer.writerows(outcome.moves)
    return [*written, path]
