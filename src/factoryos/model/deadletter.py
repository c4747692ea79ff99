"""A dead letter: what a live source sent that could not become an event, and why.

Shared by the ingest adapters (which make them) and the stores (which keep them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message, or one value of it (``reading``: the decoded value as JSON), not stored.

    ``letter_id`` is derived from the message, so a redelivered message is the same letter.
    """

    letter_id: str
    received_at: dt.datetime
    protocol: str
    topic: str
    payload: bytes
    reason: str
    reading: str | None = None
    replayed_at: dt.datetime | None = None
