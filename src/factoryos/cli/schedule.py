"""``factoryos schedule``, ``repair`` and ``bench-schedule``: plans, repairs, benchmarks."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from factoryos.app.planning import BenchRow, SolverName, benchmark_instance
from factoryos.cli.errors import reported_errors
from factoryos.model.loader import load_plant

# options that 'schedule', 'repair' and 'bench' share
Workers = Annotated[int, typer.Option(help="CP-SAT worker threads.")]
Gantt = Annotated[bool, typer.Option(help="Also write Gantt charts into --out.")]
LotSize = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Units per lot for orders without a lot_size column value (default: each "
        "product's lot_size). Setups are per lot, run time per unit.",
    ),
]

console = Console()


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.2%}"


def bench_schedule(
    files: Annotated[list[Path], typer.Argument(help="Instance files (.txt JSSP, .fjs FJSP).")],
    time_limit: Annotated[float, typer.Option(help="Seconds per instance and solver.")] = 60.0,
    workers: Workers = 2,
    baseline: Annotated[
        bool, typer.Option(help="Also run the plain CP-SAT model of OR-Tools' examples.")
    ] = False,
) -> None:
    """Solve each instance; print makespan, proven bound and gap to the best known upper bound."""
    table = Table(title=f"factoryos schedule: {time_limit:g} s, {workers} worker(s) per instance")
    for col in ("instance", "size", "solver", "makespan", "bound", "status", "best known", "gap"):
        table.add_column(col, justify="left" if col in ("instance", "solver") else "right")
    solvers: tuple[SolverName, ...] = ("factoryos", "baseline") if baseline else ("factoryos",)
    rows: list[BenchRow] = []
    with reported_errors():
        for path in files:
            if not path.is_file():
                raise typer.BadParameter(f"{path} is not a file", param_hint="FILES")
            with console.status(f"solving {path.name}"):
                for row in benchmark_instance(
                    path, time_limit_s=time_limit, num_workers=workers, solvers=solvers
                ):
                    rows.append(row)
                    table.add_row(
                        row.instance,
                        f"{row.jobs}x{row.machines}",
                        row.solver,
                        str(row.makespan),
                        f"{row.bound:g}",
                        row.status,
                        "-" if row.known is None else str(row.known.upper),
                        _pct(row.gap_to_best_known),
                    )
    console.print(table)


KPI_ROWS = (
    ("makespan_h", "makespan (h)", "{:.1f}"),
    ("total_weighted_tardiness_h", "weighted tardiness (h)", "{:.1f}"),
    ("total_tardiness_h", "tardiness (h)", "{:.1f}"),
    ("late_orders", "late orders", "{:.0f}"),
    ("on_time_rate", "on time", "{:.1%}"),
    ("utilization_mean", "utilization mean", "{:.1%}"),
    ("utilization_max", "utilization max", "{:.1%}"),
    ("changeovers", "setups (lots, family changes)", "{:.0f}"),
    ("setup_h", "setup (h)", "{:.1f}"),
    ("energy_cost_cny", "energy cost (CNY)", "{:,.0f}"),
)


def schedule(
    plant: Annotated[Path, typer.Argument(help="Plant model YAML.")],
    orders: Annotated[
        Path, typer.Argument(help="Orders CSV: order,product,quantity,release,due[,weight].")
    ],
    objective: Annotated[
        str,
        typer.Option(
            help="makespan | weighted_tardiness | combined (sum of both) | energy_cost (fen) "
            "| combined_energy (makespan + weighted tardiness in minutes + energy in fen) "
            "| lex:NAME,NAME... (lexicographic: the first, then the next without losing it)."
        ),
    ] = "weighted_tardiness",
    time_limit: Annotated[float, typer.Option(help="Seconds for the whole plan.")] = 60.0,
    workers: Workers = 2,
    out: Annotated[
        Path | None, typer.Option(help="Folder for schedule.csv/json and Gantt html/png.")
    ] = None,
    gantt: Gantt = True,
    lot_size: LotSize = None,
) -> None:
    """Plan the orders on the plant; print KPIs next to the best dispatching rule's plan."""
    from factoryos.app.planning import plan_orders, write_schedule

    with reported_errors():
        for path in (plant, orders):
            if not path.is_file():
                raise typer.BadParameter(f"{path} is not a file")
        with console.status(f"planning {orders.name} ({time_limit:g} s, {workers} workers)"):
            outcome = plan_orders(
                plant,
                orders,
                objective=objective,
                time_limit_s=time_limit,
                num_workers=workers,
                lot_size=lot_size,
            )
        plan = outcome.schedule
        n_ops = outcome.plant_problem.problem.num_operations
        table = Table(
            title=(
                f"{len(outcome.plant_problem.orders)} orders, {n_ops} operations: "
                f"{plan.objective_name}"
            )
        )
        table.add_column("KPI")
        table.add_column("factoryos", justify="right")
        table.add_column(f"best rule ({outcome.rule})", justify="right")
        table.add_row("objective", f"{plan.objective:g}", f"{outcome.rule_schedule.objective:g}")
        if outcome.stage_values:
            table.add_row(
                "lexicographic values",
                " / ".join(f"{v:g}" for v in outcome.stage_values),
                " / ".join(f"{v:g}" for v in outcome.rule_stage_values),
            )
        for key, label, fmt in KPI_ROWS:
            table.add_row(label, fmt.format(outcome.kpis[key]), fmt.format(outcome.rule_kpis[key]))
        table.add_row("status", plan.status, "")
        table.add_row("wall time (s)", f"{plan.wall_time_s:.1f}", "")
        console.print(table)
        used = ", ".join(f"{phase} {s:.1f} s" for phase, s in outcome.timings)
        console.print(f"time used ({time_limit:g} s limit): {used}")
        console.print(f"rules: {outcome.rules_run}")
        if outcome.solver_note:
            console.print(f"solver: {outcome.solver_note}")
        for what in outcome.plant_problem.allowances:
            console.print(f"planned for losses: {what}")
        for what in outcome.plant_problem.ignored:
            console.print(f"not in the plan: {what}")
        for what in outcome.buffers:
            console.print(what)
        if out is not None:
            t0 = time.perf_counter()
            for p in write_schedule(plan, out, load_plant(plant), gantt=gantt):
                console.print(f"wrote {p}")
            console.print(f"writing the outputs: {time.perf_counter() - t0:.1f} s")


