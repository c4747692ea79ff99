"""The digital twin: discrete-event simulation of the plant model, emitting the plant's events.

Layers inside: ``core`` (clock and event heap), ``rt`` (real-time subclass), ``streams`` (seeded
per-equipment random streams), ``line`` (serial flow line: the benchmark and theory cases),
``stats`` (confidence intervals).
"""

from factoryos.simulate.core import Environment, StopSimulation
from factoryos.simulate.errors import RealTimeLagError, SimulationError
from factoryos.simulate.line import LineStats, SerialLine, StationState, StationStats
from factoryos.simulate.rt import RealtimeEnvironment
from factoryos.simulate.stats import Interval, mean_interval
from factoryos.simulate.streams import RandomStreams

__all__ = [
    "Environment",
    "Interval",
    "LineStats",
    "RandomStreams",
    "RealTimeLagError",
    "RealtimeEnvironment",
    "SerialLine",
    "SimulationError",
    "StationState",
    "StationStats",
    "StopSimulation",
    "mean_interval",
]
