"""The serial line: same sample path as SimPy, and crisp invariants."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from factoryos.simulate.core import Environment
from factoryos.simulate.line import SerialLine, StationState
from factoryos.simulate.streams import RandomStreams


def simpy_departures(seed: int, means: list[float], buffers: list[int], horizon: float) -> int:
    """The same line written idiomatically in SimPy, fed by the same streams."""
    env = simpy.Environment()
    streams = RandomStreams(seed)
    stores = [simpy.Store(env, capacity=b) for b in buffers]
    done = [0]

    def station(draw: Callable[[], float], i: int) -> simpy.events.ProcessGenerator:
        while True:
            part = env.now if i == 0 else (yield stores[i - 1].get())
            yield env.timeout(draw())
            if i == len(means) - 1:
                done[0] += 1
            else:
                yield stores[i].put(part)

    for i, mean in enumerate(means):
        env.process(station(streams.exponential(f"S{i + 1}", mean), i))
    env.run(until=horizon)
    return done[0]


@pytest.mark.parametrize(
    ("means", "buffers"),
    [([1.0] * 5, [5] * 4), ([1.0, 0.5, 2.0], [1, 3]), ([0.7, 1.3, 1.0, 0.2], [1, 1, 2])],
)
def test_same_sample_path_as_simpy(means: list[float], buffers: list[int]) -> None:
    # SimPy's Store needs capacity >= 1; buffers of 0 are covered by test_invariants.
    env = Environment()
    line = SerialLine(env, RandomStreams(3), means, list(buffers))
    env.run(until_s=5000.0)
    assert line.departures == simpy_departures(3, means, buffers, 5000.0)


def test_rejects_a_buffer_list_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="3 stations need 2 buffers, got 1"):
        SerialLine(Environment(), RandomStreams(1), [1.0, 1.0, 1.0], [2])


@settings(max_examples=40, deadline=None)
@given(
    means=st.lists(st.floats(0.1, 3.0), min_size=1, max_size=5),
    buffer=st.integers(0, 4),
    seed=st.integers(0, 2**32),
    fed=st.booleans(),
)
def test_invariants(means: list[float], buffer: int, seed: int, fed: bool) -> None:
    env = Environment()
    caps: list[int | None] = [buffer] * (len(means) - 1)
    line = SerialLine(env, RandomStreams(seed), means, caps, 1.0 if fed else None)
    env.run(until_s=300.0)
    stats = line.stats()
    for i, (station, s) in enumerate(zip(line.stations, stats.stations, strict=True)):
        assert s.busy_share + s.blocked_share + s.starved_share == pytest.approx(1.0)
        assert min(s.busy_share, s.blocked_share, s.starved_share) >= 0.0
        assert len(station.queue) <= (station.capacity if station.capacity is not None else 10**9)
        if i + 1 < len(line.stations):
            # Done here, not yet downstream: the buffer, one in service there, one held here.
            between = s.completed - stats.stations[i + 1].completed
            assert 0 <= between <= buffer + 2
    assert stats.stations[-1].blocked_share == 0.0
    if not fed:
        assert stats.stations[0].starved_share == 0.0
        assert line.stations[0].state in (StationState.BUSY, StationState.BLOCKED)
    assert stats.departures == stats.stations[-1].completed
