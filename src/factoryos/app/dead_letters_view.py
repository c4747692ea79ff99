"""Dead letters (what a live source sent that could not be stored), read for the dashboard.

The ingester keeps them beside the event store (:func:`factoryos.app.ingesting.dead_letter_path`),
one file per ingester, not per site: a server of several sites does not show them, so that one
site's messages never reach another site's users. The file is opened when first asked for; while
an ingester in another process holds it, reading it fails with a message saying so.
"""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from typing import Any

from factoryos.app.ingesting import dead_letter_path, open_dead_letters
from factoryos.app.settings import Settings
from factoryos.model.errors import FactoryosError, StoreError
from factoryos.store.deadletters import DeadLetterStore

__all__ = ["DeadLetters"]

PREVIEW = 200  # payload bytes shown


class DeadLetters:
    """The dead letters of the store at ``db``, opened lazily."""

    def __init__(self, db: str) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._store: DeadLetterStore | None = None

    def _open(self) -> DeadLetterStore | None:
        with self._lock:
            if self._store is None:
                path = dead_letter_path(Settings(db=self._db))
                if path == ":memory:" or not Path(path).exists():
                    return None
                try:
                    self._store = open_dead_letters(Settings(db=self._db))
                except StoreError as exc:
                    raise FactoryosError(f"dead letters are not readable now: {exc}") from exc
            return self._store

    def page(self, *, limit: int, replayed: bool) -> dict[str, Any]:
        store = self._open()
        if store is None:
            return {"count": 0, "items": []}
        return {
            "count": store.count(replayed=replayed),
            "items": [
                {
                    "letter_id": d.letter_id,
                    "received_at": d.received_at.isoformat(),
                    "protocol": d.protocol,
                    "topic": d.topic,
                    "reason": d.reason,
                    "reading": d.reading,
                    "payload_base64": base64.b64encode(d.payload[:PREVIEW]).decode(),
                    "payload_bytes": len(d.payload),
                    "replayed_at": d.replayed_at.isoformat() if d.replayed_at else None,
                }
                for d in store.letters(limit=limit, replayed=replayed)
            ],
        }

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
