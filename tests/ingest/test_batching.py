"""The batch loop: batches close when full, in order, and a full batch is closed once even when
two threads offered to it while the writer was behind."""

from __future__ import annotations

import threading
import time
from typing import Any

from factoryos.ingest.batching import MAX_CLOSED, BatchLoop, Committed, IngestOptions
from factoryos.ingest.mapping import load_mapping_text
from factoryos.ingest.pipeline import MAX_PAYLOAD, Batch, Pipeline
from tests.ingest.edge import MAPPING

OVERSIZE = b"x" * (MAX_PAYLOAD + 1)  # one dead letter and one token a message


def _letter(pipeline: Pipeline, now_ms: int, token: int) -> None:
    pipeline.mqtt_json("plant/meter", OVERSIZE, now_ms, token)


def _nothing(_pipeline: Pipeline, _now_ms: int) -> None:
    """What the ticker offers when no held message expires."""


def test_a_full_batch_is_closed_once_by_two_waiting_offers() -> None:
    committed: list[list[Any]] = []
    release = threading.Event()

    def commit(batch: Batch, _session: dict[str, str]) -> Committed:
        release.wait(10)  # the writer falls behind until released
        committed.append(list(batch.tokens))
        return Committed(0, 0, len(batch.letters))

    pipeline = Pipeline(load_mapping_text(MAPPING), None)
    loop = BatchLoop(pipeline, commit, IngestOptions(batch_events=2, batch_s=3600))
    stop = threading.Event()
    writer = threading.Thread(target=loop.run, args=(stop,))
    writer.start()
    for token in range(2 * (MAX_CLOSED + 1)):  # one batch in the writer, MAX_CLOSED waiting
        loop.offer(_letter, token)
    # the next batch fills up while MAX_CLOSED wait: its offer waits for room, and so does the
    # ticker's, which finds the same batch full
    network = threading.Thread(target=lambda: [loop.offer(_letter, t) for t in (6, 7)])
    ticker = threading.Thread(target=loop.offer, args=(_nothing,))
    network.start()
    time.sleep(0.2)
    ticker.start()
    time.sleep(0.2)
    assert network.is_alive() and ticker.is_alive()  # both wait for room
    release.set()
    network.join(10)
    ticker.join(10)
    stop.set()
    writer.join(10)
    assert committed == [[0, 1], [2, 3], [4, 5], [6, 7]]  # no empty batch after the full one
