"""The numpy steps of the raw reads (postgres_columns), each of their two ways."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from factoryos.store import postgres_columns
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


@given(
    rows=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3), st.integers(-5, 5)), max_size=40),
    size=st.sampled_from([3, 20_000]),  # 4 x 3 codes counted in place, 80,000 sorted
)
def test_sums_by_code_are_those_of_each_distinct_code_in_ascending_order(
    rows: list[tuple[int, int, int]], size: int
) -> None:
    want: dict[tuple[int, int], list[int]] = {}
    for a, b, w in rows:
        want.setdefault((a, b), []).append(w)
    first = np.array([a for a, _, _ in rows], np.int64)
    second = np.array([b for _, b, _ in rows], np.int64)
    weight = np.array([w for _, _, w in rows], np.int64)
    keys, (summed,) = postgres_columns._sums([second, first], (4, size), [weight])
    assert keys == sorted((b, a) for a, b in want)
    assert summed.tolist() == [sum(want[a, b]) for b, a in keys]  # zero sums kept
