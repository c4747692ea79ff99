"""``factoryos bench-schedule``: solve JSSP / FJSP instance files and compare to known bounds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from factoryos.app.planning import BenchRow, SolverName, benchmark_instance
from factoryos.cli.errors import reported_errors

console = Console()


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.2%}"


def bench_schedule(
    files: Annotated[list[Path], typer.Argument(help="Instance files (.txt JSSP, .fjs FJSP).")],
    time_limit: Annotated[float, typer.Option(help="Seconds per instance and solver.")] = 60.0,
    workers: Annotated[int, typer.Option(help="CP-SAT worker threads.")] = 2,
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
