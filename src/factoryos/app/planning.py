"""Planning use cases: solve benchmark instances (with the baseline as peer) and plant plans.

Composes ``factoryos.schedule`` with file locations; the CLI and ``bench/schedule.py`` call this.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from factoryos.model.loader import load_plant
from factoryos.model.plant import Plant
from factoryos.model.schedule import Schedule
from factoryos.schedule import (
    RULES,
    Assignment,
    Disruption,
    InstanceFormatError,
    LnsConfig,
    Objective,
    PlantProblem,
    Problem,
    SchedulingError,
    Solution,
    SolveResult,
    SolverParams,
    best_rule,
    build_problem,
    check,
    load_instance,
    plan_kpis,
    read_orders,
    repair,
    right_shift,
    solve,
    solve_baseline,
    solve_lexicographic,
    to_schedule,
)
from factoryos.schedule.gantt import gantt_html, gantt_png
from factoryos.schedule.repair import scrap_and_remake

__all__ = [
    "BENCHMARKS_ENV",
    "LEX_PREFIX",
    "OBJECTIVES",
    "BenchRow",
    "KnownBounds",
    "PlanOutcome",
    "RepairOutcome",
    "SolverName",
    "benchmark_instance",
    "default_benchmarks_dir",
    "find_known_bounds",
    "parse_objective",
    "plan_orders",
    "read_plan",
    "repair_plan",
    "resolve_instances",
    "write_schedule",
]

BENCHMARKS_ENV = "FACTORYOS_BENCHMARKS"
SolverName = Literal["factoryos", "baseline"]


def default_benchmarks_dir() -> Path:
    """``$FACTORYOS_BENCHMARKS``, else ``../shared/reference/benchmarks`` next to the repository."""
    env = os.environ.get(BENCHMARKS_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / ".." / "shared" / "reference" / "benchmarks"


@dataclass(frozen=True, slots=True)
class KnownBounds:
    """Best known lower and upper bounds of an instance's optimal makespan."""

    lower: int
    upper: int


BOUNDS_COLUMNS = {"lower_bound", "upper_bound"}


def find_known_bounds(path: Path) -> KnownBounds | None:
    """Look for a ``bounds.csv`` beside the file or up to two folders above.

    A row matches by its ``file`` column (relative to the CSV) when it has one, else by
    ``instance`` == the file's stem.
    """
    name = path.stem.lower()
    target = path.resolve()
    for folder in (path.parent, path.parent.parent, path.parent.parent.parent):
        table = folder / "bounds.csv"
        if not table.is_file():
            continue
        with table.open(newline="") as fh:
            reader = csv.DictReader(fh)
            columns = set(reader.fieldnames or ())
            if not columns >= BOUNDS_COLUMNS or not columns & {"file", "instance"}:
                raise InstanceFormatError(
                    f"columns {sorted(columns)}; expected lower_bound, upper_bound and "
                    "file or instance",
                    path=table,
                    line=1,
                )
            for row in reader:
                if row.get("file"):
                    hit = (folder / row["file"]).resolve() == target
                else:
                    hit = (row.get("instance") or "").lower() == name
                if hit:
                    try:
                        return KnownBounds(int(row["lower_bound"]), int(row["upper_bound"]))
                    except (TypeError, ValueError) as exc:
                        raise InstanceFormatError(
                            f"bounds of {path.name} are not integers: "
                            f"{row['lower_bound']!r}, {row['upper_bound']!r}",
                            path=table,
                            line=reader.line_num,
                        ) from exc
    return None


def resolve_instances(names: Iterable[str], root: Path | None = None) -> list[Path]:
    """Paths as given, or instance names looked up under the benchmark root.

    A name is searched in ``jssp/`` first, then ``fjsp/brandimarte/``, then the rest of ``fjsp/``
    (so ``la01`` is the JSSP instance, not Hurink's flexible variant of the same name).
    """
    base = root or default_benchmarks_dir()
    out = []
    for name in names:
        p = Path(name)
        if p.is_file():
            out.append(p)
            continue
        hits = [
            f
            for pattern in ("jssp/*.txt", "fjsp/brandimarte/*.fjs", "fjsp/**/*.fjs")
            for f in sorted(base.glob(pattern))
            if f.stem.lower() == name.lower()
        ]
        if not hits:
            raise FileNotFoundError(f"no instance {name!r} (not a file, not under {base})")
        out.append(hits[0])
    return out


@dataclass(frozen=True, slots=True)
class BenchRow:
    """One solver's result on one instance, checked by the validator."""

    instance: str
    solver: SolverName
    jobs: int
    machines: int
    makespan: int
    bound: float
    status: str
    wall_time_s: float
    known: KnownBounds | None

    @property
    def gap_to_best_known(self) -> float | None:
        """(makespan - best known UB) / best known UB; negative means a new best."""
        if self.known is None:
            return None
        return (self.makespan - self.known.upper) / self.known.upper


