"""Programme benchmark: the generate sweep's time per factory on 1 and 2 workers, and the
programme view's refresh over 1,000 factories with a year of daily KPIs each.

  (a) sweep: ``--sweep`` factories of the generated city (twin baseline + current period of
      ``--days`` days each, daily figures, assessment), once on 1 worker process and once on 2;
      prints seconds per factory and the 2-worker speed-up (goal: throughput scales with cores);
  (b) refresh: a registry of ``--factories`` factories, each with ``--year-days`` baseline and
      ``--year-days`` current days of daily figures, then ``program_view`` (levels, gains with a
      2,000-resample bootstrap each, density, rankings, shortlist); prints the time against the
      issue's goal of 60 s (ratio goal / measured);
  (c) served: the same registry as the API serves it (``ProgramRegistry``, read only) with the
      five JSON answers of the programme routes: what the first request after a change costs;
  (d) with ``--registry FILE``: (c) on that registry too (e.g. a generated 1,000-factory city).

The sweep also prints CPU seconds per factory (this process and its workers): on a shared machine
the wall time mostly says how busy the other processes kept the cores.

The refresh's factories are the city's specs; their daily figures are the swept factories' twin
days resampled to a year (one twin-run template factory per industry), because running the twin
for a year for 1,000 factories is the sweep's cost, measured in (a), not the refresh's.

    .venv/bin/python bench/program.py                       # 1,000 factories, sweep of 8
    .venv/bin/python bench/program.py --factories 100 --sweep 4 --days 7   # a quick look
    .venv/bin/python bench/program.py --registry city.duckdb   # + the generated city served
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import pyarrow as pa
import typer
from rich.console import Console
from rich.table import Table

from factoryos.app.program import factory_tables, open_registry, program_view
from factoryos.app.program_generate import FactoryOutcome, sweep
from factoryos.app.program_serving import (
    Filters,
    ProgramRegistry,
    density_view_json,
    factories_json,
    rankings_json,
    shortlist_json,
    targets_json,
)
from factoryos.assess.city import city
from factoryos.assess.gains import DayFigures

console = Console()
GOAL_S = 60.0


def _cpu_s() -> float:
    """CPU seconds of this process and of its waited-for children (the sweep's workers)."""
    usage = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return sum(u.ru_utime + u.ru_stime for u in usage)


def time_sweep(specs: list, days: float, workers: int) -> tuple[float, float, list[FactoryOutcome]]:
    """Wall and CPU seconds of the sweep (CPU: on a shared machine, what the work costs)."""
    start, cpu = time.perf_counter(), _cpu_s()
    outcomes = list(sweep(specs, days, workers=workers))
    return time.perf_counter() - start, _cpu_s() - cpu, outcomes


def year_of(
    days: list[DayFigures], n: int, rng: np.random.Generator, first: dt.date
) -> list[DayFigures]:
    """``n`` days drawn from ``days`` with +-10 % noise, dated from ``first``."""
    picks = rng.integers(0, len(days), n)
    noise = rng.uniform(0.9, 1.1, n)
    out = []
    for i, (k, f) in enumerate(zip(picks, noise, strict=True)):
        d = days[k]
        out.append(
            dataclasses.replace(
                d,
                day=first + dt.timedelta(days=i),
                value_added_cny=d.value_added_cny * f,
                good_units=d.good_units * f,
                energy_kwh=d.energy_kwh * (2 - f),
            )
        )
    return out


def build_registry(
    path: Path, outcomes: list[FactoryOutcome], factories: int, year_days: int
) -> float:
    """Fill a registry like ``program generate`` would, from the swept templates; seconds taken."""
    start = time.perf_counter()
    by_industry = {o.spec.industry: o for o in outcomes}
    rng = np.random.default_rng(0)
    registry = open_registry(path)
    batch: list[dict[str, pa.Table]] = []
    for spec in city(factories, seed=1):
        template = by_industry.get(spec.industry) or outcomes[0]
        days = {
            "baseline": year_of(template.days["baseline"], year_days, rng, dt.date(2023, 1, 2)),
            "current": year_of(template.days["current"], year_days, rng, dt.date(2025, 1, 6)),
        }
        info = {
            "factory_id": f"f{spec.index:04d}/main",
            "name": spec.name,
            "district": spec.district,
            "industry": spec.industry,
            "certification_year": spec.certification_year,
            "public_key": None,
            "source": "bench",
        }
        batch.append(factory_tables(info, template.assessment, template.density, days))
        if len(batch) == 100:
            registry.put({k: pa.concat_tables([b[k] for b in batch]) for k in batch[0]})
            batch.clear()
    if batch:
        registry.put({k: pa.concat_tables([b[k] for b in batch]) for k in batch[0]})
    registry.close()
    return time.perf_counter() - start


def main(
    factories: Annotated[int, typer.Option(help="Factories in the refreshed registry.")] = 1000,
    year_days: Annotated[int, typer.Option(help="Days per period and factory.")] = 365,
    sweep_n: Annotated[int, typer.Option("--sweep", help="Factories per sweep timing.")] = 8,
    days: Annotated[float, typer.Option(help="Twin days per period in the sweep.")] = 14,
    registry_file: Annotated[
        Path | None,
        typer.Option("--registry", help="Also time the served view of this registry (a city)."),
    ] = None,
) -> None:
    specs = city(max(sweep_n, 4) * 10, seed=1)
    # one factory of each industry first (each is a template of the refresh), then the next ones
    firsts = list({s.industry: s for s in reversed(specs)}.values())
    picked = (firsts + [s for s in specs if s not in firsts])[: max(sweep_n, len(firsts))]
    t1, cpu1, outcomes = time_sweep(picked, days, 1)
    t2, cpu2, _ = time_sweep(picked, days, 2)
    table = Table(
        title=f"(a) generate sweep: {len(picked)} factories, {days:g} twin days x 2 periods"
    )
    for col in ("workers", "seconds", "s / factory", "factories / min", "CPU s / factory"):
        table.add_column(col, justify="right")
    for workers, t, cpu in ((1, t1, cpu1), (2, t2, cpu2)):
        n = len(picked)
        table.add_row(
            str(workers), f"{t:.1f}", f"{t / n:.2f}", f"{n / t * 60:.1f}", f"{cpu / n:.2f}"
        )
    console.print(table)
    console.print(
        f"2-worker speed-up: {t1 / t2:.2f}x (ideal 2.00x on 2 cores); machine load "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "programme.duckdb"
        load_s = build_registry(path, outcomes, factories, year_days)
        registry = open_registry(path)
        start = time.perf_counter()
        view = program_view(registry, 2025)
        refresh_s = time.perf_counter() - start
        rows = registry.table("days").num_rows
        registry.close()
        console.print(
            f"(b) refresh: {len(view.records)} factories, {rows:,} daily rows "
            f"(registry filled in {load_s:.1f} s): {refresh_s:.1f} s; goal {GOAL_S:.0f} s, "
            f"ratio goal/measured {GOAL_S / refresh_s:.1f}x; shortlist {len(view.shortlist)}, "
            f"{len(view.by_district)} districts, {len(view.by_industry)} industries"
        )
        time_served(path, "(c) served view of (b)")
    if registry_file is not None:
        time_served(registry_file, f"(d) served view of {registry_file}")


def time_served(path: Path, title: str) -> None:
    """What the API's first request after a registry change costs: the view (read only) and
    every JSON answer of the programme routes."""
    start = time.perf_counter()
    served = ProgramRegistry(path)
    view = served.view(2025)
    view_s = time.perf_counter() - start
    answers = [
        factories_json(view, Filters()),
        targets_json(view),
        rankings_json(view),
        shortlist_json(view),
        density_view_json(view),
    ]
    total_s = time.perf_counter() - start
    size = sum(len(json.dumps(a, default=str)) for a in answers)
    console.print(
        f"{title}: {len(view.records)} factories: view {view_s:.1f} s, with the five JSON answers "
        f"({size / 1e6:.1f} MB) {total_s:.1f} s; goal {GOAL_S:.0f} s, ratio {GOAL_S / total_s:.1f}x"
    )


if __name__ == "__main__":
    typer.run(main)
