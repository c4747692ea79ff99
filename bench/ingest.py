"""Live ingest benchmark: Sparkplug B DDATA through a real Mosquitto, factoryos vs a bare client.

A Mosquitto with ``config/mosquitto-plant.conf`` runs on a free loopback port. A publisher in its
own process sends NBIRTH/DBIRTH for 100 devices, then ``--messages`` DDATA (10 Double metrics each,
stamped with the publishing time) at QoS 1, round-robin over the devices. In the same run:

  (a) a bare paho-mqtt subscriber that counts messages and decodes nothing (the ceiling of
      broker + client on this machine);
  (b) factoryos ingest into DuckDB (decode, session checks, mapping, events, batches committed,
      then acknowledged);
  (c) the same into PostgreSQL (a fresh database on 127.0.0.1:5432, dropped afterwards), when
      the server is there.

Prints metrics/s, the ratio to (a), publish-to-commit latency p50/p99 and the counts reconciled.

    .venv/bin/python bench/ingest.py                      # 20,000 messages = 200,000 metrics
    .venv/bin/python bench/ingest.py --messages 5000      # a quick look
    .venv/bin/python bench/ingest.py --messages 6000 --rate 200   # latency below capacity
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Annotated

import paho.mqtt.client as mqtt
import typer
from paho.mqtt.enums import CallbackAPIVersion
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from factoryos.app.ingesting import run_ingest
from factoryos.app.settings import Settings
from factoryos.ingest.batching import IngestOptions
from factoryos.ingest.mapping import load_mapping_text
from factoryos.ingest.pipeline import Batch, Pipeline
from factoryos.ingest.sparkplug import BDSEQ_METRIC, DataType, Metric, Payload, encode
from tests.ingest.conftest import PlantBroker, _free_port

console = Console()
DEVICES = 100
METRICS = 10
GROUP, NODE = "bench", "line.one"
MAPPING = "host_id: HOST\nmax_future_s: null\nsources:\n" + "".join(
    f"""  - sparkplug: {{group: {GROUP}, node: "+", device: "+", metric: m{i}}}
    path: "bench/{{node}}/{{device}}"
    kind: sample
    sensor: m{i}
"""
    for i in range(METRICS)
)


def _publish(port: int, messages: int, ready: mp.synchronize.Event, rate: float) -> None:
    """The edge node (its own process): births, then DDATA as fast as the client goes, or at
    ``rate`` messages/s when it is above 0."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-edge")
    client.max_inflight_messages_set(5000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    ready.wait()
    seq = 0

    def send(topic: str, payload: Payload) -> mqtt.MQTTMessageInfo:
        nonlocal seq
        seq = (seq + 1) % 256
        return client.publish(f"spBv1.0/{GROUP}/{topic}", encode(payload), qos=1)

    now = time.time_ns() // 1_000_000
    send(f"NBIRTH/{NODE}", Payload(now, 0, (Metric(BDSEQ_METRIC, None, None, DataType.UINT64, 0),)))
    seq = 1
    for d in range(DEVICES):
        metrics = tuple(
            Metric(f"m{i}", d * 16 + i + 1, None, DataType.DOUBLE, None, True)
            for i in range(METRICS)
        )
        send(f"DBIRTH/{NODE}/dev.{d}", Payload(now, seq, metrics))
    info = None
    begin = time.perf_counter()
    for n in range(messages):
        if rate > 0 and (ahead := begin + n / rate - time.perf_counter()) > 0:
            time.sleep(ahead)
        d = n % DEVICES
        ts = time.time_ns() // 1_000_000
        metrics = tuple(
            Metric(None, d * 16 + i + 1, ts, DataType.DOUBLE, float(n)) for i in range(METRICS)
        )
        info = send(f"DDATA/{NODE}/dev.{d}", Payload(ts, seq, metrics))
    if info is not None:
        info.wait_for_publish(120)
    client.disconnect()
    client.loop_stop()


def _start_publisher(
    port: int, messages: int, rate: float = 0.0
) -> tuple[mp.Process, mp.synchronize.Event]:
    ready = mp.Event()
    process = mp.Process(target=_publish, args=(port, messages, ready, rate), daemon=True)
    process.start()
    return process, ready


def bare(port: int, messages: int, rate: float) -> float:
    """(a): seconds from the first to the last DDATA received by a counting subscriber."""
    want = messages + 1 + DEVICES
    seen = 0
    first = last = 0.0
    done = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, _m: mqtt.MQTTMessage) -> None:
        nonlocal seen, first, last
        seen += 1
        if seen == 1:
            first = time.perf_counter()
        if seen == want:
            last = time.perf_counter()
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare", protocol=mqtt.MQTTv5)
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.subscribe("spBv1.0/#", qos=1)
    client.loop_start()
    time.sleep(0.5)
    process, ready = _start_publisher(port, messages, rate)
    ready.set()
    done.wait(600)
    process.join(60)
    client.disconnect()
    client.loop_stop()
    return last - first


