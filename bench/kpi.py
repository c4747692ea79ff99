"""KPI engine benchmark: site KPIs by day over 10 M state events vs a bare DuckDB sum.

Generates a year of state changes for 500 work units (two shifts, breaks, weekly maintenance on
some pools, a three-band tariff), stores them in the embedded DuckDB store, then times in one run:

  (a) ``factoryos`` KPIs of the whole site by day (calendar tiling, the store's aggregates with
      downtime reasons, counts, energy and failures, and the KPI maths): what ``factoryos kpi
      --by day`` does;
  (b) a bare DuckDB query over the same state table: interval durations with LEAD, summed by day.

and prints both and the ratio a/b (goal: <= 3). Best of ``--repeat`` runs each, interleaved.

    .venv/bin/python bench/kpi.py                         # 10 M events, 500 units
    .venv/bin/python bench/kpi.py --events 1000000        # a quick look
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated, Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from factoryos.app.kpis import kpi_report
from factoryos.kpi.report import GroupBy
from factoryos.model import MachineState, Plant, validate_plant
from factoryos.store.arrow import EVENT_SCHEMA
from factoryos.store.duckdb_store import DuckDBStore

console = Console()
RESULTS = Path(__file__).parent / "results"
YEAR_START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
YEAR_END = dt.datetime(2027, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
STATES = [s.value for s in MachineState]
STATE_WEIGHTS = [0.55, 0.08, 0.06, 0.03, 0.12, 0.06, 0.04, 0.04, 0.02]
REASONS = ["spindle", "tool_change", "jam", "sensor", "no_material"]


def bench_plant(units: int) -> Plant:
    """A plant of ``units`` work units: lines of two pools of ten units each."""
    pools = max(1, units // 10)
    lines = []
    for n in range(0, pools, 2):
        equipment = [
            {
                "id": f"cell_{m:03d}",
                "kind": "industrial_robot",
                "units": 10,
                "skills": ["work"],
                "operators": 0.5,
                "hourly_cost_cny": 30,
                "power": {"producing": 12, "idle": 2},
            }
            for m in range(n, min(n + 2, pools))
        ]
        lines.append({"id": f"line_{n // 2:03d}", "equipment": equipment})
    data: dict[str, Any] = {
        "enterprise": {"id": "bench"},
        "site": {"id": "site", "timezone": "Asia/Shanghai"},
        "skills": ["work"],
        "calendars": {
            "two_shift": {
                "shifts": [
                    {
                        "name": "early",
                        "start": "08:00",
                        "end": "16:00",
                        "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
                        "breaks": [{"start": "12:00", "end": "12:30"}],
                    },
                    {
                        "name": "late",
                        "start": "16:00",
                        "end": "00:00",
                        "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
                        "breaks": [{"start": "20:00", "end": "20:30"}],
                    },
                ],
                "holidays": ["2026-01-01", "2026-10-01", "2026-10-02"],
            }
        },
        "default_calendar": "two_shift",
        "tariff": {
            "name": "tou",
            "bands": [
                {"name": "peak", "price_cny_per_kwh": 1.2, "hours": ["08:00-11:00", "18:00-21:00"]},
                {
                    "name": "flat",
                    "price_cny_per_kwh": 0.7,
                    "hours": ["06:00-08:00", "11:00-18:00", "21:00-22:00"],
                },
                {
                    "name": "valley",
                    "price_cny_per_kwh": 0.3,
                    "hours": ["22:00-24:00", "00:00-06:00"],
                },
            ],
        },
        "cost_rates": {"labour_cny_per_h": 80},
        "workforce": {"headcount": units},
        "areas": [{"id": "shop", "lines": lines}],
        "maintenance": [
            {
                "equipment": [f"cell_{m:03d}" for m in range(0, pools, 5)],
                "weekly": {"day": "sun", "start": "09:00", "duration": "4 h"},
            }
        ],
        "products": [
            {
                "id": "part",
                "family": "parts",
                "value_added_cny": 100,
                "routing": [{"id": "op", "skill": "work", "run_time": "5 min"}],
            }
        ],
    }
    return validate_plant(data, "bench")


def state_events(plant: Plant, events: int, seed: int) -> pa.Table:
    """``events`` state changes spread over the year, about evenly over the work units."""
    rng = np.random.default_rng(seed)
    paths = [u.path for u in plant.work_units]
    per_unit = events // len(paths)
    start_us = int(YEAR_START.timestamp() * 1e6)
    span_us = int((YEAR_END - YEAR_START).total_seconds() * 1e6)
    offsets = np.sort(rng.integers(0, span_us, size=(len(paths), per_unit)), axis=1).ravel()
    n = offsets.size
    unit_index = np.repeat(np.arange(len(paths)), per_unit)
    state_index = rng.choice(len(STATES), size=n, p=STATE_WEIGHTS)
    ids = pc.binary_join_element_wise("s", pa.array(np.arange(n)).cast(pa.string()), "")
    reason = pa.array(np.array(REASONS, dtype=object)[rng.integers(0, len(REASONS), size=n)])
    is_fault = pa.array(np.isin(state_index, [STATES.index("fault"), STATES.index("minor_stop")]))
    columns = {
        "event_id": ids,
        "ts": pa.array(start_us + offsets, type=pa.timestamp("us", tz="UTC")),
        "kind": pa.array(np.full(n, "state", dtype=object), type=pa.string()),
        "path": pa.DictionaryArray.from_arrays(pa.array(unit_index), pa.array(paths)).cast(
            pa.string()
        ),
        "state": pa.DictionaryArray.from_arrays(pa.array(state_index), pa.array(STATES)).cast(
            pa.string()
        ),
        "reason": pc.if_else(is_fault, reason, pa.scalar(None, pa.string())),
    }
    arrays = [columns.get(f.name, pa.nulls(n, f.type)) for f in EVENT_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)


def prepare(db: Path, plant: Plant, events: int, seed: int) -> None:
    if db.exists():
        with DuckDBStore(db) as store:
            if store.count() == events // len(plant.work_units) * len(plant.work_units):
                console.print(f"reusing {db} ({store.count():,} events)")
                return
        db.unlink()
    table = state_events(plant, events, seed)
    batch = 1_000_000
    with DuckDBStore(db) as store, Progress(console=console) as progress:
        task = progress.add_task("storing state events", total=table.num_rows)
        for offset in range(0, table.num_rows, batch):
            store.append(table.slice(offset, batch))
            progress.advance(task, min(batch, table.num_rows - offset))


BARE_SQL = """
SELECT day, sum(duration_s) FROM (
    SELECT date_trunc('day', ts) AS day,
           epoch(lead(ts) OVER (PARTITION BY path ORDER BY ts)) - epoch(ts) AS duration_s
    FROM state_events
) GROUP BY day
"""


def time_bare(db: Path) -> float:
    con = duckdb.connect(str(db), read_only=True)
    try:
        t0 = time.perf_counter()
        rows = con.sql(BARE_SQL).to_arrow_table()
        elapsed = time.perf_counter() - t0
    finally:
        con.close()
    assert rows.num_rows >= 365
    return elapsed


def time_factoryos(db: Path, plant: Plant) -> tuple[float, float | None]:
    with DuckDBStore(db) as store:
        t0 = time.perf_counter()
        report = kpi_report(store, plant, start=YEAR_START, end=YEAR_END, by=GroupBy.DAY)
        elapsed = time.perf_counter() - t0
    assert len(report.groups) >= 300
    return elapsed, report.total.kpis["availability"]


def main(
    events: Annotated[int, typer.Option(help="State events to generate.")] = 10_000_000,
    units: Annotated[int, typer.Option(help="Work units.")] = 500,
    repeat: Annotated[int, typer.Option(help="Timed runs of each; the best counts.")] = 3,
    seed: int = 7,
) -> None:
    RESULTS.mkdir(exist_ok=True)
    plant = bench_plant(units)
    db = RESULTS / f"kpi_{events}_{units}_{seed}.duckdb"
    prepare(db, plant, events, seed)
    bare, ours, availability = [], [], None
    for _ in range(repeat):
        bare.append(time_bare(db))
        elapsed, availability = time_factoryos(db, plant)
        ours.append(elapsed)
    a, b = min(ours), min(bare)
    table = Table(title=f"Site KPIs by day, {events:,} state events, {units} work units, one year")
    table.add_column("what")
    table.add_column(f"best of {repeat} (s)", justify="right")
    table.add_column("all runs (s)", justify="right")
    table.add_row("(a) factoryos kpi --by day", f"{a:.3f}", " ".join(f"{x:.2f}" for x in ours))
    table.add_row(
        "(b) bare DuckDB LEAD + sum by day", f"{b:.3f}", " ".join(f"{x:.2f}" for x in bare)
    )
    console.print(table)
    verdict = "[green]meets[/]" if a / b <= 3 else "[red]misses[/]"
    console.print(
        f"ratio a/b = [bold]{a / b:.2f}[/] ({verdict} the goal <= 3); "
        f"site availability {availability:.3f}"
    )


if __name__ == "__main__":
    typer.run(main)
