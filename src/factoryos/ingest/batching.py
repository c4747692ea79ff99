"""The batch loop every live source shares: take messages, close batches, commit, acknowledge.

A source's network thread hands each message to :meth:`BatchLoop.offer`, which applies it to the
pipeline at once, in that thread: no queue and no thread switch per message (that hand-off cost
more than decoding a message). A batch closes at ``batch_events`` events and letters, or
``batch_s`` after its first message; :meth:`BatchLoop.run` (the caller's thread, the writer)
commits closed batches in order (events, then letters and session) and only then acknowledges
their messages. Storing runs beside the decoding of the next batch: the stores spend most of a
commit in C (DuckDB, the PostgreSQL socket) without Python's lock.

Under load the batches grow: a batch closes on time only while the writer is idle, so when
commits fall behind, the next batch keeps filling up to ``batch_events`` (fewer, larger commits,
cheaper per event), and the network thread waits while ``MAX_CLOSED`` batches are already waiting
(the broker then holds the rest: QoS 1 messages wait in its queue, nothing is lost).
"""

from __future__ import annotations

import collections
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
"""Hears the pipeline, the messages taken and not yet committed, a batch just committed and the
commit time (ms)."""

MAX_CLOSED = 2
"""Closed batches waiting for the writer before the network thread waits too."""


class BatchLoop:
    """Applies messages to a pipeline and commits its batches until stopped; see the module
    docstring. ``offer`` may be called from any thread; ``run`` is the writer."""

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
        # Guards the pipeline and the closed batches; the writer waits on it for work, the
        # network thread for room.
        self._cond = threading.Condition()
        self._closed: collections.deque[tuple[Batch, dict[str, str]]] = collections.deque()
        self._writing = False
        self._stopped = False  # the writer is gone: messages are left to the broker's redelivery
        self._limit = options.batch_events
        self._span_ms = options.batch_s * 1000

    def offer(self, message: Callable[..., None], *args: Any) -> None:
        """Apply ``message(pipeline, now_ms, *args)`` now; close the batch when it is full, or
        old and the writer idle."""
        with self._cond:
            if self._stopped:
                return  # not taken, so never acknowledged: the broker sends it again
            now = now_ms()
            message(self.pipeline, now, *args)
            batch = self.pipeline.batch
            if self._full():
                while len(self._closed) >= MAX_CLOSED and not self._stopped:
                    self._cond.wait()
                # another thread's offer (the ticker's) may have closed it while this one waited
                if self._full():
                    self._close()
            elif (
                not self._writing
                and not self._closed
                and now - (batch.first_ms or now) >= self._span_ms
            ):
                self._close()

    def _full(self) -> bool:
        batch = self.pipeline.batch
        return len(batch.events) + len(batch.letters) >= self._limit

    def _close(self) -> None:
        """The current batch and the session after it to the writer (the lock is held)."""
        pipeline = self.pipeline
        self._closed.append((pipeline.take(), pipeline.session()))
        self._cond.notify_all()

    def run(self, stop: threading.Event) -> None:
        """Commit closed batches in order until ``stop`` is set; then the last one too."""
        try:
            self._write(stop)
        finally:
            with self._cond:
                self._stopped = True
                self._cond.notify_all()

    def _write(self, stop: threading.Event) -> None:
        cond = self._cond
        while True:
            with cond:
                if not self._closed:
                    stopping = stop.is_set()
                    batch = self.pipeline.batch
                    if batch.tokens and (
                        stopping or now_ms() - (batch.first_ms or 0) >= self._span_ms
                    ):
                        self._close()
                    elif stopping:
                        return
                    else:
                        cond.wait(0.05)
                        continue
                batch, session = self._closed.popleft()
                self._writing = True
                cond.notify_all()
            try:
                self._commit(batch, session)
            finally:
                with cond:
                    self._writing = False

    def _commit(self, batch: Batch, session: dict[str, str]) -> None:
        pipeline = self.pipeline
        done = self.commit(batch, session)
        pipeline.committed(batch, done.inserted, done.duplicates, done.letters)
        if self.acknowledge is not None:
            self.acknowledge(batch.tokens)
        if self.on_batch is not None:
            self.on_batch(pipeline, len(pipeline.batch.tokens), batch, now_ms())


def now_ms() -> int:
    return time.time_ns() // 1_000_000
