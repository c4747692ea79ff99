"""The stable (unit, instant) order of the raw reads' events, both ways of sorting."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from factoryos.store.postgres_columns import unit_time_order


@given(
    events=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 50)), max_size=60),
    span=st.sampled_from([51, 2**61]),  # as one integer, and too long for it
)
def test_events_sort_by_unit_then_instant_keeping_their_order_on_ties(
    events: list[tuple[int, int]], span: int
) -> None:
    first = -(2**40)
    unit = np.array([u for u, _ in events], np.int64)
    ts = np.array([first + t for _, t in events], np.int64)
    got = unit_time_order(unit, ts, first, first + span, 5).tolist()
    assert got == sorted(range(len(events)), key=lambda n: (*events[n], n))
