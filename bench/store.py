"""Event store benchmark: PostgreSQL (server mode) against a bare COPY and the DuckDB backend.

In one run, on the same generated state/count/energy events of ``--units`` work units (25 lines)
over the year 2026, appended in time order in batches of ``--batch``:

  (a) append throughput: ``PostgresStore`` (ids once, partitions, roll-ups) vs a bare ``COPY`` of
      the same rows into an unindexed table (the physical limit proxy), both as binary COPY
      built from Arrow (the store's own client path, ``pgcopy``) and as CSV written by Arrow, vs
      ``DuckDBStore``; goals: PostgreSQL within 2x of the bare COPY and >= 100,000 events/s;
  (b) KPI inputs of one line over one month by day (the four aggregate queries ``kpi_report``
      makes), on ``--queries`` random (line, month) pairs: p50 and p99 on PostgreSQL with
      roll-ups, on PostgreSQL from raw events only, on DuckDB; goal p99 < 50 ms with roll-ups;
  (c) the site's KPI inputs by day for the whole year: PostgreSQL vs DuckDB (ratio).

After the appends the store's days are packed (``factoryos db compact``, timed on its own), so
(b) and (c) read day packs on PostgreSQL wherever they read raw events.

The calendar is the reference robot plant's (two shifts with breaks, Shanghai time-of-use bands),
so a weekday has 7 hours cut by a tile boundary that roll-ups cannot serve whole.

    .venv/bin/python bench/store.py                      # 10 M events (long: minutes)
    .venv/bin/python bench/store.py --events 1000000     # 1 M events
    .venv/bin/python bench/store.py --events 100000 --queries 20   # a quick look
    .venv/bin/python bench/store.py --server plant       # on config/postgresql-plant.conf

``--server plant`` runs it all on a throwaway cluster of its own started with the plant's
settings (``bench/pgcluster.py``; as root, the server runs as the ``postgres`` OS user), instead
of the ``--url`` server (``--plant-conf`` a variant of the file, to weigh one line); either way
the settings that matter are printed first. ``--ids`` picks
the ids' layout: the registry's btree takes ``bench`` ids (``b<n>``: a batch lands in one key
range) and ``time-first`` ones (the instant first, UUIDv7's layout) at its right edge, ``random``
ones (hashes, as the live ingesters make them) on leaves all over it.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import typer
from psycopg import sql
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from factoryos.kpi.periods import calendar_key_of_path, planned_periods
from factoryos.model.aggregates import AggregateQuery
from factoryos.model.loader import load_plant
from factoryos.store.arrow import EVENT_SCHEMA
from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.pgcopy import binary_copy
from factoryos.store.postgres_batch import STAGING_TYPES, bare_rows, staging_columns
from factoryos.store.postgres_store import PostgresStore
from pgcluster import conf_settings, throwaway_cluster

ROOT = Path(__file__).resolve().parents[1]
PLANT_CONF = ROOT / "config" / "postgresql-plant.conf"
ID_STYLES = ("bench", "random", "time-first")
YEAR0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
YEAR1 = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
LINES = 25
STATES = np.array(["producing", "idle", "fault", "setup", "producing", "blocked", "starved"])
console = Console()


def unit_path(n: int, units: int) -> str:
    per_line = max(units // LINES, 1)
    return f"bench/site/area/line{n // per_line:02d}/cell/{n % per_line:02d}"


def generate(events: int, units: int, seed: int) -> pa.Table:
    """``events`` canonical events, 60 % states, 20 % counts, 20 % energy, sorted by time."""
    rng = np.random.default_rng(seed)
    span = int((YEAR1 - YEAR0).total_seconds())
    ts = np.sort(rng.integers(0, span, events)) * 1_000_000 + int(YEAR0.timestamp() * 1_000_000)
    unit = rng.integers(0, units, events)
    paths = np.array([unit_path(n, units) for n in range(units)], dtype=object)[unit]
    draw = rng.random(events)
    kind = np.where(draw < 0.6, "state", np.where(draw < 0.8, "count", "energy")).astype(object)
    is_state, is_count, is_energy = kind == "state", kind == "count", kind == "energy"
    state = STATES[rng.integers(0, len(STATES), events)].astype(object)
    state[~is_state] = None
    reason = np.where(state == "fault", "jam", None).astype(object)
    product = np.where(is_count, "robot", None).astype(object)
    good = np.where(is_count, rng.integers(0, 4, events), 0)
    scrap = np.where(is_count, (rng.random(events) < 0.05).astype(np.int64), 0)
    kwh = np.where(is_energy, rng.random(events) * 2.0, np.nan)
    ids = np.char.add("b", np.arange(events).astype(str)).astype(object)
    columns: dict[str, Any] = {
        "event_id": ids,
        "ts": pa.array(ts, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        "kind": kind,
        "path": paths,
        "state": state,
        "reason": reason,
        "product": product,
        "good": pa.array(good, mask=~is_count),
        "scrap": pa.array(scrap, mask=~is_count),
        "rework": pa.array(np.zeros(events, np.int64), mask=~is_count),
        "energy_kwh": pa.array(kwh, mask=~is_energy),
    }
    arrays = [
        pa.array(columns[f.name], f.type) if f.name in columns else pa.nulls(events, f.type)
        for f in EVENT_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)


def id_style(table: pa.Table, style: str) -> pa.Table:
    """The events with ids of ``style`` (deterministic: the same event keeps its id)."""
    if style == "bench":
        return table
    number = np.arange(table.num_rows, dtype=np.uint64)
    mixed = (number * np.uint64(0x9E3779B97F4A7C15)) & np.uint64((1 << 64) - 1)
    if style == "random":
        ids = [f"{h:020x}" for h in mixed.tolist()]
    elif style == "time-first":
        us = pc.cast(table["ts"], pa.int64()).to_numpy()
        pairs = zip(us.tolist(), mixed.tolist(), strict=True)
        ids = [f"{t:014x}{h & 0xFFFFFFFFFF:010x}" for t, h in pairs]
    else:
        raise typer.BadParameter(f"ids {style!r}: one of {', '.join(ID_STYLES)}")
    return table.set_column(0, "event_id", pa.array(ids, pa.string()))


@contextmanager
def bench_server(server: str, url: str, conf: Path = PLANT_CONF) -> Iterator[str]:
    """The URL of the server to measure: ``url``, or a throwaway cluster with the plant's
    settings (``conf``) for the block's duration."""
    if server == "url":
        yield url
    elif server == "plant":
        with throwaway_cluster(conf) as cluster:
            console.print(f"throwaway cluster with {conf} at {cluster.url}")
            yield cluster.url
    else:
        raise typer.BadParameter(f"server {server!r}: 'url' or 'plant'")


