"""APS: OR-Tools CP-SAT models, dispatching rules, large-neighbourhood search, validation.

``solve`` is the entry point: best dispatching rule as warm start, CP-SAT, neighbourhood search.
``solve_baseline`` is the plain CP-SAT model of OR-Tools' examples, kept as the benchmark peer.
"""

from factoryos.schedule.baseline import solve_baseline
from factoryos.schedule.convert import to_schedule
from factoryos.schedule.cpsat import CpSatJobShop, SolverParams
from factoryos.schedule.decompose import DecomposeConfig, solve_by_orders
from factoryos.schedule.errors import (
    InstanceFormatError,
    InvalidScheduleError,
    NoSolutionError,
    SchedulingError,
)
from factoryos.schedule.formats import load_instance, parse_fjsp, parse_jssp
from factoryos.schedule.generate import random_fjsp, random_jssp, with_families
from factoryos.schedule.kpis import plan_kpis
from factoryos.schedule.lexicographic import LexicographicResult, solve_lexicographic
from factoryos.schedule.lns import LnsConfig, solve
from factoryos.schedule.orders import Order, PlantProblem, build_problem, read_orders
from factoryos.schedule.problem import Alternative, EnergyPrices, Job, Operation, OpRef, Problem
from factoryos.schedule.repair import Disruption, RepairResult, repair
from factoryos.schedule.right_shift import right_shift
from factoryos.schedule.rules import RULES, RuleRun, best_rule, dispatch, rules_within, serial
from factoryos.schedule.solution import Assignment, Objective, Solution, SolveResult, SolveStatus
from factoryos.schedule.validate import Violation, check, validate

__all__ = [
    "RULES",
    "Alternative",
    "Assignment",
    "CpSatJobShop",
    "DecomposeConfig",
    "Disruption",
    "EnergyPrices",
    "InstanceFormatError",
    "InvalidScheduleError",
    "Job",
    "LexicographicResult",
    "LnsConfig",
    "NoSolutionError",
    "Objective",
    "OpRef",
    "Operation",
    "Order",
    "PlantProblem",
    "Problem",
    "RepairResult",
    "RuleRun",
    "SchedulingError",
    "Solution",
    "SolveResult",
    "SolveStatus",
    "SolverParams",
    "Violation",
    "best_rule",
    "build_problem",
    "check",
    "dispatch",
    "load_instance",
    "parse_fjsp",
    "parse_jssp",
    "plan_kpis",
    "random_fjsp",
    "random_jssp",
    "read_orders",
    "repair",
    "right_shift",
    "rules_within",
    "serial",
    "solve",
    "solve_baseline",
    "solve_by_orders",
    "solve_lexicographic",
    "to_schedule",
    "validate",
    "with_families",
]
