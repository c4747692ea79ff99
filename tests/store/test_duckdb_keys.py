"""The key set of the DuckDB store's duplicate check, alone: what is added is found, what is
not is not (but for a key's twin), through collisions of first slots, wrap-around and growth."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from factoryos.store.duckdb_keys import KeySet, distinct


def keys(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.uint64)


def test_added_keys_are_found_and_others_not() -> None:
    found = KeySet()
    found.add(keys(5, 7, 2**64 - 1))
    assert found.maybe(keys(5, 6, 7, 2**64 - 1, 8)).tolist() == [True, False, True, True, False]
    assert len(found) == 3


def test_zero_is_a_key_too() -> None:
    """0 marks an empty slot, so a key 0 is kept as 1: found, and 1 with it (a twin)."""
    found = KeySet()
    assert found.maybe(keys(0)).tolist() == [False]
    found.add(keys(0))
    assert found.maybe(keys(0, 1, 2)).tolist() == [True, True, False]


def test_a_table_of_two_slots_grows() -> None:
    """A table of 2 slots, then 10,000 keys: it doubles, every key found, none lost."""
    found = KeySet(2)
    many = np.arange(1, 10_001, dtype=np.uint64) * np.uint64(2**40)  # low bits all zero
    found.add(many[:1])
    found.add(many)
    found.add(many)  # again: nothing new
    assert len(found) == 10_000
    assert found.capacity >= 20_000
    assert found.maybe(many).all()
    assert not found.maybe(many + np.uint64(1)).any()


def test_keys_meeting_at_one_slot_in_one_batch_are_all_kept() -> None:
    """Eight keys (and repeats) into 16 slots in one call: some share a first slot, and a probe
    may wrap past the table's end."""
    found = KeySet(16)
    batch = keys(*range(1, 9), 3, 3)
    found.add(batch)
    assert len(found) == 8
    assert found.maybe(batch).all()
    assert not found.maybe(keys(*range(9, 40))).any()


def test_a_key_set_needs_a_slot() -> None:
    with pytest.raises(ValueError, match="at least one slot, not 0"):
        KeySet(0)


@given(
    st.lists(st.lists(st.integers(0, 2**64 - 1), max_size=40), max_size=6),
    st.lists(st.integers(0, 2**64 - 1), max_size=40),
    st.integers(1, 64),
)
def test_like_a_python_set(batches: list[list[int]], probes: list[int], capacity: int) -> None:
    found = KeySet(capacity)
    expected: set[int] = set()
    for batch in batches:
        found.add(keys(*batch))
        expected |= {k or 1 for k in batch}
    assert len(found) == len(expected)
    every = list(expected) + probes
    assert found.maybe(keys(*every)).tolist() == [(k or 1) in expected for k in every]


def test_distinct_tells_a_repeated_key() -> None:
    assert distinct(keys(1, 2, 3, 2**64 - 1))
    assert not distinct(keys(1, 2, 3, 2))
    assert not distinct(keys(0, 1))  # 0 is kept as 1
    assert distinct(keys())