def print_settings(conn: psycopg.Connection[Any]) -> None:
    """The server's values of the settings the plant file sets, and where each comes from."""
    names = list(conf_settings(PLANT_CONF))
    rows = conn.execute(
        "SELECT name, current_setting(name), source FROM pg_settings WHERE name = ANY(%s) "
        "ORDER BY array_position(%s, name)",
        (names, names),
    ).fetchall()
    console.print(
        "server settings: " + ", ".join(f"{n} = {v}" + ("" if src == "configuration file"
                                                         else f" ({src})")
                                        for n, v, src in rows)
    )  # fmt: skip


Writer = tuple[Callable[[pa.Table], Any], tuple[int, ...]]


def timed_rounds(batches: list[pa.Table], writers: dict[str, Writer]) -> dict[str, float]:
    """Seconds each writer spent, the writers taking each batch in turn; and per writer,
    under ``NAME cpu`` and ``NAME server``, the CPU seconds of this process (DuckDB's threads
    included) and of the PostgreSQL backends that wrote (``/proc``)."""
    took: dict[str, float] = {}
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("appending", total=len(batches))
        for batch in batches:
            for name, (write, pids) in writers.items():
                cpu0, server0 = time.process_time(), sum(server_cpu_s(p) for p in pids)
                began = time.perf_counter()
                write(batch)
                for key, spent in (
                    (name, time.perf_counter() - began),
                    (f"{name} cpu", time.process_time() - cpu0),
                    (f"{name} server", sum(server_cpu_s(p) for p in pids) - server0),
                ):
                    took[key] = took.get(key, 0.0) + spent
            progress.advance(task)
    return took


