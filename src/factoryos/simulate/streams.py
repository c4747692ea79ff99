"""Seeded random streams, one per equipment and purpose (common random numbers).

Each stream is a child of ``np.random.SeedSequence(seed)`` whose spawn key is the replication
number and a stable hash of the equipment's name and the purpose ("process", "failure",
"quality"...). Adding, removing or changing one machine therefore leaves every other machine's
draws untouched, which is what makes base-versus-scenario comparisons sharp. Python's ``hash()``
is salted per process, so the key comes from BLAKE2b instead.

Variates are drawn from numpy in blocks of ``BLOCK_SIZE`` and handed out one by one by a C-level
iterator: ~0.1 us a draw against ~1 us for a numpy scalar call (measured on the 2-core dev box).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator

import numpy as np

__all__ = ["BLOCK_SIZE", "Draw", "RandomStreams", "stable_key"]

BLOCK_SIZE = 4096

Draw = Callable[[], float]
"""A zero-argument callable returning the next variate of a stream."""


def stable_key(name: str) -> int:
    """A 64-bit key for ``name`` that is the same in every process and Python version."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "little")


def _blocks(draw_block: Callable[[int], np.ndarray], scale: float) -> Iterator[list[float]]:
    while True:
        yield (draw_block(BLOCK_SIZE) * scale).tolist()


def _stream(draw_block: Callable[[int], np.ndarray], scale: float) -> Draw:
    # chain.__next__ walks each block in C; Python runs only once per block.
    return itertools.chain.from_iterable(_blocks(draw_block, scale)).__next__


class RandomStreams:
    """Factory of independent, reproducible streams keyed by (equipment name, purpose)."""

    def __init__(self, seed: int, replication: int = 0) -> None:
        self.seed = int(seed)
        self.replication = int(replication)

    def generator(self, name: str, purpose: str = "process") -> np.random.Generator:
        """The numpy Generator of one equipment and purpose."""
        sequence = np.random.SeedSequence(
            self.seed, spawn_key=(self.replication, stable_key(name), stable_key(purpose))
        )
        return np.random.Generator(np.random.PCG64(sequence))

    def exponential(self, name: str, mean_s: float, purpose: str = "process") -> Draw:
        """Exponential variates with mean ``mean_s``."""
        gen = self.generator(name, purpose)
        return _stream(gen.standard_exponential, mean_s)

    def uniform(self, name: str, purpose: str) -> Draw:
        """Uniform variates on [0, 1)."""
        gen = self.generator(name, purpose)
        return _stream(gen.random, 1.0)
