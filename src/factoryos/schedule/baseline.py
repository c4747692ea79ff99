"""The plain CP-SAT job shop, as in OR-Tools' own examples: the benchmark's peer.

Follows ``examples/python/jobshop_ft06_sat.py`` and ``flexible_job_shop_sat.py`` from
google/or-tools: interval variables, one no-overlap per machine, makespan as the max of job ends,
horizon = sum of the longest durations, no hints, default search parameters.
"""

from __future__ import annotations

import time

from ortools.sat.python import cp_model

from factoryos.schedule.cpsat import SolverParams
from factoryos.schedule.errors import NoSolutionError
from factoryos.schedule.problem import OpRef, Problem
from factoryos.schedule.solution import Assignment, Solution, SolveResult

__all__ = ["solve_baseline"]


def solve_baseline(problem: Problem, params: SolverParams) -> SolveResult:
    """Solve ``problem`` with the plain model; raise :class:`NoSolutionError` without a schedule."""
    model = cp_model.CpModel()
    horizon = problem.horizon()
    per_machine: list[list[cp_model.IntervalVar]] = [[] for _ in range(problem.num_machines)]
    starts: dict[OpRef, cp_model.IntVar] = {}
    ends: dict[OpRef, cp_model.IntVar] = {}
    choice: dict[OpRef, list[tuple[int, cp_model.IntVar | None]]] = {}
    for ref, op in problem.iter_operations():
        start = model.new_int_var(0, horizon, f"s{ref}")
        end = model.new_int_var(0, horizon, f"e{ref}")
        starts[ref], ends[ref] = start, end
        if len(op.alternatives) == 1:
            a = op.alternatives[0]
            per_machine[a.machine].append(model.new_interval_var(start, a.duration, end, f"i{ref}"))
            choice[ref] = [(a.machine, None)]
            continue
        durs = [a.duration for a in op.alternatives]
        dur = model.new_int_var(min(durs), max(durs), f"d{ref}")
        model.new_interval_var(start, dur, end, f"i{ref}")
        lits = []
        choice[ref] = []
        for a in op.alternatives:
            lit = model.new_bool_var(f"x{ref}m{a.machine}")
            ls = model.new_int_var(0, horizon, "")
            le = model.new_int_var(0, horizon, "")
            iv = model.new_optional_interval_var(ls, a.duration, le, lit, "")
            model.add(start == ls).only_enforce_if(lit)
            model.add(dur == a.duration).only_enforce_if(lit)
            model.add(end == le).only_enforce_if(lit)
            per_machine[a.machine].append(iv)
            lits.append(lit)
            choice[ref].append((a.machine, lit))
        model.add_exactly_one(lits)
    for j, job in enumerate(problem.jobs):
        if job.operations:
            model.add(starts[(j, 0)] >= job.release_date)
        for a_, b_ in job.precedence_pairs():
            model.add(starts[(j, b_)] >= ends[(j, a_)])
    for ivs in per_machine:
        model.add_no_overlap(ivs)
    makespan = model.new_int_var(0, horizon, "makespan")
    model.add_max_equality(makespan, [ends[ref] for ref, _ in problem.iter_operations()])
    model.minimize(makespan)

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = params.time_limit_s
    solver.parameters.num_workers = params.num_workers
    solver.parameters.random_seed = params.seed
    solver.parameters.log_search_progress = params.log
    t0 = time.perf_counter()
    status = solver.solve(model)
    wall = time.perf_counter() - t0
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise NoSolutionError(
            str(solver.status_name(status)), problem=problem.name, wall_time_s=wall
        )
    out = []
    for ref, _ in problem.iter_operations():
        mach = next(mm for mm, lit in choice[ref] if lit is None or solver.boolean_value(lit))
        out.append(
            Assignment(ref[0], ref[1], mach, solver.value(starts[ref]), solver.value(ends[ref]))
        )
    return SolveResult(
        solution=Solution.from_assignments(out),
        status="optimal" if status == cp_model.OPTIMAL else "feasible",
        objective=float(solver.objective_value),
        best_bound=float(solver.best_objective_bound),
        wall_time_s=wall,
        solver="baseline-cpsat",
    )