def bare_copy(conn: psycopg.Connection[Any], batch: pa.Table) -> None:
    """Binary COPY, built from Arrow as the store builds its own, into the unindexed
    ``bare_bin``."""
    with (
        conn.transaction(),
        conn.cursor() as cur,
        cur.copy("COPY bare_bin FROM STDIN (FORMAT binary)") as copy,
    ):
        copy.write(binary_copy(bare_rows(batch)))


def bare_csv(conn: psycopg.Connection[Any], batch: pa.Table) -> None:
    """COPY of Arrow-written CSV into the unindexed ``bare_csv``."""
    out = pa.BufferOutputStream()
    pacsv.write_csv(bare_rows(batch), out, pacsv.WriteOptions(include_header=False))
    with (
        conn.transaction(),
        conn.cursor() as cur,
        cur.copy("COPY bare_csv FROM STDIN (FORMAT csv)") as copy,
    ):
        copy.write(memoryview(out.getvalue()))


def append_figures(events: int, batch: int, took: dict[str, float]) -> list[tuple[str, bool]]:
    """The append table (each writer's seconds and rate, against both bare COPYs); its goals."""
    t_pg, t_refresh, t_bin, t_copy, t_duck = (
        took[k] for k in ("pg", "refresh", "bin", "copy", "duck")
    )
    runs = (
        ("pg", "PostgresStore (state roll-ups marked)", t_pg),
        ("pg+", "PostgresStore + state roll-up refresh after each batch", t_pg + t_refresh),
        ("copy", "bare COPY, Arrow CSV (unindexed)", t_copy),
        ("bin", "bare binary COPY (unindexed)", t_bin),
        ("duck", "DuckDBStore", t_duck),
    )
    rate = {name: events / t for name, _, t in runs}
    append = Table(title=f"append {events:,} events in batches of {batch:,}")
    columns = ("store", "seconds", "events/s", "vs CSV COPY", "vs binary COPY", "client CPU s")
    for column in (*columns, "server CPU s"):
        append.add_column(column, justify="right")
    for name, label, t in runs:
        ratios = (f"{t / t_copy:.2f}x", f"{t / t_bin:.2f}x")
        parts = ("pg", "refresh") if name == "pg+" else (name,)
        cpu = [sum(took[f"{k} {side}"] for k in parts) for side in ("cpu", "server")]
        append.add_row(label, f"{t:.1f}", f"{rate[name]:,.0f}", *ratios, *(f"{c:.1f}" for c in cpu))
    console.print(append)
    spent = {k: took[f"{k} cpu"] + took[f"{k} server"] for k in ("pg", "bin")}
    # Wall ratios hide how many cores each writer kept busy; CPU does not. The bare COPY keeps
    # about one core busy, so an append that needs k times its CPU takes at least k / cores
    # times its wall time, however it spreads its work.
    console.print(
        f"CPU, client + server: PostgresStore {spent['pg']:.1f} s, bare binary COPY "
        f"{spent['bin']:.1f} s: {spent['pg'] / spent['bin']:.2f}x",
        highlight=False,
    )
    console.print(f"load average after the appends: {Path('/proc/loadavg').read_text()}")
    return [
        ("PostgreSQL append within 2x of the bare CSV COPY", t_pg / t_copy <= 2),
        ("PostgreSQL append within 2x of the bare binary COPY", t_pg / t_bin <= 2),
        ("PostgreSQL append >= 100,000 events/s", rate["pg"] >= 100_000),
        ("PostgreSQL append + refresh >= 100,000 events/s", rate["pg+"] >= 100_000),
    ]


