"""The twin's exception tree.

    SimulationError
    ├── RealTimeLagError     the real-time clock fell behind the wall clock (strict mode)
    └── ModelError           the plant model cannot be simulated as given (quotes the value)

Control-flow signals of the core (``StopSimulation``, ``EmptySchedule``) live in
:mod:`factoryos.simulate.core` and are not errors.
"""

from __future__ import annotations

__all__ = ["ModelError", "RealTimeLagError", "SimulationError"]


class SimulationError(Exception):
    """Base of every error raised by ``factoryos.simulate``."""


class RealTimeLagError(SimulationError):
    """A strict real-time run could not keep up with the wall clock."""

    def __init__(self, sim_time_s: float, lag_s: float) -> None:
        super().__init__(
            f"simulation is {lag_s:.3f} s behind the wall clock at t={sim_time_s:.3f} s; "
            "lower the speed factor or run with strict=False"
        )
        self.sim_time_s = sim_time_s
        self.lag_s = lag_s


class ModelError(SimulationError):
    """The plant model holds something the twin cannot execute."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