def ours(
    port: int, messages: int, workdir: Path, db: str, rate: float
) -> tuple[float, list[float], Pipeline]:
    """(b), (c): seconds from the first message to the last commit, publish-to-commit
    latencies."""
    stop = threading.Event()
    latencies: list[float] = []
    state: dict[str, float] = {}
    pipelines: list[Pipeline] = []
    want = messages * METRICS

    def on_batch(pipeline: Pipeline, _w: int, batch: Batch, now_ms: int) -> None:
        if not pipelines:
            pipelines.append(pipeline)
        latencies.extend((now_ms - t) / 1000 for t in batch.events.ts_ms())
        if batch.first_ms is not None:
            state.setdefault("first", batch.first_ms / 1000)
        state["last"] = now_ms / 1000
        if pipeline.counts.stored >= want:
            stop.set()

    mapping = load_mapping_text(MAPPING.replace("HOST", f"bench{len(db)}"))
    settings = Settings(db=db)
    thread = threading.Thread(
        target=run_ingest,
        args=(settings, mapping, None, f"mqtt://127.0.0.1:{port}", stop),
        kwargs={
            "options": IngestOptions(),
            "on_batch": on_batch,
            "letters_path": str(workdir / f"letters{len(db)}.duckdb"),
        },
    )
    thread.start()
    time.sleep(1.0)
    process, ready = _start_publisher(port, messages, rate)
    ready.set()
    process.join(600)
    stop.wait(600)
    thread.join(60)
    return state["last"] - state["first"], latencies, pipelines[0]


def main(
    messages: Annotated[int, typer.Option(help="DDATA messages (10 metrics each).")] = 20_000,
    rate: Annotated[
        float, typer.Option(help="Messages/s the publisher keeps to (0: as fast as it can).")
    ] = 0.0,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        broker = PlantBroker(_free_port(), workdir)
        broker.start()
        runs: dict[str, tuple[float, list[float], Pipeline]] = {}
        try:
            bare_s = bare(broker.port, messages, rate)
            duck = str(workdir / "bench.duckdb")
            runs["(b) factoryos -> DuckDB"] = ours(broker.port, messages, workdir, duck, rate)
            url = _postgres()
            if url is not None:
                try:
                    runs["(c) factoryos -> PostgreSQL"] = ours(
                        broker.port, messages, workdir, url, rate
                    )
                finally:
                    _drop(url)
        finally:
            broker.stop()
    metrics = messages * METRICS
    table = Table(title=f"{messages:,} DDATA x {METRICS} metrics, {DEVICES} devices, QoS 1")
    for column in ("path", "seconds", "metrics/s", "ratio to (a)"):
        table.add_column(column, justify="right")
    table.add_row("(a) bare subscriber", f"{bare_s:.2f}", f"{metrics / bare_s:,.0f}", "1.00")
    for name, (seconds, _, _) in runs.items():
        table.add_row(
            name, f"{seconds:.2f}", f"{metrics / seconds:,.0f}", f"{seconds / bare_s:.2f}"
        )
    console.print(table)
    for name, (_, latencies, pipeline) in runs.items():
        cuts = statistics.quantiles(latencies, n=100)
        console.print(
            f"{name}: publish-to-commit p50 {cuts[49]:.3f} s, p99 {cuts[98]:.3f} s; "
            f"{pipeline.counts.line()}; reconciled {pipeline.counts.reconciles()}, "
            f"stored = published {pipeline.counts.stored == metrics}",
            highlight=False,
        )


PG = "postgresql://postgres@127.0.0.1:5432"


def _postgres() -> str | None:
    """A fresh database with the factoryos schema, or None (said why) without a server."""
    try:
        import psycopg

        from factoryos.store.postgres_store import PostgresStore

        name = f"bench_ingest_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{PG}/test", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        PostgresStore(f"{PG}/{name}", upgrade=True).close()
    except Exception as exc:  # no server or no rights: say so and go on without (c)
        console.print(f"[yellow]PostgreSQL skipped:[/] {exc}")
        return None
    return f"{PG}/{name}"


def _drop(url: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/test", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


if __name__ == "__main__":
    typer.run(main)