def month_queries(units: int, count: int, seed: int) -> list[AggregateQuery]:
    """``count`` random (line, calendar month) queries by day, on the robot plant's calendar."""
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    key = next(iter(calendar_key_of_path(plant).values()))
    keys = {unit_path(n, units): key for n in range(units)}
    rng = random.Random(seed)
    periods_of: dict[int, tuple[Any, ...]] = {}
    queries = []
    for _ in range(count):
        month = rng.randint(1, 12)
        line = rng.randrange(LINES)
        start = dt.datetime(2026, month, 1, tzinfo=dt.UTC)
        end = dt.datetime(2026 + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC)
        if month not in periods_of:
            periods_of[month] = tuple(p for p in planned_periods(plant, start, end) if p.key == key)
        node = f"bench/site/area/line{line:02d}"
        queries.append(AggregateQuery(start, end, node, periods_of[month], keys, ("local_day",)))
    return queries


def site_year_query(units: int) -> AggregateQuery:
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    key = next(iter(calendar_key_of_path(plant).values()))
    keys = {unit_path(n, units): key for n in range(units)}
    periods = tuple(p for p in planned_periods(plant, YEAR0, YEAR1) if p.key == key)
    return AggregateQuery(YEAR0, YEAR1, "bench/site", periods, keys, ("local_day",))


def kpi_inputs(store: Any, query: AggregateQuery) -> tuple[Any, ...]:
    """The four aggregate queries ``kpi_report`` makes for one report."""
    return (
        store.state_time(query, by_reason=True),
        store.count_totals(query),
        store.energy_totals(query),
        store.failure_totals(query),
    )


def server_cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) of the PostgreSQL backend ``pid`` when the server runs on
    this machine (0 for None or an unreadable /proc): on a shared machine wall time is mostly
    waiting for a core, and CPU time is what a change saves."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def latencies(
    pg: PostgresStore, duck: DuckDBStore, queries: list[AggregateQuery]
) -> dict[str, tuple[list[float], float]]:
    """Per way of reading: milliseconds of each query's KPI inputs, and the mean CPU
    milliseconds per query of this process (DuckDB's threads included) and the PostgreSQL
    backend. The ways take each query in turn, so that the machine's load, which swings by
    minutes, and the caches each query warms weigh on all of them alike."""
    ways: dict[str, tuple[Any, bool | str]] = {
        "pg": (pg, "auto"),
        "pg rolled": (pg, True),
        "pg raw": (pg, False),
        "duck": (duck, "auto"),
    }
    wall: dict[str, list[float]] = {name: [] for name in ways}
    cpu = dict.fromkeys(ways, 0.0)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("line-months, each way in turn", total=len(queries))
        for query in queries:
            for name, (store, rollups) in ways.items():
                pid = pg.backend_pid if store is pg else None
                pg.rollups = rollups if store is pg else "auto"
                cpu0, server0 = time.process_time(), server_cpu_s(pid)
                began = time.perf_counter()
                kpi_inputs(store, query)
                wall[name].append((time.perf_counter() - began) * 1000)
                cpu[name] += time.process_time() - cpu0 + server_cpu_s(pid) - server0
            progress.advance(task)
    pg.rollups = "auto"
    return {name: (wall[name], cpu[name] * 1000 / len(queries)) for name in ways}


