"""Live ingest benchmark: Sparkplug B DDATA through a real Mosquitto, factoryos vs a bare client.

A Mosquitto with ``config/mosquitto-plant.conf`` runs on a free loopback port. A publisher in its
own process sends NBIRTH/DBIRTH for 100 devices, then ``--messages`` DDATA (10 Double metrics each,
stamped with the publishing time) at QoS 1, round-robin over the devices: payloads built from
pre-encoded pieces, written 20 PUBLISH packets to a ``sendall`` with at most 200 unacknowledged,
so the load costs well under a microsecond a metric. In the same run:

  (a)  a bare counting subscriber on the ingester's own MQTT reader (``mqtt_wire``: bulk reads,
       the PUBACKs of each read in one write), decoding nothing: the ceiling of broker + client;
  (a') the same with paho-mqtt (MQTT 5, QoS 1), for reference;
  (b)  factoryos ingest into DuckDB (decode, session checks, mapping, events, batches committed,
       then acknowledged);
  (c)  the same into PostgreSQL (a fresh database on 127.0.0.1:5432, dropped afterwards), when
       the server is there.

Prints metrics/s, the ratio to (a), the CPU time per metric of this process (subscriber or
ingester; the ingester's writer thread apart), of the publisher, of Mosquitto and of the
PostgreSQL backends serving the ingester,
publish-to-commit latency p50/p99 and the counts reconciled, and each path's CPU ceiling: the
metrics/s that the CPU of all four (subscriber or ingester, publisher, Mosquitto, PostgreSQL)
would allow if spread perfectly over this machine's cores. On a shared machine compare the CPU
figures: wall rates follow the neighbours' load. ``bench/ingest_stages.py`` splits the
ingester's own work by stage.

    .venv/bin/python bench/ingest.py                      # 20,000 messages = 200,000 metrics
    .venv/bin/python bench/ingest.py --messages 5000      # a quick look
    .venv/bin/python bench/ingest.py --messages 6000 --rate 500   # latency below capacity
    .venv/bin/python bench/ingest.py --no-paho --no-postgres     # (a) and (b) only
"""

from __future__ import annotations

import multiprocessing as mp
import os
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import numpy as np
import paho.mqtt.client as mqtt
import typer
from paho.mqtt.enums import CallbackAPIVersion
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from factoryos.app.ingesting import run_ingest
from factoryos.app.settings import Settings
from factoryos.ingest import mqtt_wire as wire
from factoryos.ingest import sparkplug_b_pb2 as pb
from factoryos.ingest.batching import IngestOptions
from factoryos.ingest.mapping import load_mapping_text
from factoryos.ingest.pipeline import Batch, Pipeline
from factoryos.ingest.sparkplug import BDSEQ_METRIC, DataType, Metric, Payload, encode
from tests.ingest.conftest import PlantBroker, _free_port

console = Console(width=150)
DEVICES = 100
METRICS = 10
CORES = len(os.sched_getaffinity(0))
GROUP, NODE = "bench", "line.one"
MAPPING = "host_id: HOST\nmax_future_s: null\nsources:\n" + "".join(
    f"""  - sparkplug: {{group: {GROUP}, node: "+", device: "+", metric: m{i}}}
    path: "bench/{{node}}/{{device}}"
    kind: sample
    sensor: m{i}
"""
    for i in range(METRICS)
)


PUBLISHER_WINDOW = 200
"""QoS 1 publishes the edge node keeps unacknowledged (a bounded in-flight window)."""
PUBLISHER_CHUNK = 20
"""Publishes written with one ``sendall``."""


def _ddata_encoder(device: int) -> Callable[[int, int, int], bytes]:
    """Encodes device ``device``'s DDATA (timestamp, seq, value) as Tahu's protobuf would, from
    pre-encoded pieces: the publisher is the benchmark's load, not its subject (protobuf's
    message building cost ~20 µs a message, as much as the ingester's decode)."""
    heads = [b"\x10" + _varint(device * 16 + i + 1) + b"\x18" for i in range(METRICS)]
    tail = b"\x20" + _varint(DataType.DOUBLE) + b"\x69"

    def encode(ts: int, seq: int, value: int) -> bytes:
        stamp = _varint(ts)
        rest = stamp + tail + struct.pack("<d", value)
        size = _varint(len(heads[0]) + len(rest))  # every head has the same length
        return b"".join(
            [b"\x08", stamp, *[b"\x12" + size + h + rest for h in heads], b"\x18", _varint(seq)]
        )

    return encode


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, low = divmod(n, 128)
        out.append(low | (128 if n else 0))
        if not n:
            return bytes(out)


