"""APS: OR-Tools CP-SAT models, dispatching rules, large-neighbourhood search, validation.

``solve`` is the entry point: best dispatching rule as warm start, CP-SAT, neighbourhood search.
``solve_baseline`` is the plain CP-SAT model of OR-Tools' examples, kept as the benchmark peer.
"""

from factoryos.schedule.baseline import solve_baseline
from factoryos.schedule.convert import to_schedule
from factoryos.schedule.cpsat import CpSatJobShop, SolverParams
from factoryos.schedule.errors import (
    InstanceFormatError,
    InvalidScheduleError,
    NoSolutionError,
    SchedulingError,
)
from factoryos.schedule.formats import load_instance, parse_fjsp, parse_jssp
from factoryos.schedule.generate import random_fjsp, random_jssp
from factoryos.schedule.lns import LnsConfig, solve
from factoryos.schedule.problem import Alternative, Job, Operation, OpRef, Problem
from factoryos.schedule.rules import RULES, best_rule, dispatch
from factoryos.schedule.solution import Assignment, Objective, Solution, SolveResult, SolveStatus
from factoryos.schedule.validate import Violation, check, validate

__all__ = [
    "RULES",
    "Alternative",
    "Assignment",
    "CpSatJobShop",
    "InstanceFormatError",
    "InvalidScheduleError",
    "Job",
    "LnsConfig",
    "NoSolutionError",
    "Objective",
    "OpRef",
    "Operation",
    "Problem",
    "SchedulingError",
    "Solution",
    "SolveResult",
    "SolveStatus",
    "SolverParams",
    "Violation",
    "best_rule",
    "check",
    "dispatch",
    "load_instance",
    "parse_fjsp",
    "parse_jssp",
    "random_fjsp",
    "random_jssp",
    "solve",
    "solve_baseline",
    "to_schedule",
    "validate",
]