def compaction(pg: PostgresStore) -> None:
    """Pack every day of the generated year (its events are history: ``today`` is the year's
    end), timed on its own: wall and CPU (this process + the backend). Nothing to do on a kept
    store packed before."""
    t0, cpu0, server0 = time.perf_counter(), time.process_time(), server_cpu_s(pg.backend_pid)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("packing days (factoryos db compact)", total=None)
        done = pg.compact(
            YEAR1.date(), lambda n, total: progress.update(task, completed=n, total=total)
        )
    cpu = time.process_time() - cpu0 + server_cpu_s(pg.backend_pid) - server0
    console.print(
        f"compaction: {done.packs:,} unit-days packed in {time.perf_counter() - t0:.1f} s "
        f"(CPU {cpu:.1f} s), {done.steps} steps"
    )


def p(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]
        if len(values) > 1
        else values[0]
    )


def main(
    events: Annotated[int, typer.Option(help="Events to generate.")] = 10_000_000,
    units: Annotated[int, typer.Option(help="Work units (in 25 lines).")] = 500,
    batch: Annotated[int, typer.Option(help="Events per append.")] = 100_000,
    queries: Annotated[int, typer.Option(help="Random line-month KPI queries.")] = 200,
    url: Annotated[str, typer.Option(help="PostgreSQL server (with --server url).")] = (
        "postgresql://postgres@127.0.0.1:5432/test"
    ),
    server: Annotated[
        str,
        typer.Option(
            help="'url': the --url server; 'plant': a throwaway cluster of its own started "
            "with config/postgresql-plant.conf, removed at exit."
        ),
    ] = "url",
    plant_conf: Annotated[
        Path, typer.Option(help="The settings of --server plant (a variant, to weigh one line).")
    ] = PLANT_CONF,
    ids: Annotated[str, typer.Option(help=f"The ids' layout: {', '.join(ID_STYLES)}.")] = "bench",
    connections: Annotated[
        int, typer.Option(help="PostgresStore's connections: a batch in that many parts at once.")
    ] = 1,
    seed: int = 1,
    reads_only: Annotated[
        bool, typer.Option(help="Skip the bare COPYs and the append figures: query figures only.")
    ] = False,
    keep: Annotated[
        str | None,
        typer.Option(
            help="Keep the stores for the next run: PostgreSQL schema NAME and DuckDB file "
            "/tmp/NAME.duckdb; a next run with the same NAME and events skips the appends "
            "(query figures only). Drop them with DROP SCHEMA and rm when done."
        ),
    ] = None,
) -> None:
    """Append throughput and KPI query latency: PostgresStore vs bare COPY vs DuckDBStore."""
    began = time.perf_counter()
    table = id_style(generate(events, units, seed), ids)
    console.print(
        f"generated {events:,} events of {units} units over 2026, {ids} ids, "
        f"in {time.perf_counter() - began:.1f} s"
    )
    with bench_server(server, url, plant_conf) as server_url:
        run(table, server_url, events, units, batch, queries, seed, reads_only, keep, connections)