class LeanEdge:
    """The edge node's MQTT client: a socket, QoS 1 publishes written ``PUBLISHER_CHUNK`` at a
    time with at most ``PUBLISHER_WINDOW`` unacknowledged."""

    def __init__(self, port: int, client_id: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(wire.connect(client_id, 60, True, 0, None))
        self.rest = b""
        self.acked = 0
        while not self.acked:  # the CONNACK
            self._read()
        self.acked = 0
        self.sent = 0
        self.pending: list[bytes] = []

    def _read(self) -> None:
        data = self.rest + self.sock.recv(65536)
        used = wire.parse(data, _ignore, self._other)
        self.rest = data[used:]

    def _other(self, kind: int, _body: bytes) -> None:
        self.acked += kind in (wire.PUBACK, wire.CONNACK)

    def publish(self, topic: str, payload: bytes) -> None:
        self.sent += 1
        self.pending.append(wire.publish(topic, payload, 1, False, self.sent % 65535 + 1))
        if len(self.pending) >= PUBLISHER_CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.sock.sendall(b"".join(self.pending))
            self.pending.clear()
        while self.sent - self.acked > PUBLISHER_WINDOW - PUBLISHER_CHUNK:
            self._read()

    def close(self) -> None:
        self.flush()
        while self.acked < self.sent:
            self._read()
        self.sock.sendall(wire.DISCONNECT_PACKET)
        self.sock.close()


def _ignore(*_a: object) -> None:
    pass


def _publish(
    port: int, messages: int, ready: mp.synchronize.Event, rate: float, cpu: mp.Queue[float]
) -> None:
    """The edge node (its own process): births, then DDATA as fast as the client goes, or at
    ``rate`` messages/s when it is above 0; puts its CPU seconds on ``cpu``."""
    edge = LeanEdge(port, "bench-edge")
    ready.wait()
    cpu_start = time.process_time()
    now = time.time_ns() // 1_000_000
    bdseq = Metric(BDSEQ_METRIC, None, None, DataType.UINT64, 0)
    edge.publish(f"spBv1.0/{GROUP}/NBIRTH/{NODE}", encode(Payload(now, 0, (bdseq,))))
    for d in range(DEVICES):
        metrics = tuple(
            Metric(f"m{i}", d * 16 + i + 1, None, DataType.DOUBLE, None, True)
            for i in range(METRICS)
        )
        topic = f"spBv1.0/{GROUP}/DBIRTH/{NODE}/dev.{d}"
        edge.publish(topic, encode(Payload(now, d + 1, metrics)))
    edge.flush()
    seq = DEVICES + 1
    topics = [f"spBv1.0/{GROUP}/DDATA/{NODE}/dev.{d}" for d in range(DEVICES)]
    encoders = [_ddata_encoder(d) for d in range(DEVICES)]
    begin = time.perf_counter()
    for n in range(messages):
        if rate > 0 and (ahead := begin + n / rate - time.perf_counter()) > 0:
            edge.flush()
            time.sleep(ahead)
        d = n % DEVICES
        edge.publish(topics[d], encoders[d](time.time_ns() // 1_000_000, seq, n))
        seq = (seq + 1) % 256
    edge.close()
    cpu.put(time.process_time() - cpu_start)


def _check_encoder() -> None:
    """The hand-made DDATA is byte for byte what protobuf makes."""
    message = pb.Payload(timestamp=1_765_000_000_123, seq=200)
    for i in range(METRICS):
        message.metrics.add(
            alias=3 * 16 + i + 1,
            timestamp=1_765_000_000_123,
            datatype=DataType.DOUBLE,
            double_value=12345,
        )
    made = _ddata_encoder(3)(1_765_000_000_123, 200, 12345)
    if made != message.SerializeToString():
        raise SystemExit("the benchmark's DDATA encoder does not match protobuf's")


class Publisher:
    """The edge node's process; :meth:`go` starts its DDATA, :meth:`join` waits and gives its
    CPU seconds."""

    def __init__(self, port: int, messages: int, rate: float) -> None:
        self.ready = mp.Event()
        self.cpu: mp.Queue[float] = mp.Queue()
        self.process = mp.Process(
            target=_publish, args=(port, messages, self.ready, rate, self.cpu), daemon=True
        )
        self.process.start()

    def go(self) -> None:
        self.ready.set()

    def join(self) -> float:
        cpu = self.cpu.get(timeout=600)
        self.process.join(60)
        return cpu


@dataclass
class Run:
    """One path's figures: wall seconds first message to last (commit), CPU seconds of this
    process and of the publisher, publish-to-commit latencies."""

    seconds: float
    cpu_s: float
    publisher_cpu_s: float
    latencies: list[float] = field(default_factory=list)
    pipeline: Pipeline | None = None
    writer_cpu_s: float = 0.0  # of those, the writer thread's (commits and acknowledgements)
    broker_cpu_s: float = 0.0  # Mosquitto's, the same span
    server_cpu_s: float = 0.0  # the PostgreSQL backends' serving the ingester, the same span


def _broker_cpu(pid: int, path: Callable[[], Run]) -> Run:
    """``path``'s run with Mosquitto's CPU seconds over it (its idle start and drain too)."""
    before = _cpu_of(pid)
    run = path()
    run.broker_cpu_s = _cpu_of(pid) - before
    return run


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bare_paho(port: int, messages: int, rate: float) -> Run:
    """(a') for reference: a counting paho-mqtt subscriber (QoS 1, MQTT 5 like the ingester; paho
    acknowledges each message as it arrives)."""
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
    publisher = Publisher(port, messages, rate)
    cpu = time.process_time()
    publisher.go()
    done.wait(600)
    cpu = time.process_time() - cpu
    publisher_cpu = publisher.join()
    client.disconnect()
    client.loop_stop()
    return Run(last - first, cpu, publisher_cpu)


def bare_lean(port: int, messages: int, rate: float) -> Run:
    """(a): the ingester's own MQTT reader (``factoryos.ingest.mqtt_wire``, bulk reads) counting
    only: the PUBACKs of each read go back in one write, as soon as it is parsed."""
    want = messages + 1 + DEVICES
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(wire.connect("bench-bare-lean", 60, True, 0, None))
    sock.sendall(wire.subscribe(1, ["spBv1.0/#"], 1))
    ids: list[int] = []

    def on_publish(_t: str, _p: bytes, packet_id: int, _q: int, _d: bool, _r: bool) -> None:
        ids.append(packet_id)

    time.sleep(0.5)
    publisher = Publisher(port, messages, rate)
    cpu = time.process_time()
    publisher.go()
    seen = 0
    first = 0.0
    rest = b""
    while seen < want:
        data = rest + sock.recv(1 << 18)
        if not first:
            first = time.perf_counter()
        rest = data[wire.parse(data, on_publish, _ignore) :]
        seen += len(ids)
        sock.sendall(wire.pubacks(ids))
        ids.clear()
    last = time.perf_counter()
    cpu = time.process_time() - cpu
    publisher_cpu = publisher.join()
    sock.sendall(wire.DISCONNECT_PACKET)
    sock.close()
    return Run(last - first, cpu, publisher_cpu)


STORE_WAIT_S = 300
"""How long a path may take to store everything after the publisher is done."""


def ours(port: int, messages: int, workdir: Path, db: str, rate: float) -> Run:
    """(b), (c): from the first message the publisher sent to the last commit. The ingester's
    first batch is its own STATE message (it subscribes to its STATE topic), committed before
    the publisher starts: the clock starts after it, as (a)'s starts at its first read."""
    stop = threading.Event()
    own_state = threading.Event()
    latencies: list[float] = []
    state: dict[str, float] = {}
    pipelines: list[Pipeline] = []
    want = messages * METRICS

    def on_batch(pipeline: Pipeline, _w: int, batch: Batch, now_ms: int) -> None:
        if not pipelines:
            pipelines.append(pipeline)
            state["writer_cpu0"] = time.thread_time()
            own_state.set()
            return
        latencies.extend(((now_ms - np.asarray(batch.events.ts_ms())) / 1000).tolist())
        if batch.first_ms is not None:
            state.setdefault("first", batch.first_ms / 1000)
        state["last"] = now_ms / 1000
        state["writer_cpu"] = time.thread_time()  # the writer thread's own CPU
        if pipeline.counts.stored >= want:
            state["cpu"] = time.process_time()
            state["server_cpu"] = sum(_cpu_of(pid) for pid in backends)
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
    if not own_state.wait(STORE_WAIT_S):
        stop.set()
        raise SystemExit(f"{db}: the ingester did not commit its own STATE message")
    backends = _backends(db)
    server_cpu = sum(_cpu_of(pid) for pid in backends)
    publisher = Publisher(port, messages, rate)
    cpu = time.process_time()
    publisher.go()
    publisher_cpu = publisher.join()
    if not stop.wait(STORE_WAIT_S):
        stop.set()
        thread.join(60)
        counts = pipelines[0].counts.line() if pipelines else "nothing committed"
        broker_log = (workdir / "mosquitto.log").read_text().splitlines()[-5:]
        raise SystemExit(
            f"{db}: not all stored within {STORE_WAIT_S} s: {counts}; the broker's log ends "
            + " | ".join(broker_log)
        )
    thread.join(60)
    run = Run(state["last"] - state["first"], state["cpu"] - cpu, publisher_cpu, latencies)
    run.pipeline = pipelines[0]
    run.writer_cpu_s = state["writer_cpu"] - state["writer_cpu0"]
    run.server_cpu_s = state["server_cpu"] - server_cpu
    return run


def main(
    messages: Annotated[int, typer.Option(help="DDATA messages (10 metrics each).")] = 20_000,
    rate: Annotated[
        float, typer.Option(help="Messages/s the publisher keeps to (0: as fast as it can).")
    ] = 0.0,
    paho: Annotated[bool, typer.Option(help="Run (a'), the paho subscriber.")] = True,
    postgres: Annotated[bool, typer.Option(help="Run (c), into PostgreSQL.")] = True,
) -> None:
    _check_encoder()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        broker = PlantBroker(_free_port(), workdir)
        broker.start()
        runs: dict[str, Run] = {}
        try:
            assert broker.process is not None
            pid = broker.process.pid
            runs["(a) bare subscriber, lean"] = _broker_cpu(
                pid, lambda: bare_lean(broker.port, messages, rate)
            )
            if paho:
                runs["(a') bare subscriber, paho"] = _broker_cpu(
                    pid, lambda: bare_paho(broker.port, messages, rate)
                )
            duck = str(workdir / "bench.duckdb")
            runs["(b) factoryos -> DuckDB"] = _broker_cpu(
                pid, lambda: ours(broker.port, messages, workdir, duck, rate)
            )
            url = _postgres() if postgres else None
            if url is not None:
                try:
                    runs["(c) factoryos -> PostgreSQL"] = _broker_cpu(
                        pid, lambda: ours(broker.port, messages, workdir, url, rate)
                    )
                finally:
                    _drop(url)
        finally:
            broker.stop()
    metrics = messages * METRICS
    bare_run = runs["(a) bare subscriber, lean"]
    table = Table(title=f"{messages:,} DDATA x {METRICS} metrics, {DEVICES} devices, QoS 1")
    for column in (
        "path",
        "seconds",
        "metrics/s",
        "ratio to (a)",
        "CPU µs/metric",
        "CPU ratio",
        "of it writer",
        "publisher CPU µs/metric",
        "broker CPU µs/metric",
        "PostgreSQL CPU µs/metric",
        f"CPU ceiling on {CORES} cores",
    ):
        table.add_column(column, justify="right")
    for name, run in runs.items():
        table.add_row(
            name,
            f"{run.seconds:.2f}",
            f"{metrics / run.seconds:,.0f}",
            f"{run.seconds / bare_run.seconds:.2f}",
            f"{run.cpu_s / metrics * 1e6:.2f}",
            f"{run.cpu_s / bare_run.cpu_s:.2f}",
            f"{run.writer_cpu_s / metrics * 1e6:.2f}" if run.pipeline else "",
            f"{run.publisher_cpu_s / metrics * 1e6:.2f}",
            f"{run.broker_cpu_s / metrics * 1e6:.2f}",
            f"{run.server_cpu_s / metrics * 1e6:.2f}" if run.server_cpu_s else "",
            f"{ceiling(run, metrics):,.0f}",
        )
    console.print(table)
    console.print(
        "CPU µs/metric: this process (subscriber or ingester, all threads) per metric; "
        "1,000,000 / it is the metrics/s one free core would carry; 'of it writer': the "
        "thread that commits and acknowledges (the rest is the MQTT network thread, which "
        "decodes and batches, and DuckDB's workers). Broker: Mosquitto over the whole run. "
        f"CPU ceiling: the metrics/s that the CPU all four spent would allow if it were spread "
        f"perfectly over the {CORES} cores (no path can beat it on this machine). Load average "
        f"{os.getloadavg()[0]:.1f} on {CORES} cores.",
        highlight=False,
    )
    for name, run in runs.items():
        if run.pipeline is None:
            continue
        cuts = statistics.quantiles(run.latencies, n=100)
        counts = run.pipeline.counts
        console.print(
            f"{name}: publish-to-commit p50 {cuts[49]:.3f} s, p99 {cuts[98]:.3f} s; "
            f"{counts.line()}; reconciled {counts.reconciles()}, "
            f"stored = published {counts.stored == metrics}",
            highlight=False,
        )


PG = "postgresql://postgres@127.0.0.1:5432"


def ceiling(run: Run, metrics: int) -> float:
    """Metrics/s this path's CPU (subscriber or ingester, publisher, broker, PostgreSQL) allows
    on this machine's cores: the bound that says whether a ratio to (a) is reachable at all."""
    spent = run.cpu_s + run.publisher_cpu_s + run.broker_cpu_s + run.server_cpu_s
    return CORES * metrics / spent


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


def _backends(db: str) -> list[int]:
    """The server processes of the ingester's connections to database ``db`` (none for a
    DuckDB file), whose CPU the run adds up from ``/proc``."""
    if not db.startswith("postgresql://"):
        return []
    import psycopg

    with psycopg.connect(f"{PG}/test", autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (db.rsplit("/", 1)[1],)
        ).fetchall()
    return [int(pid) for (pid,) in rows]


def _drop(url: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/test", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


if __name__ == "__main__":
    typer.run(main)
