"""Where the ingester's time goes, per stage, without a broker: CPU microseconds per metric.

The benchmark's messages (``bench/ingest.py``: 100 devices, 10 Double metrics a DDATA, aliases
only) are encoded up front; then, each stage timed on its own over the same messages:

  mqtt      the ingester's MQTT reader: the PUBLISH packets parsed from 1,000-packet reads,
            their PUBACKs built;
  parse     protobuf's C parser alone (``Payload.ParseFromString``), the floor of decoding;
  pipeline  ``Pipeline.sparkplug``: topic, decode, session checks, mapping, columns or events;
  table     the batch as the canonical Arrow table (what ``append`` receives);
  duckdb    ``DuckDBStore.append`` of those tables (a fresh file, batches of ``--batch``);
  postgres  ``PostgresStore.append`` (a fresh database on 127.0.0.1:5432, dropped afterwards).

    .venv/bin/python bench/ingest_stages.py                 # 20,000 messages = 200,000 metrics
    .venv/bin/python bench/ingest_stages.py --no-postgres   # without the server
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest import DEVICES, GROUP, MAPPING, METRICS, NODE, _drop, _postgres

from factoryos.ingest import mqtt_wire as wire
from factoryos.ingest import sparkplug_b_pb2 as pb
from factoryos.ingest.mapping import load_mapping_text
from factoryos.ingest.pipeline import Batch, Pipeline
from factoryos.ingest.sparkplug import BDSEQ_METRIC, DataType, Metric, Payload, encode
from factoryos.store.duckdb_store import DuckDBStore

console = Console()
T0_MS = 1_800_000_000_000


def messages(count: int) -> list[tuple[str, bytes]]:
    """Births, then ``count`` DDATA round-robin over the devices, as the benchmark sends them."""
    out = [
        (
            f"spBv1.0/{GROUP}/NBIRTH/{NODE}",
            encode(Payload(T0_MS, 0, (Metric(BDSEQ_METRIC, None, None, DataType.UINT64, 0),))),
        )
    ]
    seq = 1
    for d in range(DEVICES):
        metrics = tuple(
            Metric(f"m{i}", d * 16 + i + 1, None, DataType.DOUBLE, None, True)
            for i in range(METRICS)
        )
        out.append((f"spBv1.0/{GROUP}/DBIRTH/{NODE}/dev.{d}", encode(Payload(T0_MS, seq, metrics))))
        seq = (seq + 1) % 256
    for n in range(count):
        d = n % DEVICES
        ts = T0_MS + n
        metrics = tuple(
            Metric(None, d * 16 + i + 1, ts, DataType.DOUBLE, float(n)) for i in range(METRICS)
        )
        topic = f"spBv1.0/{GROUP}/DDATA/{NODE}/dev.{d}"
        out.append((topic, encode(Payload(ts, seq, metrics))))
        seq = (seq + 1) % 256
    return out


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    """CPU seconds of this process (all its threads: DuckDB's too) and the result. CPU, not
    wall time: on the shared machine a stage waits for a core longer than it runs."""
    start = time.process_time()
    result = work()
    return time.process_time() - start, result


def batches(stream: list[tuple[str, bytes]], per_batch: int) -> tuple[float, list[Batch]]:
    """Seconds in ``Pipeline.sparkplug`` and the batches of ``per_batch`` messages it made."""
    pipeline = Pipeline(load_mapping_text(MAPPING.replace("HOST", "stages")), None)
    out: list[Batch] = []
    spent = 0.0
    for start in range(0, len(stream), per_batch):
        chunk = stream[start : start + per_batch]
        begin = time.process_time()
        for topic, data in chunk:
            pipeline.sparkplug(topic, data, T0_MS, None)
        spent += time.process_time() - begin
        out.append(pipeline.take())
    return spent, out


def main(
    count: Annotated[int, typer.Option("--messages", help="DDATA messages.")] = 20_000,
    per_batch: Annotated[int, typer.Option("--batch", help="Messages a batch.")] = 2_000,
    postgres: Annotated[bool, typer.Option(help="Also time PostgreSQL appends.")] = True,
) -> None:
    stream = messages(count)
    metrics = count * METRICS

    def parse() -> None:
        for _, data in stream:
            pb.Payload().ParseFromString(data)

    packets = [wire.publish(t, d, 1, False, i % 65535 + 1) for i, (t, d) in enumerate(stream)]
    blocks = [b"".join(packets[i : i + 1000]) for i in range(0, len(packets), 1000)]

    def mqtt() -> None:
        ids: list[int] = []
        for block in blocks:
            wire.parse(block, lambda _t, _d, i, _q, _u, _r: ids.append(i), lambda _k, _b: None)
            wire.pubacks(ids)
            ids.clear()

    rows: list[tuple[str, float]] = [
        ("MQTT reader (mqtt_wire: PUBLISH parse, PUBACKs)", timed(mqtt)[0]),
        ("parse (protobuf C, floor)", timed(parse)[0]),
    ]
    pipeline_s, made = batches(stream, per_batch)
    rows.append(("pipeline (decode, session, map, columns)", pipeline_s))
    table_s, tables = timed(lambda: [b.table() for b in made])
    rows.append(("table (canonical Arrow)", table_s))
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(Path(tmp) / "stages.duckdb")
        duck_s, _ = timed(lambda: [store.append(t) for t in tables])
        stored = store.count()
        store.close()
    rows.append(("DuckDB append", duck_s))
    if postgres and (url := _postgres()) is not None:
        from factoryos.store.postgres_store import PostgresStore

        try:
            pg = PostgresStore(url)
            pg_s, _ = timed(lambda: [pg.append(t) for t in tables])
            pg.close()
            rows.append(("PostgreSQL append", pg_s))
        finally:
            _drop(url)
    table = Table(title=f"{count:,} DDATA x {METRICS} metrics, batches of {per_batch:,} messages")
    for column in ("stage", "CPU seconds", "CPU µs / metric"):
        table.add_column(column, justify="right")
    for name, seconds in rows:
        table.add_row(name, f"{seconds:.3f}", f"{seconds / metrics * 1e6:.2f}")
    console.print(table)
    console.print(
        f"stored in DuckDB: {stored:,} of {metrics:,}; load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores (PostgreSQL's own work is in its server, not counted here)",
        highlight=False,
    )


if __name__ == "__main__":
    typer.run(main)
