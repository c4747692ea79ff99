"""Plant plans and repairs on every example plant: CP-SAT against the best dispatching rule and
a lower bound, and repair against right-shift and a full re-plan with the same time.

For each plant's 4-week order book (``schedule`` with the combined objective):

* makespan, weighted tardiness and late orders of factoryos' plan and of the best dispatching
  rule, and the bottleneck bound (``schedule.bounds``: the bottleneck pool's released work over
  its available time in its own calendar), with the gap of each plan to it;
* how busy each plan keeps the bottleneck pool while it has work waiting (``bottleneck_busy``,
  the goal's measure: ``busy_while_waiting(fitting=True)``, the pool's available time counted
  while a waiting run could still run on the unit before its next pause). A step that must
  stay in one working stretch (the paint line's conveyor pass, a reactor batch) cannot use the
  end of a stretch shorter than it: that time is not available to the work waiting. Beside it,
  for the evidence, the same share counting every stretch end (``..._counting_stretch_ends``)
  and counting the stretch ends where the pool's shortest run would fit, whatever waits
  (``..._counting_ends_a_run_fits``: what a plan that kept a short lot waiting could use);
* a second plan of the same book with the makespan objective (``--objective makespan``, same
  time): the goal "within 10 % of the bound" is about makespan, which the combined objective
  (makespan plus weighted tardiness, both in time units) trades for tardiness; the combined
  score of both plans (``..._combined_h``) shows whether it did.

Then a repair at the rush file's first release: the bottleneck's first unit down for a day and
the rush orders added, repaired in ``--repair-time`` seconds; its objective (weighted tardiness
plus deviation in operation-hours) against the right-shift of the old plan and against a full
re-plan from scratch (best rule, then the same solver pipeline as ``schedule``) in the same
time, started work kept.

    .venv/bin/python bench/plan.py                                   # every plant, 60 s / 10 s
    .venv/bin/python bench/plan.py --plants robot --time-limit 20    # a quicker look
    .venv/bin/python bench/plan.py --examples ../model/examples      # plants of another folder
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from factoryos.app.planning import plan_orders, write_schedule
from factoryos.app.repairing import repair_plan
from factoryos.model.loader import load_plant
from factoryos.schedule import (
    Objective,
    Problem,
    Solution,
    SolverParams,
    best_rule,
    check,
    read_orders,
    solve,
)
from factoryos.schedule.bounds import bottleneck_bound, busy_while_waiting, path_bound
from factoryos.schedule.repair import operation_hours
from factoryos.schedule.replan import remainder

console = Console()
ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
RESULTS = Path(__file__).parent / "results"

PLANTS = {
    "robot": ("robot_factory.yaml", "orders_robot_4w.csv", "orders_rush.csv"),
    "electronics": (
        "electronics_plant.yaml",
        "orders_electronics_4w.csv",
        "orders_electronics_rush.csv",
    ),
    "coatings": ("coatings_plant.yaml", "orders_coatings_4w.csv", "orders_coatings_rush.csv"),
}


def full_replan(
    problem: Problem,
    old: Solution,
    now: int,
    obj: Objective,
    deviation: tuple[int, int],
    seconds: float,
) -> tuple[Solution, int, float]:
    """Plan the disrupted ``problem`` afresh in ``seconds``: work started before ``now`` stays
    (as unavailable time of its unit, with room for the longest changeover after it), the rest
    starts from ``now`` from the best rule, as ``schedule`` would. Returns the merged plan, its
    objective plus deviation from ``old`` (``deviation``: weight and time units an hour; as
    repair counts it, hours per operation rounded up) and the time used."""
    t0 = time.perf_counter()
    rest = remainder(problem, old, now)
    # one rule: on the loaded 2-core machine each takes 5-8 s on the 4-week robot plant
    _, hint = best_rule(rest.problem, ("EDD",), score=lambda s: obj.score(rest.problem, s))
    left = max(0.1, seconds - (time.perf_counter() - t0))
    result = solve(rest.problem, SolverParams(left, 2), objective=obj, hint=hint)
    merged = rest.merge(result.solution)
    check(problem, merged)
    at = merged.by_ref()
    weight, per_hour = deviation
    hours = sum(
        operation_hours(at[a.ref].start - a.start, per_hour)
        for a in old.assignments
        if a.start >= now
    )
    return merged, obj.score(problem, merged) + weight * hours, time.perf_counter() - t0


def _hours(pp_axis: object, origin: dt.datetime, units: int) -> float:
    end = pp_axis.end_at(units)  # type: ignore[attr-defined]
    return (end - origin).total_seconds() / 3600


def main(
    plants: Annotated[
        list[str] | None, typer.Option(help="Plants to run (default: all present).")
    ] = None,
    time_limit: Annotated[float, typer.Option(help="Seconds for each plan.")] = 60.0,
    repair_time: Annotated[
        float, typer.Option(help="Seconds for the repair and the re-plan.")
    ] = 10.0,
    workers: Annotated[int, typer.Option(help="CP-SAT worker threads.")] = 2,
    examples: Annotated[
        Path, typer.Option(help="Folder of the plants and order books.")
    ] = EXAMPLES,
) -> None:
    RESULTS.mkdir(exist_ok=True)
    names = plants or list(PLANTS)
    rows: list[dict[str, object]] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("plants", total=len(names))
        for name in names:
            files = [examples / f for f in PLANTS[name]]
            missing = [f.name for f in files if not f.exists()]
            if missing:
                console.print(f"[yellow]{name}: skipped, {', '.join(missing)} not in examples/")
                progress.advance(task)
                continue
            plant_path, orders_path, rush_path = files
            progress.update(task, description=f"{name}: plan ({time_limit:g} s)")
            outcome = plan_orders(
                plant_path,
                orders_path,
                objective="combined",
                time_limit_s=time_limit,
                num_workers=workers,
            )
            pp = outcome.plant_problem
            p = pp.problem
            bound = bottleneck_bound(p)
            # the pool's bound, or an order's own path in the calendars when that is later
            path = path_bound(p)
            bound_h = _hours(pp.axis, pp.origin, max(bound.bound, path))
            bound_from = (
                "an order's path"
                if path > bound.bound
                else "last start"
                if bound.last_start is not None
                else "end of work"
            )
            pool = sorted({p.machine_unit(m)[0] for m in bound.machines})
            stretch_runs = [
                op.min_duration
                for _, op in p.iter_operations()
                if p.mode_of(op) == "stretch"
                and tuple(sorted(a.machine for a in op.alternatives)) == bound.machines
            ]
            shortest_stretch_run = min(stretch_runs, default=None)
            row: dict[str, object] = {
                "plant": name,
                "orders": len(pp.orders),
                "operations": p.num_operations,
                "bottleneck": "+".join(pool),
                "bound_makespan_h": round(bound_h, 1),
                "bound_from": bound_from,
            }
            for who, kpis, sol in (
                ("factoryos", outcome.kpis, outcome.solution),
                (f"rule_{outcome.rule}", outcome.rule_kpis, outcome.rule_solution),
            ):
                key = "factoryos" if who == "factoryos" else "rule"
                assert sol is not None
                row[f"{key}_makespan_h"] = round(kpis["makespan_h"], 1)
                row[f"{key}_gap_to_bound"] = round(kpis["makespan_h"] / bound_h - 1, 4)
                row[f"{key}_weighted_tardiness_h"] = round(kpis["total_weighted_tardiness_h"], 1)
                row[f"{key}_late_orders"] = int(kpis["late_orders"])
                row[f"{key}_combined_h"] = round(
                    kpis["makespan_h"] + kpis["total_weighted_tardiness_h"], 1
                )
                row[f"{key}_bottleneck_busy"] = round(
                    busy_while_waiting(p, sol, bound.machines, fitting=True), 3
                )
                row[f"{key}_bottleneck_busy_counting_stretch_ends"] = round(
                    busy_while_waiting(p, sol, bound.machines), 3
                )
                row[f"{key}_bottleneck_busy_counting_ends_a_run_fits"] = round(
                    busy_while_waiting(
                        p, sol, bound.machines, fitting=True, shortest_run=shortest_stretch_run
                    ),
                    3,
                )
            row["rule"] = outcome.rule
            progress.update(task, description=f"{name}: makespan plan ({time_limit:g} s)")
            fastest = plan_orders(
                plant_path,
                orders_path,
                objective="makespan",
                time_limit_s=time_limit,
                num_workers=workers,
            )
            row["makespan_plan_h"] = round(fastest.kpis["makespan_h"], 1)
            row["makespan_plan_gap_to_bound"] = round(fastest.kpis["makespan_h"] / bound_h - 1, 4)
            row["makespan_plan_weighted_tardiness_h"] = round(
                fastest.kpis["total_weighted_tardiness_h"], 1
            )
            row["makespan_plan_late_orders"] = int(fastest.kpis["late_orders"])
            row["makespan_plan_combined_h"] = round(
                fastest.kpis["makespan_h"] + fastest.kpis["total_weighted_tardiness_h"], 1
            )
            row["makespan_plan_rule"] = fastest.rule
            row["makespan_rule_h"] = round(fastest.rule_kpis["makespan_h"], 1)
            # repair: the bottleneck's first unit down for a day at the first rush release
            progress.update(task, description=f"{name}: repair ({repair_time:g} s)")
            now = min(o.release for o in read_orders(rush_path))
            equipment, unit = p.machine_unit(bound.machines[0])
            with tempfile.TemporaryDirectory() as tmp:
                write_schedule(outcome.schedule, Path(tmp), load_plant(plant_path))
                rep = repair_plan(
                    plant_path,
                    orders_path,
                    Path(tmp) / "schedule.json",
                    now=now,
                    down=[(equipment, unit, now, now + dt.timedelta(days=1))],
                    rush_path=rush_path,
                    time_limit_s=repair_time,
                    num_workers=workers,
                )
            assert rep.repaired is not None and rep.old is not None
            progress.update(task, description=f"{name}: full re-plan ({repair_time:g} s)")
            _, replan_obj, replan_s = full_replan(
                rep.repaired.problem,
                rep.old,
                rep.now,
                Objective(0, 1),
                (1, pp.units_per_hour),
                repair_time,
            )
            row.update(
                {
                    "repair_down": f"{equipment}/{unit}",
                    "repair_objective": rep.schedule.objective,
                    "right_shift_objective": rep.right_shift_objective,
                    "replan_objective": replan_obj,
                    "repair_vs_right_shift": round(
                        rep.schedule.objective / rep.right_shift_objective - 1, 4
                    ),
                    "repair_vs_replan": round(rep.schedule.objective / replan_obj - 1, 4),
                    "repair_s": round(rep.schedule.wall_time_s, 2),
                    "replan_s": round(replan_s, 2),
                    "repair_stopped": rep.stopped,
                }
            )
            rows.append(row)
            progress.advance(task)
    for row in rows:
        table = Table(
            title=f"{row['plant']}: {row['orders']} orders, {row['operations']} operations"
        )
        table.add_column("")
        table.add_column("value", justify="right")
        for key, value in row.items():
            if key not in ("plant", "orders", "operations"):
                table.add_row(
                    key,
                    f"{value:.1%}"
                    if key.endswith(("gap_to_bound", "_vs_right_shift", "_vs_replan"))
                    and isinstance(value, float)
                    else str(value),
                )
        console.print(table)
    if rows:
        path = RESULTS / f"plan-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}.csv"
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        console.print(f"wrote {path}")


if __name__ == "__main__":
    typer.run(main)
