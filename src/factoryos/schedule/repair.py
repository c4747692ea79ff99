"""Repair a plan after a disruption: keep what is done or running, re-plan the rest.

A disruption is the current time, machines down over spans, new jobs (a rush order) and scrap
found at ``now`` in operations that are running or done. Operations that started before ``now``
are frozen on their machine and start.

Scrap: the scrapped operation and every operation downstream of it in the order that has already
started (it consumed the scrapped output) are lost; one of them still running stops at ``now``,
which frees its unit. Each lost operation is remade as a copy named ``<step>#remake``, added to
the same order, so the remake keeps the order's due date and weight and the order's remaining
operations (an assembly join included) wait for it. The remake redoes the scrapped step from its
input (a re-paint, a re-test, a re-machining of the same part); to remake from raw material,
scrap the branch's first step. A separate job could not hold the join: precedences are per job.

A right-shift of the old plan (old machine order kept, rerouted only when another machine
finishes earlier) gives a valid warm start at once, and a fresh plan of what is left
(:mod:`.replan`) another; from the better, CP-SAT minimises the objective plus
``deviation_weight`` times the deviation: over the old, unfrozen operations, each one's start
change in hours (``deviation_unit`` time units an hour), rounded up, summed. So the default
weight 1 weighs one operation moved by an hour as one weighted minute of lateness (with minutes
as the unit): a weight-10 rush order that gains a day (14,400) may move 600 operations by 12 h
(7,200) to go first, which a deviation per operation-minute (432,000) forbade (electronics: the
rush 16.9 days late). Rounded up, not down: a move of a few minutes still costs an hour, so a
plan is not reshuffled by up to 59 minutes for nothing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from factoryos.schedule.cpsat import CpSatJobShop, SolverParams
from factoryos.schedule.errors import NoSolutionError, SchedulingError
from factoryos.schedule.problem import Alternative, Job, OpRef, Problem
from factoryos.schedule.repair_orders import Window, repair_by_orders
from factoryos.schedule.replan import remainder
from factoryos.schedule.right_shift import right_shift
from factoryos.schedule.rules import RuleTimeout, dispatch, serial
from factoryos.schedule.solution import Objective, Solution, SolveResult

__all__ = [
    "Disruption",
    "RepairResult",
    "operation_hours",
    "repair",
    "right_shift",
    "scrap_and_remake",
]


@dataclass(frozen=True, slots=True)
class Disruption:
    now: int
    down: tuple[tuple[int, int, int], ...] = ()
    """(machine, start, end) spans during which a machine cannot work."""
    new_jobs: tuple[Job, ...] = ()
    scrap: tuple[OpRef, ...] = ()
    """Operations running or done at ``now`` whose output is scrapped and must be remade."""


@dataclass(frozen=True)
class RepairResult:
    problem: Problem
    """The disrupted problem: old jobs + new jobs, with the downtime as unavailability."""
    result: SolveResult
    frozen: frozenset[OpRef]
    deviation: int
    """Sum over old, unfrozen operations of |new start - old start|, in time units."""
    remakes: tuple[OpRef, ...] = ()
    """The remake operations added for scrap, in ``problem``."""
    stopped: str = ""
    """Why the repair ended: the time limit, a proof of optimality, or nothing left to try."""


def scrap_and_remake(
    problem: Problem, old: Solution, now: int, scrap: tuple[OpRef, ...]
) -> tuple[Problem, Solution, tuple[OpRef, ...]]:
    """The problem with remakes of the scrapped work, the old plan with scrapped running work
    stopped at ``now``, and the remakes' references (see the module docstring)."""
    if not scrap:
        return problem, old, ()
    by = old.by_ref()
    jobs = list(problem.jobs)
    cut: dict[OpRef, int] = {}
    remakes: list[OpRef] = []
    for ref in scrap:
        a = by.get(ref)
        if a is None or a.start >= now:
            raise SchedulingError(
                f"cannot scrap {_label(problem, ref)}: it has not started at {now}"
            )
    for j in sorted({ref[0] for ref in scrap}):
        job = jobs[j]
        lost: set[int] = set()
        todo = [o for jj, o in scrap if jj == j]
        while todo:
            o = todo.pop()
            if o in lost:
                continue
            lost.add(o)
            todo.extend(s for _, s in problem.successors[(j, o)] if by[(j, s)].start < now)
        ops = list(job.operations)
        copy_of: dict[int, int] = {}
        for o in sorted(lost):
            op = ops[o]
            copy_of[o] = len(ops)
            ops.append(dataclasses.replace(op, name=f"{op.name or f'O{o}'}#remake"))
            remakes.append((j, copy_of[o]))
            a = by[(j, o)]
            if a.end > now:
                # stopped at now: the unit did that much and is free again
                cut[(j, o)] = now
                ops[o] = dataclasses.replace(
                    op, alternatives=(Alternative(a.machine, now - a.start),)
                )
        pairs = list(job.precedence_pairs())
        for a_op, b_op in job.precedence_pairs():
            if a_op in lost:
                pairs.append((copy_of[a_op], copy_of.get(b_op, b_op)))
            elif b_op in lost:
                pairs.append((a_op, copy_of[b_op]))
        jobs[j] = dataclasses.replace(job, operations=tuple(ops), precedences=tuple(pairs))
    stopped = Solution.from_assignments(
        [dataclasses.replace(a, end=cut[a.ref]) if a.ref in cut else a for a in old.assignments]
    )
    return dataclasses.replace(problem, jobs=tuple(jobs)), stopped, tuple(remakes)


