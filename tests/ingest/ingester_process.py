"""An ingester in its own process, for the tests that kill it: python ingester_process.py
MAPPING PLANT DB BROKER [LETTERS]. Stops (draining and committing) on SIGTERM, even one that
comes while it is still importing."""

from __future__ import annotations

import signal
import sys
import threading

STOP = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: STOP.set())  # first: imports take seconds under load

from factoryos.app.ingesting import run_ingest  # noqa: E402
from factoryos.app.settings import Settings  # noqa: E402
from factoryos.ingest.batching import IngestOptions  # noqa: E402
from factoryos.ingest.mapping import load_mapping  # noqa: E402
from factoryos.model import load_plant  # noqa: E402


def main() -> None:
    mapping, plant, db, broker = sys.argv[1:5]
    said: list[bool] = []

    def first_batch(*_: object) -> None:
        if not said:
            said.append(True)
            print("ingesting", flush=True)  # the tests kill it only after this

    counts = run_ingest(
        Settings(db=db),
        load_mapping(mapping),
        load_plant(plant),
        broker,
        STOP,
        options=IngestOptions(batch_s=0.05),
        on_batch=first_batch,
        letters_path=sys.argv[5] if len(sys.argv) > 5 else None,
    )
    print(counts.line(), flush=True)


if __name__ == "__main__":
    main()