def _run(problem: Problem, solver: SolverName, params: SolverParams) -> SolveResult:
    if solver == "baseline":
        return solve_baseline(problem, params)
    return solve(problem, params, config=LnsConfig())


def benchmark_instance(
    path: Path,
    *,
    time_limit_s: float,
    num_workers: int,
    solvers: Iterable[SolverName] = ("factoryos", "baseline"),
    seed: int = 0,
) -> Iterator[BenchRow]:
    """Solve ``path`` with each solver under the same budget; every schedule is validated."""
    problem = load_instance(path)
    known = find_known_bounds(path)
    params = SolverParams(time_limit_s=time_limit_s, num_workers=num_workers, seed=seed)
    for solver in solvers:
        result = _run(problem, solver, params)
        check(problem, result.solution)
        yield BenchRow(
            instance=problem.name,
            solver=solver,
            jobs=len(problem.jobs),
            machines=problem.num_machines,
            makespan=result.solution.makespan,
            bound=result.best_bound,
            status=result.status,
            wall_time_s=result.wall_time_s,
            known=known,
        )


# -- plant plans -------------------------------------------------------------------------------

OBJECTIVES: dict[str, Objective] = {
    "makespan": Objective(1, 0),
    "weighted_tardiness": Objective(0, 1),
    "combined": Objective(1, 1),
    "energy_cost": Objective(0, 0, 1),
    "combined_energy": Objective(1, 1, 1),
}
"""Objective names accepted by ``factoryos schedule --objective``; ``lex:a,b[,c]`` ranks them."""

LEX_PREFIX = "lex:"


def parse_objective(text: str) -> list[Objective]:
    """One named objective, or ``lex:NAME,NAME...`` for a lexicographic order of them."""
    names = text.removeprefix(LEX_PREFIX).split(",") if text.startswith(LEX_PREFIX) else [text]
    names = [n.strip() for n in names]
    unknown = [n for n in names if n not in OBJECTIVES]
    if unknown or not names:
        raise SchedulingError(
            f"unknown objective {', '.join(map(repr, unknown)) or repr(text)}; choose from "
            f"{sorted(OBJECTIVES)} or lex:NAME,NAME (e.g. lex:weighted_tardiness,makespan)"
        )
    if len(set(names)) != len(names):
        raise SchedulingError(f"objective {text!r} names an objective twice")
    return [OBJECTIVES[n] for n in names]


@dataclass(frozen=True)
class PlanOutcome:
    """A plant plan, the best dispatching rule's plan on the same orders, and both KPI sets."""

    schedule: Schedule
    rule_schedule: Schedule
    rule: str
    kpis: dict[str, float]
    rule_kpis: dict[str, float]
    plant_problem: PlantProblem
    stage_values: tuple[int, ...] = ()
    """Lexicographic objectives: the value of each, in order (empty otherwise)."""
    rule_stage_values: tuple[int, ...] = ()


def plan_orders(
    plant_path: Path,
    orders_path: Path,
    *,
    objective: str = "weighted_tardiness",
    time_limit_s: float = 60.0,
    num_workers: int = 2,
    seed: int = 0,
) -> PlanOutcome:
    """Load the plant and orders, plan them, and compare with the best dispatching rule."""
    stages = parse_objective(objective)
    obj = stages[0]
    plant = load_plant(plant_path)
    pp = build_problem(
        plant, read_orders(orders_path, products=plant.product_by_id), name=orders_path.stem
    )
    problem = pp.problem
    t0 = time.perf_counter()
    rules = ("EDD", "FIFO", "MWKR", "MOPNR") if problem.num_operations > 1000 else tuple(RULES)
    if problem.has_setups and "SETUP" not in rules:
        rules = (*rules, "SETUP")
    rule, hint = best_rule(problem, rules, score=lambda s: obj.score(problem, s))
    rule_time = time.perf_counter() - t0
    params = SolverParams(
        time_limit_s=max(0.1, time_limit_s - rule_time), num_workers=num_workers, seed=seed
    )
    values: tuple[int, ...] = ()
    if len(stages) > 1:
        # each stage over the whole plant goes through the order-window decomposition
        lex = solve_lexicographic(problem, stages, params, hint=hint)
        result, values = lex.result, lex.values
        obj = stages[-1]
    else:
        result = solve(problem, params, objective=obj, hint=hint)
    check(problem, result.solution)
    result = dataclasses.replace(result, wall_time_s=time.perf_counter() - t0)
    rule_score = float(obj.score(problem, hint))
    rule_result = SolveResult(hint, "feasible", rule_score, 0.0, rule_time, f"rule:{rule}")
    name = objective if len(stages) > 1 else obj.name

    def plan(r: SolveResult) -> Schedule:
        s = to_schedule(
            problem,
            r,
            origin=pp.origin,
            time_unit=pp.time_unit,
            axis=pp.axis,
            objective_name=name,
        )
        return dataclasses.replace(s, kpis=plan_kpis(pp, r.solution))

    ours, theirs = plan(result), plan(rule_result)
    rule_values = tuple(o.score(problem, hint) for o in stages) if values else ()
    return PlanOutcome(ours, theirs, rule, ours.kpis, theirs.kpis, pp, values, rule_values)