def _label(problem: Problem, ref: OpRef) -> str:
    j, o = ref
    if 0 <= j < len(problem.jobs) and 0 <= o < len(problem.jobs[j].operations):
        return f"{problem.jobs[j].name or f'J{j}'}/{problem.jobs[j].operations[o].name or o}"
    return f"operation {ref}"


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
    return dataclasses.replace(
        problem,
        jobs=problem.jobs + d.new_jobs,
        name=f"{problem.name}+repair",
        unavailable=problem.unavailable + down,
    )


def repair(
    problem: Problem,
    old: Solution,
    disruption: Disruption,
    params: SolverParams,
    *,
    objective: Objective | None = None,
    deviation_unit: int,
    deviation_weight: int = 1,
    max_model_operations: int = 1500,
) -> RepairResult:
    """Re-plan after ``disruption`` within ``params.time_limit_s``.

    ``deviation_unit``: the problem's time units in an hour (60 for minutes); the problem does
    not know its unit, so the caller says it (see the module docstring).

    The start is the best of the right-shifts (rush orders last, first at their release, or
    between) and fresh plans of what is left at ``now`` (:func:`_fresh_start`).
    Up to ``max_model_operations`` one CP-SAT model covers every operation. Larger plans are
    repaired order by order (:func:`.repair_orders.repair_by_orders`).
    """
    t0 = time.perf_counter()
    obj = objective or Objective()
    now = disruption.now
    problem, old, remakes = scrap_and_remake(problem, old, now, disruption.scrap)
    new = _disrupted(problem, old, disruption)
    frozen = {a.ref: (a.machine, a.start) for a in old.assignments if a.start < now}
    old_starts = {a.ref: a.start for a in old.assignments if a.start >= now}
    if deviation_unit < 1:
        raise SchedulingError(f"deviation_unit (time units an hour) must be >= 1: {deviation_unit}")

    def score(s: Solution) -> int:
        return obj.score(new, s) + deviation_weight * _deviation_hours(
            s, old_starts, deviation_unit
        )

    hint = _best_shift(new, old, now, score, params, t0)
    hint = _fresh_start(new, old, now, hint, score, params, t0)

    best = hint
    status = "feasible"
    bound = float(obj.lower_bound(new))
    # units with their own time off: one model's domains and stretch tables are too big (see
    # lns.solve); order by order keeps each step's windows small
    if new.num_operations <= max_model_operations and not new.off:
        model = CpSatJobShop(
            new,
            upper_bound=new.horizon() + old.makespan,
            objective=obj,
            frozen=frozen,
            not_before=now,
            deviation_from=old_starts,
            deviation_weight=deviation_weight,
            deviation_unit=deviation_unit,
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
        stopped = (
            "proved optimal"
            if status == "optimal"
            else "time limit"
            if r is not None
            else "no solution from CP-SAT in the time: the right-shift stands"
        )
    else:
        best, stopped = repair_by_orders(
            new,
            best,
            Window(frozen, old_starts, now),
            obj,
            (deviation_weight, deviation_unit),
            score,
            params,
            t0,
        )
    result = SolveResult(
        solution=best,
        status="optimal" if status == "optimal" else "feasible",
        objective=float(score(best)),
        best_bound=bound,
        wall_time_s=time.perf_counter() - t0,
        solver="factoryos-repair",
    )
    return RepairResult(
        new,
        result,
        frozenset(frozen),
        _moved(best, old_starts),
        remakes,
        stopped,
    )


def _best_shift(
    new: Problem,
    old: Solution,
    now: int,
    score: Callable[[Solution], int],
    params: SolverParams,
    t0: float,
    *,
    levels: int = 7,
) -> Solution:
    """The best right-shift with the rush orders at the end of the old plan, first where they
    are released, or in the old sequence at one of ``2**levels - 1`` times between (quantiles
    of the old plan's open starts): on a loaded plant putting them first delays every order
    behind them, last leaves a weight-10 rush order 17 days late (electronics), and the best
    trade lies between, on a bumpy curve (a right-shift takes 0.01-0.04 s there). The places
    stop at a fifth of the time limit, so the CP-SAT steps keep the rest. ``score``: the
    objective plus deviation."""
    best = right_shift(new, old, now)
    best_score = score(best)
    if len({a.job for a in old.assignments}) == len(new.jobs):
        return best  # no new order: every place gives this plan
    starts = sorted(a.start for a in old.assignments if a.start >= now)
    # coarse to fine (halves, quarters, eighths ... of the open starts): where the time limit
    # stops the places, those tried are spread over the whole plan
    times = [now] + [
        starts[len(starts) * k // 2**level]
        for level in range(1, levels + 1)
        for k in range(1, 2**level, 2)
        if starts
    ]
    for i, at in enumerate(dict.fromkeys(times)):
        # first at their release (``now``) always, as before the places between
        if i and time.perf_counter() - t0 > params.time_limit_s / 5:
            break
        s = right_shift(new, old, now, new_at=at)
        if (sc := score(s)) < best_score:
            best, best_score = s, sc
    return best


def _fresh_start(
    new: Problem,
    old: Solution,
    now: int,
    best: Solution,
    score: Callable[[Solution], int],
    params: SolverParams,
    t0: float,
) -> Solution:
    """``best`` or, if it scores better, a fresh plan of what is left at ``now``
    (:mod:`.replan`): a list schedule by earliest start and due date, and an earliest-due-date
    rule while it ends before half the time limit (it takes seconds on a 4-week plant, so a
    short repair keeps the right-shift). Where the old sequence no longer fits the plant, a
    fresh plan is a better start even with its deviation counted (module docstring of
    :mod:`.replan`)."""
    rest = remainder(new, old, now)
    best_score = score(best)
    for build in (serial, lambda p: dispatch(p, "EDD", deadline=t0 + params.time_limit_s / 2)):
        try:
            plan = rest.merge(build(rest.problem))
        except RuleTimeout:
            continue
        if (sc := score(plan)) < best_score:
            best, best_score = plan, sc
    return best


def _moved(s: Solution, old_starts: dict[OpRef, int]) -> int:
    by = s.by_ref()
    return sum(abs(by[r].start - t) for r, t in old_starts.items())


def _deviation_hours(s: Solution, old_starts: dict[OpRef, int], unit: int) -> int:
    """The deviation the objective weighs: each operation's start change in hours, rounded up."""
    by = s.by_ref()
    return sum(operation_hours(by[r].start - t, unit) for r, t in old_starts.items())


def operation_hours(shift: int, per_hour: int) -> int:
    """What one operation's start ``shift`` (time units, ``per_hour`` an hour) adds to the
    deviation: its hours, rounded up."""
    return -(-abs(shift) // per_hour)
