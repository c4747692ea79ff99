"""The digital twin: discrete-event simulation of the plant model, emitting the plant's events.

Inside: ``core`` (clock and event heap), ``rt`` (real-time subclass), ``streams`` (seeded
per-work-unit random streams), ``line`` (serial flow line: the benchmark and theory cases),
``demand`` (orders), ``units`` and ``twin`` (the plant executor), ``results`` (figures and the
active-period bottleneck), ``replicate`` (replications, intervals, paired comparison), ``stats``.
See docs/twin.md.
"""

from factoryos.simulate.core import Environment, StopSimulation
from factoryos.simulate.demand import ProductionOrder, steady_demand
from factoryos.simulate.errors import RealTimeLagError, SimulationError
from factoryos.simulate.line import LineStats, SerialLine, StationState, StationStats
from factoryos.simulate.replicate import (
    Comparison,
    RunSpec,
    compare,
    run_replications,
    summarize,
)
from factoryos.simulate.results import (
    BottleneckShare,
    PoolStats,
    TwinResult,
    bottleneck_analysis,
    bottleneck_shares,
)
from factoryos.simulate.rt import RealtimeEnvironment
from factoryos.simulate.stats import Interval, mean_interval
from factoryos.simulate.streams import RandomStreams
from factoryos.simulate.twin import DispatchRule, EventSink, PlantTwin

__all__ = [
    "BottleneckShare",
    "Comparison",
    "DispatchRule",
    "Environment",
    "EventSink",
    "Interval",
    "LineStats",
    "PlantTwin",
    "PoolStats",
    "ProductionOrder",
    "RandomStreams",
    "RealTimeLagError",
    "RealtimeEnvironment",
    "RunSpec",
    "SerialLine",
    "SimulationError",
    "StationState",
    "StationStats",
    "StopSimulation",
    "TwinResult",
    "bottleneck_analysis",
    "bottleneck_shares",
    "compare",
    "mean_interval",
    "run_replications",
    "steady_demand",
    "summarize",
]
