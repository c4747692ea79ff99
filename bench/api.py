"""HTTP API benchmark: KPI queries under concurrent clients, and live latency stored -> browser.

In one run, on loopback, against ``factoryos serve`` in its own process:

  (a) KPIs of one line over one month by day (``GET /api/v1/sites/jiading/kpis?node=...&by=day``,
      no ETag sent, so every request gets the full body), ``--clients`` concurrent clients for
      ``--seconds``: requests/s, p50 and p99 latency as the clients saw it and as the server
      spent it (its ``Server-Timing`` header: without the socket and the event loop's queue),
      the server process's CPU time per request, the share of the run its event loop was
      runnable but waiting for a CPU (the run queue of a busy box), and the first (cold)
      request's latency. The
      clients are wrk's connections (C, keep-alive, each sends its next request when its answer
      arrived; Debian package ``wrk``); on the still DuckDB store the same load also comes from
      a Python client (httpx, asyncio tasks), the reference that showed that on a busy 2-core box
      a Python load generator measures its own wait for the CPU. On the embedded DuckDB store,
      on DuckDB while the live twin appends April's events to the same store, and on
      PostgreSQL (a fresh database on 127.0.0.1:5432 holding the same events; skipped when no
      server answers);
  (b) the same query in-process (``kpi_report`` on the DuckDB store, one caller, computed every
      time): the peer. The server computes the answer once and keeps it until a stored event
      could change it (one with ``ts`` before the window's end; April's events do not), so (a)
      against (b) is what the cache and the HTTP stack give and cost;
  (c) live latency, stored -> parsed by an SSE client: the twin running live (600x) in the
      server, and a second process appending state events to PostgreSQL that the server hears
      of by the store's notices (lag from the event's own time stamp, just before its append,
      so an upper bound): p50 and p99.

Goals: KPI p99 < 50 ms; live p99 < 2 s.

    .venv/bin/python bench/api.py                       # 20 clients x 30 s per store
    .venv/bin/python bench/api.py --clients 5 --seconds 5 --live-seconds 5    # a quick look
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import typer
from rich.console import Console
from rich.table import Table

from factoryos.app.kpis import kpi_report
from factoryos.app.simulation import run_simulation
from factoryos.kpi.report import GroupBy
from factoryos.model import load_plant
from factoryos.store.duckdb_store import DuckDBStore

console = Console(width=180)
ROOT = Path(__file__).resolve().parents[1]
PLANT = ROOT / "examples" / "robot_factory.yaml"
FACTORYOS = Path(sys.executable).with_name("factoryos")
ZONE = ZoneInfo("Asia/Shanghai")
MONTH = (dt.datetime(2026, 3, 1, tzinfo=ZONE), dt.datetime(2026, 4, 1, tzinfo=ZONE))
LINE = "final_assembly/arm_assembly"
QUERY = {"node": LINE, "from": "2026-03-01", "to": "2026-04-01", "by": "day"}
PG = "postgresql://postgres@127.0.0.1:5432"
PASSWORD = "bench-password"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _serve(db: str, cwd: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    """``factoryos serve`` in its own process, with a user that may read the site."""
    for args in (
        ["users", "add", "bench", "--password", PASSWORD],
        ["users", "grant", "bench", "viewer", "jiading"],
    ):
        # accounts live in the store (on PostgreSQL too): a second server on it finds the user
        done = subprocess.run([FACTORYOS, *args, "--db", db], cwd=cwd, capture_output=True)
        if done.returncode and b"exists already" not in done.stdout + done.stderr:
            raise RuntimeError(f"{' '.join(args)}: {(done.stdout + done.stderr).decode()}")
    cmd = [FACTORYOS, "serve", "--plant", str(PLANT), "--db", db, "--port", str(port), *extra]
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"serve did not start: {proc.stderr.read().decode() if proc.stderr else ''}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(15)


def _token(port: int) -> str:
    r = httpx.post(
        f"http://127.0.0.1:{port}/api/v1/auth/token",
        data={"username": "bench", "password": PASSWORD},
    )
    r.raise_for_status()
    return str(r.json()["access_token"])


WRK_SCRIPT = """
st = {}  -- global: done() reads each thread's list through thread:get
response = function(status, headers, body)
  local v = headers["server-timing"]
  if v then st[#st + 1] = tonumber(string.match(v, "dur=([%d.]+)")) end
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    for _, x in ipairs(t:get("st")) do all[#all + 1] = x end
  end
  table.sort(all)
  local function q(p) return all[math.min(#all, math.floor(p * #all) + 1)] or -1 end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d, '
    .. '"server_p50_ms": %f, "server_p99_ms": %f, "timed": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout, q(0.5), q(0.99), #all))
end
"""


@dataclass(frozen=True, slots=True)
class Load:
    """What one load run measured: client-side and the server's own (``Server-Timing``) times,
    and the server process's CPU time (user + system, all its threads) per request."""

    client: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    server_p50_ms: float
    server_p99_ms: float
    server_cpu_ms: float
    loop_wait: float  # share of the run the server's event loop was runnable but had no CPU
    load_average: float


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _waited_s(pid: int) -> float:
    """Seconds the process's main thread (uvicorn's event loop) spent runnable on the run
    queue, waiting for a CPU (Linux schedstat)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9


def _wrk(tmp: Path, pid: int, port: int, token: str, clients: int, seconds: float) -> Load:
    """``clients`` connections of wrk (C, 2 threads, keep-alive), each sending its next request
    when its answer arrived, for ``seconds``."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk not found: apt-get install wrk (scripts/setup.sh does it)")
    script = tmp / "latency.lua"
    script.write_text(WRK_SCRIPT)
    url = f"http://127.0.0.1:{port}/api/v1/sites/jiading/kpis?{urlencode(QUERY)}"
    cmd = [wrk, "-t2", f"-c{clients}", f"-d{round(seconds)}s", "--timeout", "120s"]
    cmd += ["-s", str(script), "-H", f"Authorization: Bearer {token}", url]
    cpu0, wait0 = _cpu_s(pid), _waited_s(pid)
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    cpu, waited = _cpu_s(pid) - cpu0, _waited_s(pid) - wait0
    got = json.loads(done.stdout.strip().splitlines()[-1])
    if got["errors"] or got["timed"] != got["requests"]:
        raise RuntimeError(f"wrk saw errors or answers without Server-Timing: {done.stdout}")
    return Load(
        "wrk",
        got["requests"],
        got["duration_us"] / 1e6,
        got["p50_us"] / 1000,
        got["p99_us"] / 1000,
        got["server_p50_ms"],
        got["server_p99_ms"],
        1000 * cpu / got["requests"],
        waited / (got["duration_us"] / 1e6),
        os.getloadavg()[0],
    )


async def _httpx_load(
    port: int, token: str, clients: int, seconds: float
) -> tuple[list[float], list[float]]:
    """The Python reference client: ``clients`` asyncio tasks over one httpx client (latencies
    and the server's own times, s)."""
    url = f"http://127.0.0.1:{port}/api/v1/sites/jiading/kpis"
    latencies: list[float] = []
    server: list[float] = []
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=120
    ) as client:

        async def one() -> None:
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                r = await client.get(url, params=QUERY)
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    raise RuntimeError(f"{r.status_code} {r.text[:200]}")
                server.append(float(r.headers["server-timing"].split("dur=")[1]) / 1000)

        await asyncio.gather(*(one() for _ in range(clients)))
    return latencies, server


def _httpx(pid: int, port: int, token: str, clients: int, seconds: float) -> Load:
    cpu0, wait0 = _cpu_s(pid), _waited_s(pid)
    latencies, server = asyncio.run(_httpx_load(port, token, clients, seconds))
    cpu, waited = _cpu_s(pid) - cpu0, _waited_s(pid) - wait0
    return Load(
        "httpx",
        len(latencies),
        seconds,
        1000 * statistics.median(latencies),
        1000 * _percentile(latencies, 0.99),
        1000 * statistics.median(server),
        1000 * _percentile(server, 0.99),
        1000 * cpu / len(latencies),
        waited / seconds,
        os.getloadavg()[0],
    )


def _cold(port: int, token: str) -> float:
    t0 = time.perf_counter()
    r = httpx.get(
        f"http://127.0.0.1:{port}/api/v1/sites/jiading/kpis",
        params=QUERY,
        headers={"Authorization": f"Bearer {token}"},
        timeout=300,
    )
    r.raise_for_status()
    return time.perf_counter() - t0


def _kpi_row(name: str, load: Load, cold: float | None) -> tuple[str, ...]:
    timed = not math.isnan(load.server_p50_ms)
    return (
        name,
        load.client,
        f"{load.requests / load.seconds:,.1f}",
        f"{load.p50_ms:,.1f}",
        f"{load.p99_ms:,.1f}",
        f"{load.server_p50_ms:.2f}" if timed else "",
        f"{load.server_p99_ms:.2f}" if timed else "",
        f"{load.server_cpu_ms:.2f}" if timed else "",
        f"{100 * load.loop_wait:.0f}" if timed else "",
        f"{1000 * cold:,.0f}" if cold is not None else "",
        f"{load.requests:,}",
        f"{load.load_average:.1f}",
    )


def _month_store(path: Path) -> DuckDBStore:
    store = DuckDBStore(path)
    plant = load_plant(PLANT)
    run_simulation(plant, days=31, seed=1, start=MONTH[0], store=store)
    return store


def _postgres_copy(store: DuckDBStore) -> str | None:
    try:
        import psycopg

        from factoryos.store.postgres_store import PostgresStore

        name = f"bench_api_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{PG}/test", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
    except Exception as exc:  # no server, or no rights: say so and go on with DuckDB
        console.print(f"[yellow]PostgreSQL skipped:[/] {exc}")
        return None
    url = f"{PG}/{name}"
    with PostgresStore(url, upgrade=True) as pg:
        pg.append(store.events())
    return url


def _drop(url: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/test", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


async def _live(port: int, token: str, seconds: float, *, from_ts: bool = False) -> list[float]:
    """Lags of the state messages: from ``stored_at`` (the server stored it), or with
    ``from_ts`` from the event's own time (another process made it just before appending)."""
    lags: list[float] = []
    url = f"http://127.0.0.1:{port}/api/v1/sites/jiading/live"
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + seconds
    async with (
        httpx.AsyncClient(timeout=None) as client,
        client.stream("GET", url, headers=headers) as stream,
    ):
        kind = ""
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "state":
                data = json.loads(line[6:])
                at = (
                    dt.datetime.fromisoformat(data["since"]).timestamp()
                    if from_ts
                    else data["stored_at"]
                )
                lags.append(time.time() - at)
            if time.monotonic() > deadline:
                break
    return lags


WRITER = """
import datetime as dt, sys, time
from factoryos.model import MachineState, StateChange
from factoryos.store.postgres_store import PostgresStore
url, path, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
states = [MachineState.PRODUCING, MachineState.IDLE]
with PostgresStore(url) as store:
    end, n = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        now = dt.datetime.now(dt.UTC)
        store.append([StateChange(f"bench-live-{now.timestamp()}", now, path, states[n % 2])])
        n += 1
        time.sleep(0.1)
"""


def _lag_line(name: str, lags: list[float], seconds: float) -> str:
    if not lags:
        return f"[red]{name}: no state change arrived[/]"
    return (
        f"{name}: {len(lags)} state changes in {seconds:.0f} s, "
        f"p50 {1000 * statistics.median(lags):.0f} ms, "
        f"p99 {1000 * _percentile(lags, 0.99):.0f} ms (goal < 2000 ms)"
    )


def _live_rows(tmp: Path, port: int, seconds: float, pg_url: str | None) -> list[str]:
    live_dir = tmp / "live"
    live_dir.mkdir()
    proc = _serve(
        str(live_dir / "live.duckdb"),
        live_dir,
        port,
        "--twin",
        "--speed",
        "600",
        "--twin-at",
        "2026-03-03T10:00+08:00",
    )
    try:
        lags = asyncio.run(_live(port, _token(port), seconds))
    finally:
        _stop(proc)
    lines = [_lag_line("live, twin in the server (DuckDB)", lags, seconds)]
    if pg_url is None:
        return lines
    pg_dir = tmp / "live-pg"
    pg_dir.mkdir()
    proc = _serve(pg_url, pg_dir, port + 1)
    try:
        token = _token(port + 1)
        unit = f"{load_plant(PLANT).root_path}/{LINE}"
        path = next(u.path for u in load_plant(PLANT).work_units if u.path.startswith(unit))
        writer = subprocess.Popen([sys.executable, "-c", WRITER, pg_url, path, str(seconds + 2)])
        try:
            lags = asyncio.run(_live(port + 1, token, seconds, from_ts=True))
        finally:
            writer.wait(60)
    finally:
        _stop(proc)
    lines.append(_lag_line("live, another process appending to PostgreSQL", lags, seconds))
    return lines


def main(
    clients: Annotated[int, typer.Option(help="Concurrent clients.")] = 20,
    seconds: Annotated[float, typer.Option(help="Load duration per store (s).")] = 30.0,
    live_seconds: Annotated[float, typer.Option(help="Live latency sampling (s).")] = 20.0,
    port: Annotated[int, typer.Option(help="First loopback port to use.")] = 18400,
) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp_text:
        tmp = Path(tmp_text)
        t0 = time.perf_counter()
        store = _month_store(tmp / "month.duckdb")
        console.print(
            f"a month of the robot plant: {store.count():,} events in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        plant = load_plant(PLANT)
        node = f"{plant.root_path}/{LINE}"
        direct = []
        t_end = time.monotonic() + min(seconds, 10)
        while time.monotonic() < t_end:
            t1 = time.perf_counter()
            kpi_report(store, plant, start=MONTH[0], end=MONTH[1], node=node, by=GroupBy.DAY)
            direct.append(time.perf_counter() - t1)
        pg_url = _postgres_copy(store)
        store.close()
        shutil.copy(tmp / "month.duckdb", tmp / "month-live.duckdb")  # each server its users
        nan = math.nan
        peer = Load(
            "in-process",
            len(direct),
            min(seconds, 10),
            1000 * statistics.median(direct),
            1000 * _percentile(direct, 0.99),
            nan,
            nan,
            nan,
            nan,
            os.getloadavg()[0],
        )
        rows = [_kpi_row("kpi_report, 1 caller, computed every time (peer)", peer, None)]
        april = ("--twin", "--speed", "600", "--twin-at", "2026-04-02T10:00+08:00")
        try:
            for name, db, extra in (
                ("HTTP, DuckDB", str(tmp / "month.duckdb"), ()),
                ("HTTP, DuckDB, twin appending April", str(tmp / "month-live.duckdb"), april),
                ("HTTP, PostgreSQL", pg_url, ()),
            ):
                if db is None:
                    continue
                cwd = tmp / f"serve-{port}"
                cwd.mkdir()
                proc = _serve(db, cwd, port, *extra)
                label = f"{name}, {clients} clients"
                try:
                    token = _token(port)
                    cold = _cold(port, token)
                    rows.append(
                        _kpi_row(label, _wrk(tmp, proc.pid, port, token, clients, seconds), cold)
                    )
                    if not extra and db.endswith(".duckdb"):  # the Python client, same server
                        load = _httpx(proc.pid, port, token, clients, seconds)
                        rows.append(_kpi_row(label, load, None))
                except Exception as exc:  # a store too slow for the timeout: say so, go on
                    rows.append((label, "failed", repr(exc)[:60], *[""] * 9))
                finally:
                    _stop(proc)
                port += 1
            table = Table(title=f"KPIs of {LINE}, March 2026 by day")
            for col in (
                "", "client", "req/s", "p50 ms", "p99 ms", "server p50", "server p99",
                "server CPU ms/req", "loop waited for CPU %", "cold ms", "requests",
                "load avg",
            ):  # fmt: skip
                table.add_column(col, justify="right" if col else "left")
            for row in rows:
                table.add_row(*row)
            console.print(table)
            for line in _live_rows(tmp, port, live_seconds, pg_url):
                console.print(line)
        finally:
            if pg_url:
                _drop(pg_url)
        console.print(f"cpu cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    typer.run(main)
