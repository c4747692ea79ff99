"""Benchmark: the cost of a live ingester's commit into DuckDB as the store grows.

A live ingester commits batches of up to 20,000 events (``ingest/batching.py``) into a store
that keeps growing. This fills a DuckDB file with ``--sizes`` events (states, counts, energy and
samples, ids shaped like the ingester's) and then times ``--rounds`` appends of 20,000 new events
and one of 20,000 already stored (a redelivered batch: all duplicates), in CPU and wall time.
The peer is the same append into an empty store, in the same run: the goal is a commit that does
not grow with the store.

    nice .venv/bin/python bench/store_append.py                     # 0, 1 M and 4 M rows
    nice .venv/bin/python bench/store_append.py --sizes 0 200000   # a quick look
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from factoryos.store.arrow import EVENT_SCHEMA
from factoryos.store.duckdb_store import DuckDBStore

BATCH = 20_000
FILL_BATCH = 1_000_000
T0_US = 1_767_225_600_000_000  # 2026-01-01 UTC
KINDS = np.array(["state", "count", "energy", "sample"], dtype=object)


def events(first: int, n: int) -> pa.Table:
    """Events ``first .. first + n``, one a second, ids shaped like the ingester's."""
    number = np.arange(first, first + n, dtype=np.uint64)
    mixed = (number * np.uint64(0x9E3779B97F4A7C15)) & np.uint64((1 << 64) - 1)
    seqs = (number % 256).tolist()
    ids = [f"in-{h:020x}-{s:03d}" for h, s in zip(mixed.tolist(), seqs, strict=True)]
    kind = KINDS[number % 4]
    columns = {
        "event_id": pa.array(ids, pa.string()),
        "ts": pa.array(T0_US + number.astype(np.int64) * 1_000_000, pa.int64()).cast(
            pa.timestamp("us", tz="UTC")
        ),
        "kind": pa.array(kind, pa.string()),
        "path": pa.array([f"site/a/l{k % 25}/u{k % 7}" for k in number.tolist()], pa.string()),
        "state": pa.array(np.where(kind == "state", "producing", None), pa.string()),
        "product": pa.array(np.where(kind == "count", "robot", None), pa.string()),
        "good": pa.array(np.ones(n, np.int64), mask=kind != "count"),
        "energy_kwh": pa.array(np.full(n, 0.5), mask=kind != "energy"),
        "sensor": pa.array(np.where(kind == "sample", "temp", None), pa.string()),
        "value": pa.array(np.full(n, 21.5), mask=kind != "sample"),
    }
    arrays = [
        columns[f.name].cast(f.type) if f.name in columns else pa.nulls(n, f.type)
        for f in EVENT_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)


def measure(size: int, rounds: int, folder: Path) -> str:
    with DuckDBStore(folder / f"store-{size}.duckdb") as store:
        began = time.perf_counter()
        for first in range(0, size, FILL_BATCH):
            store.append(events(first, min(FILL_BATCH, size - first)))
        fill_s = time.perf_counter() - began
        cpu, wall = [], []
        for k in range(rounds):
            batch = events(size + k * BATCH, BATCH)
            c, w = time.process_time(), time.perf_counter()
            result = store.append(batch)
            cpu.append(time.process_time() - c)
            wall.append(time.perf_counter() - w)
            assert result.inserted == BATCH, result
        again = events(size, BATCH)
        c, w = time.process_time(), time.perf_counter()
        result = store.append(again)
        dup_cpu, dup_wall = time.process_time() - c, time.perf_counter() - w
        assert result.duplicates == BATCH, result
        figures = [statistics.median(cpu), statistics.median(wall), dup_cpu, dup_wall]
        return (
            f"{size:>10,} "
            + " ".join(f"{x * 1e3:>9.0f}" for x in figures)
            + (f"   (fill {fill_s:.0f} s)")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[0, 1_000_000, 4_000_000])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"append of {BATCH:,} events into a DuckDB file of N events, median of {args.rounds}")
    print(f"{'N':>10} {'cpu ms':>9} {'wall ms':>9} {'dup cpu':>9} {'dup wall':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            print(measure(size, args.rounds, Path(tmp)), flush=True)
    print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
