"""Repair a plan after a disruption: keep what is done or running, re-plan the rest.

A disruption is the current time, machines down over spans, and new jobs (a rush order, or a
remake of scrapped work). Operations that started before ``now`` are frozen on their machine and
start. A right-shift of the old plan (old machine order kept, rerouted only when another machine
finishes earlier) gives a valid warm start at once; CP-SAT then minimises the objective plus
``deviation_weight`` times the total start-time change of the old, unfrozen operations.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from factoryos.schedule.cpsat import CpSatJobShop, SolverParams
from factoryos.schedule.errors import NoSolutionError
from factoryos.schedule.problem import Job, Operation, OpRef, Problem
from factoryos.schedule.solution import Assignment, Objective, Solution, SolveResult

__all__ = ["Disruption", "RepairResult", "repair", "right_shift"]


@dataclass(frozen=True, slots=True)
class Disruption:
    now: int
    down: tuple[tuple[int, int, int], ...] = ()
    """(machine, start, end) spans during which a machine cannot work."""
    new_jobs: tuple[Job, ...] = ()


@dataclass(frozen=True)
class RepairResult:
    problem: Problem
    """The disrupted problem: old jobs + new jobs, with the downtime as unavailability."""
    result: SolveResult
    frozen: frozenset[OpRef]
    deviation: int
    """Sum over old, unfrozen operations of |new start - old start|."""


def _disrupted(problem: Problem, old: Solution, d: Disruption) -> Problem:
    # A running operation completes before its machine's downtime takes effect.
    running_end: dict[int, int] = {}
    for a in old.assignments:
        if a.start < d.now:
            running_end[a.machine] = max(running_end.get(a.machine, 0), a.end)
    down = tuple(
        (m, max(lo, running_end.get(m, lo)), hi)
        for m, lo, hi in d.down
        if hi > max(lo, running_end.get(m, lo))
    )
    return Problem(
        problem.jobs + d.new_jobs,
        problem.num_machines,
        name=f"{problem.name}+repair",
        machine_units=problem.machine_units,
        unavailable=problem.unavailable + down,
        setup_matrix=problem.setup_matrix,
        energy=problem.energy,
    )


def right_shift(problem: Problem, old: Solution, now: int) -> Solution:
    """A valid plan for ``problem`` built from ``old``: frozen before ``now``, the rest shifted."""
    free = [0] * problem.num_machines
    last: list[Operation | None] = [None] * problem.num_machines
    end_of: dict[OpRef, int] = {}
    out: list[Assignment] = []
    old_by_ref = old.by_ref()
    for a in sorted(old.assignments, key=lambda a: (a.start, a.end)):
        if a.start < now:
            out.append(a)
            end_of[a.ref] = a.end
            free[a.machine] = max(free[a.machine], a.end)
            last[a.machine] = problem.jobs[a.job].operations[a.op]
    topo = {ref: i for i, ref in enumerate(problem.topological_order)}
    rest = [r for r in problem.topological_order if r not in end_of]
    rest.sort(
        key=lambda r: (r not in old_by_ref, old_by_ref[r].start if r in old_by_ref else 0, topo[r])
    )
    for ref in rest:
        job = problem.jobs[ref[0]]
        op = job.operations[ref[1]]
        ready = max([now, job.release_date] + [end_of[p] for p in problem.predecessors[ref]])
        previous = old_by_ref[ref].machine if ref in old_by_ref else -1
        options = []
        for alt in op.alternatives:
            prev = last[alt.machine]
            setup = 0 if prev is None else problem.setup(alt.machine, prev, op)
            start = problem.earliest_fit(
                alt.machine, max(ready, free[alt.machine] + setup), alt.duration
            )
            # earliest completion; on a tie stay on the old machine
            options.append((start + alt.duration, alt.machine != previous, alt.machine, start))
        _, _, mach, start = min(options)
        dur = op.duration_on(mach)
        assert dur is not None
        out.append(Assignment(ref[0], ref[1], mach, start, start + dur))
        end_of[ref] = start + dur
        free[mach] = start + dur
        last[mach] = op
    return Solution.from_assignments(out)


def _repair_by_orders(
    problem: Problem,
    start: Solution,
    frozen: dict[OpRef, tuple[int, int]],
    old_starts: dict[OpRef, int],
    now: int,
    obj: Objective,
    deviation_weight: int,
    score: Callable[[Solution], int],
    params: SolverParams,
    t0: float,
    orders_per_step: int = 6,
) -> Solution:
    best = start
    by = best.by_ref()
    moved: dict[int, int] = {}
    for ref, a in by.items():
        if ref not in old_starts and ref not in frozen:
            moved[ref[0]] = moved.get(ref[0], 0) + 10**9  # a new order comes first
        elif ref in old_starts:
            moved[ref[0]] = moved.get(ref[0], 0) + abs(a.start - old_starts[ref])
    queue = [j for j, m in sorted(moved.items(), key=lambda x: -x[1]) if m > 0]
    while queue and params.time_limit_s - (time.perf_counter() - t0) > 0.3:
        jobs, queue = queue[:orders_per_step], queue[orders_per_step:]
        chosen = set(jobs)
        index = {j: i for i, j in enumerate(jobs)}
        sub = Problem(
            tuple(problem.jobs[j] for j in jobs),
            problem.num_machines,
            name=f"{problem.name}[repair]",
            machine_units=problem.machine_units,
            unavailable=problem.unavailable,
            setup_matrix=problem.setup_matrix,
            energy=problem.energy,
        )
        busy: dict[int, list[tuple[int, int]]] = {}
        fixed_ops: dict[int, list[tuple[int, int, Operation]]] = {}
        kept: list[Assignment] = []
        for a in best.assignments:
            if a.job not in chosen:
                kept.append(a)
                busy.setdefault(a.machine, []).append((a.start, a.end))
                if problem.has_setups:
                    op = problem.jobs[a.job].operations[a.op]
                    fixed_ops.setdefault(a.machine, []).append((a.start, a.end, op))
        remap = {ref: (index[ref[0]], ref[1]) for ref in by if ref[0] in chosen}
        model = CpSatJobShop(
            sub,
            upper_bound=problem.horizon() + best.makespan,
            objective=obj,
            busy=busy,
            fixed_ops=fixed_ops,
            makespan_floor=max((a.end for a in kept), default=0),
            frozen={remap[r]: v for r, v in frozen.items() if r in remap},
            not_before=now,
            deviation_from={remap[r]: t for r, t in old_starts.items() if r in remap},
            deviation_weight=deviation_weight,
        )
        model.add_hint(
            Solution.from_assignments(
                [
                    Assignment(index[a.job], a.op, a.machine, a.start, a.end)
                    for a in best.assignments
                    if a.job in chosen
                ]
            )
        )
        left = params.time_limit_s - (time.perf_counter() - t0) - 0.1
        try:
            step = SolverParams(
                max(0.05, min(1.0, left)), params.num_workers, probing=not problem.has_setups
            )
            r = model.solve(step)
        except NoSolutionError:
            continue
        merged = Solution.from_assignments(
            kept
            + [
                Assignment(jobs[a.job], a.op, a.machine, a.start, a.end)
                for a in r.solution.assignments
            ]
        )
        if score(merged) <= score(best):
            best = merged
            by = best.by_ref()
    return best


def repair(
    problem: Problem,
    old: Solution,
    disruption: Disruption,
    params: SolverParams,
    *,
    objective: Objective | None = None,
    deviation_weight: int = 1,
    max_model_operations: int = 1500,
) -> RepairResult:
    """Re-plan after ``disruption`` within ``params.time_limit_s``.

    Up to ``max_model_operations`` one CP-SAT model covers every operation. Larger plans are
    repaired order by order: the orders the disruption touched (new ones, then those the
    right-shift moved most) are re-solved a few at a time with everything else fixed.
    """
    t0 = time.perf_counter()
    obj = objective or Objective()
    new = _disrupted(problem, old, disruption)
    now = disruption.now
    frozen = {a.ref: (a.machine, a.start) for a in old.assignments if a.start < now}
    old_starts = {a.ref: a.start for a in old.assignments if a.start >= now}
    hint = right_shift(new, old, now)

    def deviation(s: Solution) -> int:
        by = s.by_ref()
        return sum(abs(by[r].start - t) for r, t in old_starts.items())

    def score(s: Solution) -> int:
        return obj.score(new, s) + deviation_weight * deviation(s)

    best = hint
    status = "feasible"
    bound = float(obj.lower_bound(new))
    if new.num_operations <= max_model_operations:
        model = CpSatJobShop(
            new,
            upper_bound=new.horizon() + old.makespan,
            objective=obj,
            frozen=frozen,
            not_before=now,
            deviation_from=old_starts,
            deviation_weight=deviation_weight,
        )
        model.add_hint(hint)
        left = params.time_limit_s - (time.perf_counter() - t0)
        try:
            r = model.solve(
                SolverParams(max(0.05, left), params.num_workers, params.seed, params.log)
            )
        except NoSolutionError:
            r = None
        if r is not None and score(r.solution) <= score(best):
            best, status, bound = r.solution, r.status, r.best_bound
    else:
        best = _repair_by_orders(
            new, best, frozen, old_starts, now, obj, deviation_weight, score, params, t0
        )
    result = SolveResult(
        solution=best,
        status="optimal" if status == "optimal" else "feasible",
        objective=float(score(best)),
        best_bound=bound,
        wall_time_s=time.perf_counter() - t0,
        solver="factoryos-repair",
    )
    return RepairResult(new, result, frozenset(frozen), deviation(best))
