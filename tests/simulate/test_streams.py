"""Random streams: reproducible, and independent per equipment (common random numbers)."""

from __future__ import annotations

from factoryos.simulate.streams import BLOCK_SIZE, RandomStreams, stable_key


def take(draw: object, n: int) -> list[float]:
    assert callable(draw)
    return [draw() for _ in range(n)]


def test_same_seed_same_draws_across_block_boundaries() -> None:
    n = BLOCK_SIZE + 10
    a = take(RandomStreams(7).exponential("press-1", 2.0), n)
    b = take(RandomStreams(7).exponential("press-1", 2.0), n)
    assert a == b
    assert len(set(a)) == n


def test_mean_scales_the_same_underlying_variates() -> None:
    a = take(RandomStreams(7).exponential("press-1", 1.0), 100)
    b = take(RandomStreams(7).exponential("press-1", 3.0), 100)
    assert b == [3.0 * x for x in a]


def test_streams_depend_on_name_purpose_seed_and_replication_only() -> None:
    base = take(RandomStreams(7).exponential("press-1", 1.0), 50)
    # Creating other streams first (another machine added to the plant) changes nothing.
    streams = RandomStreams(7)
    take(streams.exponential("new-robot-cell", 1.0), 1000)
    assert take(streams.exponential("press-1", 1.0), 50) == base
    assert take(RandomStreams(7).exponential("press-2", 1.0), 50) != base
    assert take(RandomStreams(7).exponential("press-1", 1.0, "failure"), 50) != base
    assert take(RandomStreams(8).exponential("press-1", 1.0), 50) != base
    assert take(RandomStreams(7, replication=1).exponential("press-1", 1.0), 50) != base


def test_stable_key_is_fixed_across_processes() -> None:
    # A constant, not hash(): would change with PYTHONHASHSEED.
    assert stable_key("press-1") == 0x2FDAE501380135F6


def test_uniform_lies_in_unit_interval() -> None:
    values = take(RandomStreams(1).uniform("qa", "quality"), 5000)
    assert all(0.0 <= v < 1.0 for v in values)
    assert abs(sum(values) / len(values) - 0.5) < 0.02