def run(
    table: pa.Table,
    url: str,
    events: int,
    units: int,
    batch: int,
    queries: int,
    seed: int,
    reads_only: bool,
    keep: str | None,
    connections: int,
) -> None:
    batches = [table.slice(lo, batch) for lo in range(0, events, batch)]
    schema = keep or f"bench_store_{uuid.uuid4().hex[:8]}"
    scoped = f"{url}{'&' if '?' in url else '?'}schema={schema}"
    admin = psycopg.connect(url, autocommit=True)
    print_settings(admin)
    try:
        # a kept schema of an older factoryos is upgraded (its roll-ups back-filled)
        with (
            PostgresStore(scoped, upgrade=keep is not None, connections=connections) as pg,
            tempfile.TemporaryDirectory() as tmp,
        ):
            kept = keep is not None and pg.count() == events
            reads_only = reads_only or kept
            admin.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            for bare in () if reads_only else ("bare_bin", "bare_csv"):
                admin.execute(
                    sql.SQL("CREATE TABLE {} ({})").format(
                        sql.Identifier(bare),
                        sql.SQL(", ").join(
                            sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(STAGING_TYPES[k]))
                            for n, k in staging_columns()
                        ),
                    )
                )
            duck = DuckDBStore(Path("/tmp" if keep else tmp) / f"{keep or 'bench'}.duckdb")
            # Batch by batch, each writer in turn (the refresh of the state roll-ups a batch
            # marked right after it, as a reader would): the machine's load, which swings by
            # minutes, then weighs on every writer alike and the ratios stay fair.
            writers: dict[str, Writer] = {
                # an append on several connections: each part's backend
                "pg": (pg.append, (pg.backend_pid, *(o.backend_pid for o in pg._others))),
                "refresh": (lambda _: pg.refresh_rollups(), (pg.backend_pid,)),
                "bin": (lambda b: bare_copy(admin, b), (admin.info.backend_pid,)),
                "copy": (lambda b: bare_csv(admin, b), (admin.info.backend_pid,)),
                "duck": (duck.append, ()),
            }
            if reads_only:
                writers = {k: writers[k] for k in ("pg", "refresh", "duck")}
            took = {} if kept else timed_rounds(batches, writers)
            assert pg.count() == duck.count() == events
            goals = [] if reads_only else append_figures(events, batch, took)

            compaction(pg)
            # statistics as autovacuum would have them (the "auto" choice reads the catalog)
            admin.execute(
                "ANALYZE state_events, other_events, state_hours, count_hours, energy_hours, "
                "day_packs"
            )
            month = month_queries(units, queries, seed)
            kpi_inputs(pg, month[0])  # warm both stores' caches once
            kpi_inputs(duck, month[0])
            got = latencies(pg, duck, month)
            lat = Table(
                title=f"KPI inputs, one line x one month by day, {queries} random months (ms)"
            )
            for column in ("store", "p50", "p99", "max", "CPU/query"):
                lat.add_column(column, justify="right")
            for name, label in (
                ("pg", "PostgreSQL, auto (roll-ups where they are smaller)"),
                ("pg rolled", "PostgreSQL, roll-ups wherever possible"),
                ("pg raw", "PostgreSQL, raw events"),
                ("duck", "DuckDB"),
            ):
                values, cpu = got[name]
                lat.add_row(
                    label,
                    f"{p(values, 50):.1f}",
                    f"{p(values, 99):.1f}",
                    f"{max(values):.1f}",
                    f"{cpu:.1f}",
                )
            console.print(lat)
            console.print(
                "CPU/query: this process (DuckDB's threads included) + the PostgreSQL backend; "
                f"load average {Path('/proc/loadavg').read_text().strip()}"
            )

            year = site_year_query(units)
            times = {}
            for name, store, pid in (("pg", pg, pg.backend_pid), ("duck", duck, None)):
                t0, cpu0, server0 = time.perf_counter(), time.process_time(), server_cpu_s(pid)
                answer = kpi_inputs(store, year)
                times[name] = time.perf_counter() - t0
                cpu = time.process_time() - cpu0 + server_cpu_s(pid) - server0
                console.print(
                    f"site by day for the year on {name}: {times[name]:.2f} s "
                    f"(CPU {cpu:.2f} s), {len(answer[0]):,} state rows"
                )
            console.print(
                f"site year by day: PostgreSQL {times['pg']:.2f} s, DuckDB {times['duck']:.2f} s, "
                f"PostgreSQL/DuckDB = {times['pg'] / times['duck']:.2f}"
            )
            goals += [
                ("p99 < 50 ms, auto", p(got["pg"][0], 99) < 50),
                ("p99 < 50 ms, roll-ups wherever possible", p(got["pg rolled"][0], 99) < 50),
            ]
            for goal, met in goals:
                console.print(f"goal {goal}: {'met' if met else 'NOT met'}")
            duck.close()
    finally:
        if keep is None:
            admin.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )
        admin.close()


if __name__ == "__main__":
    typer.run(main)
