"""Ingested events' ids (``convert.event_id``): derived from the reading, instant first.

The compiled decoder makes the same ids as the Python paths (``test_spcolumns.py``,
``test_spdata.py``); here the form itself: what it is made of, and the two orders the store
relies on (time first for the id registry's index, the ident among readings of one metric at
one instant).
"""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from factoryos.ingest.convert import Protocol, Reading

_MS = st.integers(0, 2**48 - 1)
_IDENT = st.builds(lambda s, i: f"{s:03d}.{i:03d}", st.integers(0, 255), st.integers(0, 999))
_NAME = st.text(min_size=1, max_size=12)


def _reading(source: str, metric: str, ts_ms: int, ident: str) -> Reading:
    return Reading(Protocol.SPARKPLUG, source, metric, ts_ms, 1.0, {}, ident)


def test_an_id_is_the_instant_the_source_and_metric_and_the_ident() -> None:
    digest = hashlib.blake2b(b"cell/line.one/d0|temp", digest_size=8).hexdigest()[:15]
    reading = _reading("cell/line.one/d0", "temp", 1_780_000_000_123, "002.007")
    assert reading.event_id() == f"in-019e7044887b-{digest}-002.007"
    assert len(reading.event_id()) == 39  # PostgreSQL's 48-byte index entry (metric_digest)
    assert _reading("cell/line.one/d0", "temp", 5, "").event_id() == f"in-000000000005-{digest}-"


@given(
    a=_MS,
    b=_MS,
    sources=st.tuples(_NAME, _NAME),
    metrics=st.tuples(_NAME, _NAME),
    idents=st.tuples(_IDENT, _IDENT),
)
def test_ids_rise_with_time_whatever_the_source(
    a: int, b: int, sources: tuple[str, str], metrics: tuple[str, str], idents: tuple[str, str]
) -> None:
    """An earlier reading's id sorts first, so a registry of ids grows at its right edge."""
    first = _reading(sources[0], metrics[0], a, idents[0]).event_id()
    second = _reading(sources[1], metrics[1], b, idents[1]).event_id()
    if a != b:
        assert (first < second) == (a < b)
    elif (sources[0], metrics[0], idents[0]) != (sources[1], metrics[1], idents[1]):
        assert first != second


@given(ts=st.integers(-(2**40), 2**60), idents=st.tuples(_IDENT, _IDENT))
def test_one_metric_at_one_instant_is_ordered_by_ident(ts: int, idents: tuple[str, str]) -> None:
    """The order they were sent in (a Sparkplug seq, then the metric's place in its message)."""
    first = _reading("g/n/d", "m", ts, idents[0]).event_id()
    second = _reading("g/n/d", "m", ts, idents[1]).event_id()
    assert (first < second) == (idents[0] < idents[1])
    assert (first == second) == (idents[0] == idents[1])
