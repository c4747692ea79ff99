"""Exactly once under faults, repeated: the ingester killed with SIGKILL ``--kills`` times while an
edge node streams Sparkplug B through the plant Mosquitto; then stored = published?

Each kill comes 0.2-1.0 s after the (re)started ingester committed its first batch. Prints the
published and stored values, the distinct event ids, the dead letters and the time taken.

    .venv/bin/python bench/ingest_faults.py                 # 20 kills, 24,000 messages
    .venv/bin/python bench/ingest_faults.py --kills 5 --messages 4000
"""

from __future__ import annotations

import random
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.ingest.conftest import PlantBroker, _free_port, wait_online
from tests.ingest.edge import METRICS, EdgeNode
from tests.ingest.test_exactly_once import Ingester

console = Console()


def main(
    kills: Annotated[int, typer.Option(help="SIGKILLs of the ingester mid-stream.")] = 20,
    messages: Annotated[int, typer.Option(help="DDATA messages of 10 metrics.")] = 24_000,
    every_s: Annotated[float, typer.Option(help="Seconds between messages.")] = 0.004,
) -> None:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        broker = PlantBroker(_free_port(), workdir)
        broker.start()
        try:
            ingester = Ingester(workdir, broker)
            ingester.start()
            wait_online(broker.port, {"factoryos"})
            edge = EdgeNode(broker.port, messages, every_s)
            edge.start()
            rng = random.Random(14)
            done = 0
            for _ in range(kills):
                ingester.wait_ingesting()
                time.sleep(rng.uniform(0.2, 1.0))
                ingester.signal(signal.SIGKILL)
                done += 1
                ingester.start()
                if not edge.thread.is_alive():
                    console.print("[yellow]the stream ended before the last kill[/]")
                    break
            edge.join()
            published = messages * len(METRICS)
            ingester.finish(published)
            stored, distinct = ingester.stored()
            letters = ingester.dead_letters()
        finally:
            broker.stop()
    console.print(
        f"{done} SIGKILLs mid-stream: published {published:,} values, stored {stored:,} "
        f"({distinct:,} distinct ids, so {stored - distinct} duplicated), dead letters {letters}, "
        f"lost {published - stored:,}; {time.perf_counter() - started:.0f} s",
        highlight=False,
    )


if __name__ == "__main__":
    typer.run(main)
