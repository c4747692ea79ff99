"""Parse the times people type on the command line."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from factoryos.model.errors import FactoryosError


def parse_instant(text: str | None, zone: ZoneInfo, option: str) -> dt.datetime | None:
    """``2026-01-05`` is local midnight in the plant's zone; a date-time must carry its zone."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(0), zone)
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise FactoryosError(f"{option}: {text!r} is neither a date nor an ISO date-time") from exc
    if value.tzinfo is None:
        raise FactoryosError(
            f"{option}: {text!r} has no time zone; add one (e.g. +08:00 or Z) or give a date"
        )
    return value
