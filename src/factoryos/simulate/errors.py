"""Errors of the twin, in the one exception tree of ``factoryos.model.errors``.

    FactoryosError
     +-- SimulationError         the twin cannot run the model as given (from factoryos.model)
          +-- RealTimeLagError   a strict real-time run fell behind the wall clock

Control-flow signals of the core (``StopSimulation``, ``EmptySchedule``) live in
:mod:`factoryos.simulate.core` and are not errors.
"""

from __future__ import annotations

from factoryos.model.errors import SimulationError

__all__ = ["RealTimeLagError", "SimulationError"]


class RealTimeLagError(SimulationError):
    """A strict real-time run could not keep up with the wall clock."""

    def __init__(self, sim_time_s: float, lag_s: float) -> None:
        super().__init__(
            f"simulation is {lag_s:.3f} s behind the wall clock at t={sim_time_s:.3f} s; "
            "lower the speed factor or run with strict=False"
        )
        self.sim_time_s = sim_time_s
        self.lag_s = lag_s
