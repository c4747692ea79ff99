"""Planning use cases: solve benchmark instances (with the baseline as peer) and plant plans.

Composes ``factoryos.schedule`` with file locations; the CLI and ``bench/schedule.py`` call this.
"""

from __future__ import annotations

import csv
import dataclasses
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
    InstanceFormatError,
    LnsConfig,
    Objective,
    PlantProblem,
    Problem,
    SchedulingError,
    Solution,
    SolveResult,
    SolverParams,
    build_problem,
    check,
    load_instance,
    plan_kpis,
    read_orders,
    rules_within,
    solve,
    solve_baseline,
    solve_lexicographic,
    to_schedule,
)
from factoryos.schedule.buffers import buffer_notes
from factoryos.schedule.gantt import gantt_html, gantt_png
from factoryos.schedule.rules import SERIAL

__all__ = [
    "BENCHMARKS_ENV",
    "LEX_PREFIX",
    "OBJECTIVES",
    "BenchRow",
    "KnownBounds",
    "PlanOutcome",
    "SolverName",
    "benchmark_instance",
    "default_benchmarks_dir",
    "find_known_bounds",
    "parse_objective",
    "plan_orders",
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
    solution: Solution | None = None
    rule_solution: Solution | None = None
    timings: tuple[tuple[str, float], ...] = ()
    """(phase, seconds) in order: load, rules, the rule plan's check and KPIs, solver, check and
    KPIs (of the solver's plan, when it differs)."""
    rules_run: str = ""
    """Each rule's time, and the rules skipped with the reason."""
    solver_note: str = ""
    """What the solver did (steps run, what it could not do and why)."""
    buffers: tuple[str, ...] = ()
    """Per line with an input buffer: whether the units the plan keeps waiting before it fit
    (``factoryos.schedule.buffers``)."""


def load_problem(
    plant_path: Path, orders_path: Path, lot_size: int | None = None, plant: Plant | None = None
) -> tuple[Plant, PlantProblem]:
    """The plant and its order book as one planning problem (orders checked against the plant's
    products; ``lot_size`` for orders without their own); ``plant``: already loaded from
    ``plant_path`` (a service re-plans often)."""
    plant = plant if plant is not None else load_plant(plant_path)
    orders = read_orders(orders_path, products=plant.product_by_id)
    return plant, build_problem(plant, orders, name=orders_path.stem, lot_size=lot_size)


RULE_SHARE = 0.2
"""Share of ``--time-limit`` the dispatching rules may use; the solver has what is left."""


def plan_orders(
    plant_path: Path,
    orders_path: Path,
    *,
    objective: str = "weighted_tardiness",
    time_limit_s: float = 60.0,
    num_workers: int = 2,
    seed: int = 0,
    lot_size: int | None = None,
) -> PlanOutcome:
    """Load the plant and orders, plan them, and compare with the best dispatching rule.

    The whole call keeps to ``time_limit_s``: loading, then the rules within
    :data:`RULE_SHARE` of it (a rule too slow for it is skipped, with the reason in
    ``PlanOutcome.rules_run``), then the check and the KPIs of the rule's plan, then the solver
    with what is left after keeping as much again for its plan's check and KPIs; when less
    than one pass of the list schedule is left for it, the solver is not run and
    ``PlanOutcome.solver_note`` says why. ``PlanOutcome.timings`` says what used the time.
    ``lot_size`` (``--lot-size``) applies to the orders without their own."""
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    stages = parse_objective(objective)
    obj = stages[0]
    plant, pp = load_problem(plant_path, orders_path, lot_size)
    problem = pp.problem
    t_load = time.perf_counter()
    rules = ("EDD", "FIFO", "MWKR", "MOPNR") if problem.num_operations > 1000 else tuple(RULES)
    if problem.has_setups and "SETUP" not in rules:
        rules = (*rules, "SETUP")
    ran = rules_within(problem, rules, lambda s: obj.score(problem, s), RULE_SHARE * time_limit_s)
    rule, hint = ran.rule, ran.solution
    t_rules = time.perf_counter()
    rule_time = t_rules - t_load
    # the plan's objective is the last stage's (the only one but for lex:)
    rule_score = float(stages[-1].score(problem, hint))
    rule_result = SolveResult(hint, "feasible", rule_score, 0.0, rule_time, f"rule:{rule}")
    name = objective if len(stages) > 1 else obj.name
    made: dict[int, Schedule] = {}

    def plan(r: SolveResult) -> Schedule:
        # the solver often returns the rule's plan itself (a big plan no step could improve):
        # its operations and KPIs once (to_schedule and plan_kpis: 1-2 s on 7,600 operations)
        key = id(r.solution)
        if key not in made:
            check(problem, r.solution)
            s = to_schedule(
                problem,
                r,
                origin=pp.origin,
                time_unit=pp.time_unit,
                axis=pp.axis,
                objective_name=name,
            )
            made[key] = dataclasses.replace(s, kpis=plan_kpis(pp, r.solution))
        s = made[key]
        return dataclasses.replace(
            s,
            kpis=dict(s.kpis),
            status=r.status,
            objective=r.objective,
            best_bound=r.best_bound,
            wall_time_s=r.wall_time_s,
            solver=r.solver,
        )

    # The rule's plan checked and its KPIs first: a better plan from the solver costs as much
    # again, measured here on this machine as loaded as it is now, so that much is kept back.
    theirs = plan(rule_result)
    t_theirs = time.perf_counter()
    reserve = t_theirs - t_rules
    solver_s = deadline - t_theirs - reserve
    values: tuple[int, ...] = ()
    if solver_s < ran.seconds[SERIAL]:
        # a step of the solver builds and checks a model over the plan: less than one pass
        # of the list schedule improves nothing and would overrun the limit
        result = dataclasses.replace(
            rule_result,
            note=f"not run: {max(0.0, solver_s):.1f} s of the {time_limit_s:g} s limit left "
            f"after loading ({t_load - t0:.1f} s), the rules ({rule_time:.1f} s), the rule "
            f"plan's check and KPIs ({reserve:.1f} s) and as much kept for the solver's plan",
        )
        if len(stages) > 1:
            values = tuple(o.score(problem, hint) for o in stages)
    else:
        params = SolverParams(time_limit_s=solver_s, num_workers=num_workers, seed=seed)
        if len(stages) > 1:
            # each stage over the whole plant goes through the order-window decomposition
            lex = solve_lexicographic(problem, stages, params, hint=hint)
            result, values = lex.result, lex.values
        else:
            result = solve(problem, params, objective=obj, hint=hint)
    t_solve = time.perf_counter()
    if result.solution == hint:  # a copy of the rule's plan: checked and measured already
        result = dataclasses.replace(result, solution=hint)
    ours = plan(dataclasses.replace(result, wall_time_s=time.perf_counter() - t0))
    rule_values = tuple(o.score(problem, hint) for o in stages) if values else ()
    t_end = time.perf_counter()
    ours = dataclasses.replace(ours, wall_time_s=t_end - t0)
    timings = (
        ("load", t_load - t0),
        ("rules", rule_time),
        ("the rule plan's check and KPIs", reserve),
        (f"solver ({result.solver})", t_solve - t_theirs),
        ("check and KPIs", t_end - t_solve),
    )
    return PlanOutcome(
        ours,
        theirs,
        rule,
        ours.kpis,
        theirs.kpis,
        pp,
        values,
        rule_values,
        result.solution,
        hint,
        timings=timings,
        rules_run=ran.describe(),
        solver_note=result.note,
        buffers=buffer_notes(plant, pp, result.solution),
    )


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
