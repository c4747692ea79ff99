"""Planning use cases: solve benchmark instances (with the baseline as peer) and plant plans.

Composes ``factoryos.schedule`` with file locations; the CLI and ``bench/schedule.py`` call this.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from factoryos.schedule import (
    LnsConfig,
    Problem,
    SolveResult,
    SolverParams,
    check,
    load_instance,
    solve,
    solve_baseline,
)

__all__ = [
    "BENCHMARKS_ENV",
    "BenchRow",
    "KnownBounds",
    "SolverName",
    "benchmark_instance",
    "default_benchmarks_dir",
    "find_known_bounds",
    "resolve_instances",
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
            for row in csv.DictReader(fh):
                if row.get("file"):
                    hit = (folder / row["file"]).resolve() == target
                else:
                    hit = row.get("instance", "").lower() == name
                if hit:
                    return KnownBounds(int(row["lower_bound"]), int(row["upper_bound"]))
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
