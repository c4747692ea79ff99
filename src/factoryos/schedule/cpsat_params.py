"""How CP-SAT may search (time, workers, presolve settings) and a handle to stop a running
search from another thread; shared by every model of :mod:`factoryos.schedule.cpsat`."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from ortools.sat.python import cp_model

__all__ = ["SearchWatch", "SolverParams", "status_name"]


@dataclass(frozen=True, slots=True)
class SolverParams:
    """How long and with how many threads CP-SAT may search."""

    time_limit_s: float = 60.0
    num_workers: int = 2
    seed: int = 0
    log: bool = False
    ignore_subsolvers: tuple[str, ...] = ()
    """CP-SAT subsolvers to skip (names as in the CP-SAT log)."""
    probing: bool = True
    """Presolve probing; off for short decomposition and repair steps, where it can take a
    step's budget. Off also means strong disjunctive propagation, no root LP and no symmetry
    detection: with probing level 0 and CP-SAT 9.15's default no-overlap propagation, plant
    steps ended INFEASIBLE although their hint was feasible, or "optimal" 7 % above the optimum
    CP-SAT proves with probing (1 and 2 workers); with strong propagation they match it."""
    presolve: bool = True
    """Off for decomposition steps on units with their own time off: presolve of a 100-operation
    electronics step (5,000 fixed intervals of time off, circuits) took 4.9 s, so every 2 s step
    ended UNKNOWN; without it the step starts from its (complete, feasible) hint at once."""


class SearchWatch(cp_model.CpSolverSolutionCallback):
    """Lets another thread read a running solve's best objective and stop the solve."""

    def __init__(self) -> None:
        super().__init__()
        self.best = math.inf
        self._lock = threading.Lock()
        self._solver: cp_model.CpSolver | None = None
        self._stopped = False

    def on_solution_callback(self) -> None:
        self.best = self.ObjectiveValue()
        if self._stopped:  # asked to stop before the solve had started
            self.StopSearch()

    def attach(self, solver: cp_model.CpSolver) -> None:
        with self._lock:
            self._solver = solver

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._solver is not None:
                self._solver.stop_search()


def status_name(status: int) -> str:
    return str(cp_model.CpSolver().status_name(status))