def _instant(text: str, option: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not an ISO date-time", param_hint=option) from exc
    if value.tzinfo is None:
        raise typer.BadParameter(f"{text!r} needs a time zone (e.g. +08:00)", param_hint=option)
    return value


def _down(text: str) -> tuple[str, int, dt.datetime, dt.datetime]:
    """``arm_station/3@2026-03-09T08:00+08:00..2026-03-10T08:00+08:00``."""
    try:
        unit_text, span = text.split("@", 1)
        t1, t2 = span.split("..", 1)
        equipment, _, unit = unit_text.partition("/")
    except ValueError as exc:
        raise typer.BadParameter(
            f"{text!r}: expected EQUIPMENT[/UNIT]@START..END", param_hint="--down"
        ) from exc
    if unit and not unit.isdigit():
        raise typer.BadParameter(f"{text!r}: unit {unit!r} is not a number", param_hint="--down")
    start, end = _instant(t1, "--down"), _instant(t2, "--down")
    if end <= start:
        raise typer.BadParameter(
            f"{text!r}: the window ends ({t2}) before it starts ({t1})", param_hint="--down"
        )
    return equipment, int(unit or 1), start, end


def _scrap(text: str) -> tuple[str, str]:
    """``SO-0004:castings_sr20.painting``: the order and the step as in the plan's CSV."""
    order_id, sep, step = text.partition(":")
    if not (sep and order_id.strip() and step.strip()):
        raise typer.BadParameter(f"{text!r}: expected ORDER:STEP", param_hint="--scrap")
    return order_id.strip(), step.strip()


def repair(
    plant: Annotated[Path, typer.Argument(help="Plant model YAML.")],
    orders: Annotated[Path, typer.Argument(help="The orders the plan was made for (CSV).")],
    plan: Annotated[Path, typer.Argument(help="schedule.json written by 'factoryos schedule'.")],
    now: Annotated[str, typer.Option(help="Current time, ISO with zone: earlier starts stay.")],
    down: Annotated[
        list[str] | None,
        # Rich reads "[/UNIT]" as a closing markup tag: escape the bracket.
        typer.Option(help="EQUIPMENT\\[/UNIT]@START..END downtime; repeat for more."),
    ] = None,
    rush: Annotated[Path | None, typer.Option(help="CSV of orders to add (rush orders).")] = None,
    scrap: Annotated[
        list[str] | None,
        typer.Option(
            help="ORDER:STEP running or done at --now whose output is scrapped: the step (and "
            "what it already fed) is remade in the same order; repeat for more."
        ),
    ] = None,
    objective: Annotated[str, typer.Option(help="As for 'schedule'.")] = "weighted_tardiness",
    time_limit: Annotated[float, typer.Option(help="Seconds for the repair.")] = 5.0,
    workers: Workers = 2,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for repaired.csv/json, Gantt html/png and moves.csv (what moved, why)."
        ),
    ] = None,
    gantt: Gantt = True,
    lot_size: LotSize = None,
) -> None:
    """Repair a plan after downtime, rush orders or scrap: objective + operation-hours moved."""
    from factoryos.app.repairing import repair_plan, write_repair

    with reported_errors():
        outcome = repair_plan(
            plant,
            orders,
            plan,
            now=_instant(now, "--now"),
            down=[_down(d) for d in down or []],
            rush_path=rush,
            scrap=[_scrap(x) for x in scrap or []],
            objective=objective,
            time_limit_s=time_limit,
            num_workers=workers,
            lot_size=lot_size,
        )
        s = outcome.schedule
        table = Table(title=f"repaired plan: {s.objective_name}")
        table.add_column("")
        table.add_column("value", justify="right")
        table.add_row("objective (repair)", f"{s.objective:g}")
        table.add_row("objective (right-shift only)", f"{outcome.right_shift_objective:g}")
        table.add_row("deviation (h of start shifts)", f"{outcome.deviation_h:.1f}")
        table.add_row("frozen operations", str(outcome.frozen_operations))
        for key, label, fmt in KPI_ROWS:
            table.add_row(label, fmt.format(s.kpis[key]))
        table.add_row("status", s.status)
        table.add_row("wall time (s)", f"{s.wall_time_s:.2f} of {time_limit:g}")
        table.add_row("stopped", outcome.stopped)
        table.add_row("moved or new operations", str(len(outcome.moves)))
        console.print(table)
        if out is not None:
            for p in write_repair(outcome, out, load_plant(plant), gantt=gantt):
                console.print(f"wrote {p}")
