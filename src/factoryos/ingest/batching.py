"""The batch loop every live source shares: take messages, close batches, commit, acknowledge.

A source's network thread puts each message into :attr:`BatchLoop.inbox` as a function of the
pipeline and the arrival time; the loop (the caller's thread) applies them in order. A batch
closes at ``batch_events`` events and letters, or ``batch_s`` after its first message; it is
committed (events, then letters and session) and only then are its messages acknowledged.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from factoryos.ingest.pipeline import Batch, Pipeline


@dataclass(frozen=True)
class IngestOptions:
    host_id: str = "factoryos"
    batch_events: int = 20_000
    batch_s: float = 0.2
    session_expiry_s: int = 7 * 86400


@dataclass(frozen=True)
class Committed:
    """What a commit stored: new events, events already there, new dead letters."""

    inserted: int
    duplicates: int
    letters: int


Commit = Callable[[Batch, dict[str, str]], Committed]
"""Stores a batch (events, then dead letters with the session documents) in that order."""

Progress = Callable[[Pipeline, int, Batch, int], None]
"""Hears the pipeline, the messages waiting, a batch just committed and the commit time (ms)."""

Message = Callable[[Pipeline, int], None]
"""One message: applied to the pipeline at its arrival time (ms)."""


class BatchLoop:
    """Applies messages to a pipeline in batches until stopped; see the module docstring."""

    def __init__(
        self,
        pipeline: Pipeline,
        commit: Commit,
        options: IngestOptions,
        on_batch: Progress | None = None,
        acknowledge: Callable[[list[Any]], None] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.commit = commit
        self.options = options
        self.on_batch = on_batch
        self.acknowledge = acknowledge
        self.inbox: queue.SimpleQueue[Message] = queue.SimpleQueue()

    def run(self, stop: threading.Event) -> None:
        """Until ``stop`` is set and the inbox is empty; the last batch is committed."""
        pipeline = self.pipeline
        limit, span_ms = self.options.batch_events, self.options.batch_s * 1000
        while True:
            stopping = stop.is_set()
            try:
                message = self.inbox.get(timeout=0.05)
            except queue.Empty:
                batch = pipeline.batch
                if batch.tokens and (stopping or now_ms() - (batch.first_ms or 0) >= span_ms):
                    self._commit()
                if stopping:
                    return
                continue
            now = now_ms()
            message(pipeline, now)
            batch = pipeline.batch
            if (
                len(batch.events) + len(batch.letters) >= limit
                or now - (batch.first_ms or now) >= span_ms
            ):
                self._commit()

    def _commit(self) -> None:
        pipeline = self.pipeline
        batch = pipeline.take()
        done = self.commit(batch, pipeline.session())
        pipeline.committed(batch, done.inserted, done.duplicates, done.letters)
        if self.acknowledge is not None:
            self.acknowledge(batch.tokens)
        if self.on_batch is not None:
            self.on_batch(pipeline, self.inbox.qsize(), batch, now_ms())


def now_ms() -> int:
    return time.time_ns() // 1_000_000
