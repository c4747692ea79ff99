"""Scheduling benchmark: factoryos vs the plain CP-SAT model of OR-Tools' examples, same run.

For each instance both solvers get the same time limit and worker count (run one after the other,
so they see the same machine). Prints makespan and gap to the best known upper bound for both and
the means, and writes a CSV under ``bench/results/``. Every schedule is checked by the validator.

    .venv/bin/python bench/schedule.py                                  # the full set, 60 s each
    .venv/bin/python bench/schedule.py --set la --time-limit 10         # a quicker look
    .venv/bin/python bench/schedule.py la29 mk06 --time-limit 20        # chosen instances
    .venv/bin/python bench/schedule.py --benchmarks /path/to/benchmarks # another copy of the files

Instance files are looked up under ``$FACTORYOS_BENCHMARKS`` or ``../shared/reference/benchmarks``.
"""

from __future__ import annotations

import csv
import datetime as dt
import statistics
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from factoryos.app.planning import (
    BenchRow,
    benchmark_instance,
    default_benchmarks_dir,
    resolve_instances,
)

console = Console()
RESULTS = Path(__file__).parent / "results"

SETS: dict[str, list[str]] = {
    "ft": ["ft10"],
    "la": [f"la{i:02d}" for i in range(1, 41)],
    "ta": [f"ta{i:02d}" for i in range(1, 11)],
    "mk": [f"mk{i:02d}" for i in range(1, 11)],
}
SETS["all"] = SETS["ft"] + SETS["la"] + SETS["ta"] + SETS["mk"]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.2%}"


def main(
    instances: Annotated[
        list[str] | None, typer.Argument(help="Instance names or files (default: --set).")
    ] = None,
    set_: Annotated[
        str, typer.Option("--set", help=f"Named set when no instances are given: {list(SETS)}.")
    ] = "all",
    time_limit: Annotated[float, typer.Option(help="Seconds per instance and solver.")] = 60.0,
    workers: Annotated[int, typer.Option(help="CP-SAT workers for both solvers.")] = 2,
    seed: Annotated[int, typer.Option(help="Random seed for both solvers.")] = 0,
    benchmarks: Annotated[
        Path | None, typer.Option(help="Benchmark folder (default: $FACTORYOS_BENCHMARKS).")
    ] = None,
) -> None:
    root = benchmarks or default_benchmarks_dir()
    if not root.is_dir():
        raise typer.BadParameter(f"benchmark folder {root} not found", param_hint="--benchmarks")
    names = instances or SETS[set_]
    paths = resolve_instances(names, root)
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"schedule_{stamp}_{time_limit:g}s_{workers}w.csv"
    table = Table(title=f"Scheduling: {time_limit:g} s and {workers} worker(s) per instance")
    for col in ("instance", "size", "best known"):
        table.add_column(col, justify="left" if col == "instance" else "right")
    for col in ("factoryos", "gap", "baseline", "gap "):
        table.add_column(col, justify="right")
    gaps: dict[str, list[float]] = {"factoryos": [], "baseline": []}
    family_gaps: dict[tuple[str, str], list[float]] = {}
    t0 = time.perf_counter()
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "instance",
                "jobs",
                "machines",
                "solver",
                "makespan",
                "bound",
                "status",
                "wall_time_s",
                "best_known_lb",
                "best_known_ub",
                "gap_to_best_known",
                "time_limit_s",
                "workers",
            ]
        )
        for i, path in enumerate(paths, 1):
            rows: dict[str, BenchRow] = {}
            with console.status(f"[{i}/{len(paths)}] {path.stem}"):
                for row in benchmark_instance(
                    path, time_limit_s=time_limit, num_workers=workers, seed=seed
                ):
                    rows[row.solver] = row
                    gap = row.gap_to_best_known
                    if gap is not None:
                        gaps[row.solver].append(gap)
                        family = row.instance.rstrip("0123456789")
                        family_gaps.setdefault((family, row.solver), []).append(gap)
                    writer.writerow(
                        [
                            row.instance,
                            row.jobs,
                            row.machines,
                            row.solver,
                            row.makespan,
                            row.bound,
                            row.status,
                            f"{row.wall_time_s:.2f}",
                            row.known.lower if row.known else "",
                            row.known.upper if row.known else "",
                            "" if gap is None else f"{gap:.5f}",
                            time_limit,
                            workers,
                        ]
                    )
                    fh.flush()
            f, b = rows["factoryos"], rows["baseline"]
            table.add_row(
                f.instance,
                f"{f.jobs}x{f.machines}",
                "-" if f.known is None else str(f.known.upper),
                f"{f.makespan}{'*' if f.status == 'optimal' else ''}",
                _pct(f.gap_to_best_known),
                f"{b.makespan}{'*' if b.status == 'optimal' else ''}",
                _pct(b.gap_to_best_known),
            )
            console.print(
                f"{f.instance}: factoryos {f.makespan} ({_pct(f.gap_to_best_known)}), "
                f"baseline {b.makespan} ({_pct(b.gap_to_best_known)})"
            )
    table.add_section()
    for family in sorted({f for f, _ in family_gaps}):
        ours, peer = (
            family_gaps.get((family, "factoryos"), []),
            family_gaps.get((family, "baseline"), []),
        )
        table.add_row(
            f"mean {family}*",
            f"{len(ours)}",
            "",
            "",
            _pct(statistics.fmean(ours) if ours else None),
            "",
            _pct(statistics.fmean(peer) if peer else None),
        )
    table.add_row(
        "mean",
        "",
        "",
        "",
        _pct(statistics.fmean(gaps["factoryos"]) if gaps["factoryos"] else None),
        "",
        _pct(statistics.fmean(gaps["baseline"]) if gaps["baseline"] else None),
    )
    console.print(table)
    console.print(
        f"* = proven optimal. {len(paths)} instance(s) in {time.perf_counter() - t0:.0f} s; "
        f"results in {out}"
    )


if __name__ == "__main__":
    typer.run(main)