SCHEDULE_COLUMNS = (
    "order_id",
    "product",
    "operation_id",
    "equipment_id",
    "unit_index",
    "start",
    "end",
    "setup_start",
    "setup_duration_s",
)


def write_schedule(
    schedule: Schedule,
    out_dir: Path,
    plant: Plant,
    *,
    stem: str = "schedule",
    gantt: bool = False,
) -> list[Path]:
    """Write ``<stem>.csv`` (one row per operation), ``<stem>.json`` (plan + operations) and,
    with ``gantt``, ``gantt.html`` (plotly, offline) and ``gantt.png`` (matplotlib).

    Times are written in the plant's zone with their offset (``2026-03-04T08:00:00+08:00``).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    zone = plant.zone
    rows = [
        {
            "order_id": o.order_id,
            "product": o.product,
            "operation_id": o.operation_id,
            "equipment_id": o.equipment_id,
            "unit_index": o.unit_index,
            "start": o.start.astimezone(zone).isoformat(),
            "end": o.end.astimezone(zone).isoformat(),
            "setup_start": o.setup_start.astimezone(zone).isoformat() if o.setup_start else "",
            "setup_duration_s": o.setup_duration.total_seconds(),
        }
        for o in sorted(schedule, key=lambda o: (o.start, o.equipment_id, o.unit_index))
    ]
    csv_path = out_dir / f"{stem}.csv"
    with csv_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=SCHEDULE_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    json_path = out_dir / f"{stem}.json"
    doc = {
        "status": schedule.status,
        "objective_name": schedule.objective_name,
        "objective": schedule.objective,
        "best_bound": schedule.best_bound,
        "wall_time_s": schedule.wall_time_s,
        "solver": schedule.solver,
        "kpis": schedule.kpis,
        "operations": rows,
    }
    json_path.write_text(json.dumps(doc, indent=1))
    written = [csv_path, json_path]
    if gantt:
        written.append(gantt_html(schedule, out_dir / "gantt.html", plant))
        written.append(gantt_png(schedule, out_dir / "gantt.png", plant))
    return written


# -- repair ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepairOutcome:
    schedule: Schedule
    deviation_h: float
    right_shift_objective: float
    frozen_operations: int


def read_plan(pp: PlantProblem, path: Path) -> Solution:
    """A ``schedule.json`` written by :func:`write_schedule`, as a solution of ``pp``."""
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
) -> RepairOutcome:
    """Repair the plan in ``plan_path`` at ``now`` for downtime, rush orders and scrap.

    ``scrap`` lists (order id, step) pairs, the step named as in the plan's ``operation_id``
    (``arm_assembly``, ``castings_sr6.painting``); each must be running or done at ``now``.
    """
    stages = parse_objective(objective)
    if len(stages) > 1:
        raise SchedulingError(f"repair takes one objective, not the order {objective!r}")
    obj = stages[0]
    plant = load_plant(plant_path)
    pp = build_problem(
        plant, read_orders(orders_path, products=plant.product_by_id), name=orders_path.stem
    )
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
    new_jobs = build_problem(plant, rush, origin=pp.origin).problem.jobs if rush else ()
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
    out = repair(
        pp.problem, old, disruption, params, objective=obj, deviation_weight=deviation_weight
    )
    check(out.problem, out.result.solution)
    new_pp = PlantProblem(out.problem, pp.orders + tuple(rush), pp.origin, pp.time_unit, pp.axis)
    _, stopped, _ = scrap_and_remake(pp.problem, old, disruption.now, disruption.scrap)
    shifted = right_shift(out.problem, stopped, disruption.now)
    shift_dev = sum(
        abs(shifted.by_ref()[a.ref].start - a.start)
        for a in old.assignments
        if a.start >= disruption.now
    )
    plan = to_schedule(
        out.problem,
        out.result,
        origin=pp.origin,
        time_unit=pp.time_unit,
        axis=pp.axis,
        objective_name=f"{obj.name}+{deviation_weight}*deviation",
    )
    plan = dataclasses.replace(plan, kpis=plan_kpis(new_pp, out.result.solution))
    return RepairOutcome(
        schedule=plan,
        deviation_h=out.deviation * pp.time_unit.total_seconds() / 3600,
        right_shift_objective=float(obj.score(out.problem, shifted) + deviation_weight * shift_dev),
        frozen_operations=len(out.frozen),
    )
