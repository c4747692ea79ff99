"""An ingester in its own process, for the tests that kill it: python ingester_process.py
MAPPING PLANT DB BROKER. Stops (draining and committing) on SIGTERM."""

from __future__ import annotations

import signal
import sys
import threading

from factoryos.app.ingesting import run_ingest
from factoryos.app.settings import Settings
from factoryos.ingest.mapping import load_mapping
from factoryos.ingest.mqtt import IngestOptions
from factoryos.model import load_plant


def main() -> None:
    mapping, plant, db, broker = sys.argv[1:5]
    stop = threading.Event()
    said: list[bool] = []

    def first_batch(*_: object) -> None:
        if not said:
            said.append(True)
            print("ingesting", flush=True)  # the tests kill it only after this

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    counts = run_ingest(
        Settings(db=db),
        load_mapping(mapping),
        load_plant(plant),
        broker,
        stop,
        options=IngestOptions(batch_s=0.05),
        on_batch=first_batch,
    )
    print(counts.line(), flush=True)


if __name__ == "__main__":
    main()
