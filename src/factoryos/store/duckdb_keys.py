"""The DuckDB store's duplicate check: an in-memory set of the 64-bit keys of the stored ids.

A key is DuckDB's ``hash()`` of an id, computed by the same DuckDB for what is stored and for
what is checked; the set lives only in the process that built it, so the hash need not be stable
across DuckDB versions. The set answers "maybe stored": a key it holds may belong to another
id (a 64-bit collision), so the store looks such ids up in its tables; a key it lacks is a new
id for certain. It is an open-addressing table in numpy (linear probing, at most half full),
probed and filled a whole batch of keys at a time: a batch costs a few vectorised passes
whatever the store's size, where DuckDB's ART index on a key table cost an MD5 and a tree
insert per id (docs/store.md).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Keys = npt.NDArray[np.uint64]

KEY_SQL = "hash(event_id)"
"""The key of an id, as DuckDB computes it (a UBIGINT)."""

_EMPTY = np.uint64(0)  # an empty slot; a key 0 is stored as 1 (one more "maybe", no loss)
_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)  # spreads keys whose low bits agree over the table
_SMALLEST = 1 << 10


class KeySet:
    """Keys seen so far; :meth:`maybe` tells which of a batch's keys may be among them."""

    def __init__(self, capacity: int = _SMALLEST) -> None:
        """``capacity``: slots at first, rounded up to a power of two (it doubles as keys come,
        so that the table stays at most half full)."""
        if capacity < 1:
            raise ValueError(f"a key set needs at least one slot, not {capacity}")
        self._bits = max(int(capacity - 1).bit_length(), 1)
        self._slots: Keys = np.zeros(1 << self._bits, dtype=np.uint64)
        self._most = 0  # keys held at most (repeats counted: exact only when counted again)

    def __len__(self) -> int:
        return int(np.count_nonzero(self._slots))

    @property
    def capacity(self) -> int:
        return len(self._slots)

    def maybe(self, keys: Keys) -> npt.NDArray[np.bool_]:
        """For each key, whether it was added (True may also be another key's twin: a lookup
        decides; False is certain)."""
        keys = _nonzero(keys)
        found = np.zeros(len(keys), dtype=np.bool_)
        todo = np.arange(len(keys))
        where = self._home(keys)
        mask = np.uint64(len(self._slots) - 1)
        while len(todo):
            seen = self._slots[where]
            hit = seen == keys[todo]
            found[todo[hit]] = True
            # a key goes on past slots holding other keys, and stops at an empty one
            going = ~hit & (seen != _EMPTY)
            todo = todo[going]
            where = (where[going] + np.uint64(1)) & mask
        return found

    def add(self, keys: Keys) -> None:
        """Add the keys (repeats, and keys already there, are kept once)."""
        keys = _nonzero(keys)
        if 2 * (self._most + len(keys)) > len(self._slots):
            self._most = len(self)  # counted only now: a count per add would cost a sort
            if 2 * (self._most + len(keys)) > len(self._slots):
                self._grow(self._most + len(keys))
        self._most += len(keys)
        where = self._home(keys)
        mask = np.uint64(len(self._slots) - 1)
        while len(keys):
            seen = self._slots[where]
            free = seen == _EMPTY
            # keys that meet at one free slot: numpy keeps the last write, the others go on
            self._slots[where[free]] = keys[free]
            going = self._slots[where] != keys
            keys = keys[going]
            where = (where[going] + np.uint64(1)) & mask

    def _grow(self, wanted: int) -> None:
        held = self._slots[self._slots != _EMPTY]
        self._bits = max(self._bits, (2 * wanted - 1).bit_length())
        self._slots = np.zeros(1 << self._bits, dtype=np.uint64)
        self._most = 0
        self.add(held)

    def _home(self, keys: Keys) -> Keys:
        """Each key's first slot: the top bits of a multiplicative hash (Fibonacci hashing)."""
        return (keys * _FIBONACCI) >> np.uint64(64 - self._bits)


def distinct(keys: Keys) -> bool:
    """Whether no key repeats (a set of the keys alone: ~5x cheaper than ``np.unique``)."""
    own = KeySet(max(2 * len(keys), 1))
    own.add(keys)
    return len(own) == len(keys)


def _nonzero(keys: Keys) -> Keys:
    keys = np.asarray(keys, dtype=np.uint64)
    return np.where(keys == _EMPTY, np.uint64(1), keys) if (keys == _EMPTY).any() else keys
