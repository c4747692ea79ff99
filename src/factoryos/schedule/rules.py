"""Dispatching rules: Giffler-Thompson active schedules with a priority rule.

At each step the operation/machine pair with the earliest possible completion ``C*`` fixes a
machine ``m*``; every ready operation that could start on ``m*`` before ``C*`` is in conflict and
the rule picks one. This yields active schedules for job shops and a sensible machine choice for
flexible ones. The best rule's schedule warm-starts CP-SAT.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from factoryos.schedule.problem import Alternative, Operation, OpRef, Problem
from factoryos.schedule.solution import Assignment, Solution

__all__ = ["RULES", "RuleRun", "RuleTimeout", "best_rule", "dispatch", "rules_within", "serial"]


@dataclass(frozen=True, slots=True)
class _Candidate:
    ref: OpRef
    alt: Alternative
    est: int
    ops_left: int
    tail: int
    due: float
    ready: int
    setup: int


_Key = Callable[[_Candidate], tuple[float, ...]]

RULES: Mapping[str, _Key] = {
    "SPT": lambda c: (c.alt.duration, c.est),
    "LPT": lambda c: (-c.alt.duration, c.est),
    "MWKR": lambda c: (-c.tail, c.est),
    "LWKR": lambda c: (c.tail, c.est),
    "MOPNR": lambda c: (-c.ops_left, -c.tail),
    "EDD": lambda c: (c.due, -c.tail),
    "FIFO": lambda c: (c.ready, -c.tail),
    "SETUP": lambda c: (c.setup, c.due, -c.tail),
}
"""Priority keys; the smallest key wins the conflict set. Every rule starts an operation only
after the changeover from the unit's previous family; SETUP also prefers the smallest changeover
(family campaigns), then the earliest due date."""


def _machine_groups(problem: Problem) -> tuple[list[list[int]], dict[OpRef, list[tuple[int, int]]]]:
    """Machines that every operation sees alike (the units of one pool) form a group.

    Returns the groups and, per operation, its (group, duration) pairs. Scanning groups instead
    of units keeps a dispatching step cheap on plants with large pools.
    """
    signature: list[list[tuple[OpRef, int]]] = [[] for _ in range(problem.num_machines)]
    for ref, op in problem.iter_operations():
        for a in op.alternatives:
            signature[a.machine].append((ref, a.duration))
    index: dict[tuple[tuple[OpRef, int], ...], int] = {}
    groups: list[list[int]] = []
    group_of = [0] * problem.num_machines
    for m, sig in enumerate(signature):
        g = index.setdefault(tuple(sig), len(groups))
        if g == len(groups):
            groups.append([])
        groups[g].append(m)
        group_of[m] = g
    op_groups: dict[OpRef, list[tuple[int, int]]] = {}
    for ref, op in problem.iter_operations():
        seen: dict[int, int] = {}
        for a in op.alternatives:
            seen.setdefault(group_of[a.machine], a.duration)
        op_groups[ref] = list(seen.items())
    return groups, op_groups


def _op(problem: Problem, ref: OpRef) -> Operation:
    return problem.jobs[ref[0]].operations[ref[1]]


class RuleTimeout(Exception):
    """A dispatching rule passed its deadline before placing every operation."""


def dispatch(problem: Problem, rule: str = "MWKR", *, deadline: float | None = None) -> Solution:
    """Build an active schedule of ``problem`` with the named priority ``rule``.

    Each step scans the ready operations of one pool of units, so a plant cut into small lots
    (thousands of lots ready at once) can take minutes; past ``deadline``
    (``time.perf_counter()``) it raises :class:`RuleTimeout`."""
    key = RULES[rule]
    groups, op_groups = _machine_groups(problem)
    group_of = {m: g for g, ms in enumerate(groups) for m in ms}
    preds_left = {ref: len(p) for ref, p in problem.predecessors.items()}
    ready_time: dict[OpRef, int] = {}
    # Each step needs the ready operation that can end first on some group, and the ready
    # operations of that group. Scanning every ready operation twice a step made a 2,659-operation
    # rule take 5-8 s (robot plant, a repair's remainder): each group keeps its ready operations
    # (in the order they became ready) and its best (earliest end, that order, the group's place
    # in the operation's list, operation), recomputed only when the group's free time or ready
    # set changed. Ties go as in a scan of all ready operations in the order they became ready.
    order: dict[OpRef, int] = {}
    ready_in: list[dict[OpRef, tuple[int, int]]] = [{} for _ in groups]  # ref: (duration, place)
    best_in: list[tuple[int, int, int, int, OpRef] | None] = [None] * len(groups)
    stale: set[int] = set()

    def make_ready(ref: OpRef, at: int) -> None:
        ready_time[ref] = at
        order[ref] = len(order)
        for place, (g, dur) in enumerate(op_groups[ref]):
            ready_in[g][ref] = (dur, place)
            stale.add(g)

    for ref, n in preds_left.items():
        if n == 0:
            make_ready(ref, problem.jobs[ref[0]].release_date)
    ops_left = [len(job.operations) for job in problem.jobs]
    machine_free = [0] * problem.num_machines
    # last operation on each machine, for sequence-dependent changeovers
    last_op: list[Operation | None] = [None] * problem.num_machines
    setups = problem.has_setups
    # per group: (earliest free time, that unit)
    group_free = [(0, ms[0]) for ms in groups]
    tail = problem.tail
    end_of: dict[OpRef, int] = {}
    start_of: dict[OpRef, int] = {}
    out: list[Assignment] = []
    steps = 0
    while ready_time:
        steps += 1
        if deadline is not None and steps % 16 == 0 and time.perf_counter() > deadline:
            raise RuleTimeout(f"{rule}: {len(out)} of {problem.num_operations} operations placed")
        for g in stale:
            free_g = group_free[g][0]
            best_in[g] = min(
                (
                    (max(ready_time[ref], free_g) + dur, order[ref], place, g, ref)
                    for ref, (dur, place) in ready_in[g].items()
                ),
                default=None,
            )
        stale.clear()
        best_ect, _, _, best_g, best_ref = min(b for b in best_in if b is not None)
        best_m = group_free[best_g][1]
        free_m = machine_free[best_m]
        conflict: list[_Candidate] = []
        for ref, (dur, _) in ready_in[best_g].items():
            rt = ready_time[ref]
            prev = last_op[best_m]
            if not setups:
                setup = 0
            elif prev is None:
                setup = problem.first_setup(best_m, _op(problem, ref))
            else:
                setup = problem.setup(best_m, prev, _op(problem, ref))
            est = max(rt, free_m + setup)
            if est < best_ect or ref == best_ref:
                job = problem.jobs[ref[0]]
                due = float(job.due_date) if job.due_date is not None else float("inf")
                alt = Alternative(best_m, dur)
                conflict.append(
                    _Candidate(ref, alt, est, ops_left[ref[0]], tail[ref], due, rt, setup)
                )
        chosen = min(conflict, key=lambda c: (*key(c), c.ref))
        start = chosen.est
        end = start + chosen.alt.duration
        if problem.unavailable or problem.breaks or problem.off:
            mode = problem.mode_of(_op(problem, chosen.ref))
            start = problem.earliest_start(
                best_m,
                chosen.ready,
                chosen.alt.duration,
                free=free_m,
                setup=chosen.setup,
                mode=mode,
            )
            end = problem.run_end(best_m, start, chosen.alt.duration, mode)
            if start > chosen.est:
                chosen, start, end = _fill_gap(
                    problem, best_m, free_m, conflict, key, chosen, start, end
                )
        out.append(Assignment(chosen.ref[0], chosen.ref[1], best_m, start, end))
        end_of[chosen.ref] = end
        start_of[chosen.ref] = start
        machine_free[best_m] = end
        last_op[best_m] = _op(problem, chosen.ref)
        g = group_of[best_m]
        group_free[g] = min((machine_free[m], m) for m in groups[g])
        stale.add(g)
        ops_left[chosen.ref[0]] -= 1
        del ready_time[chosen.ref]
        for g, _ in op_groups[chosen.ref]:
            del ready_in[g][chosen.ref]
            stale.add(g)
        for s in problem.successors[chosen.ref]:
            preds_left[s] -= 1
            if preds_left[s] == 0:
                make_ready(s, problem.ready(s, start_of, end_of))
    return Solution.from_assignments(out)


def _fill_gap(
    problem: Problem,
    machine: int,
    free: int,
    conflict: list[_Candidate],
    key: _Key,
    chosen: _Candidate,
    start: int,
    end: int,
) -> tuple[_Candidate, int, int]:
    """The calendar pushed ``chosen`` to ``start`` (a run that needs one working stretch and
    does not fit in what is left of this one): the first candidate by the rule's priority that
    runs in the gap and leaves room for ``chosen``'s changeover after it takes the gap instead;
    ``chosen`` competes again in the next step. Without this the robot plant's paint line idled
    at stretch ends while a shorter waiting lot would have fitted (117 of 1,151 idle minutes
    with work waiting in FIFO's plan)."""
    after = _op(problem, chosen.ref)
    for c in sorted(conflict, key=lambda c: (*key(c), c.ref)):
        if c is chosen or c.est + c.alt.duration > start:
            continue
        op = _op(problem, c.ref)
        mode = problem.mode_of(op)
        c_start = problem.earliest_start(
            machine, c.ready, c.alt.duration, free=free, setup=c.setup, mode=mode
        )
        c_end = problem.run_end(machine, c_start, c.alt.duration, mode)
        if c_end + problem.setup(machine, op, after) <= start - chosen.setup:
            return c, c_start, c_end
    return chosen, start, end


def best_rule(
    problem: Problem,
    rules: Iterable[str] = tuple(RULES),
    score: Callable[[Solution], float] | None = None,
) -> tuple[str, Solution]:
    """Run each rule and return the best (name, solution) by ``score`` (default: makespan)."""
    scorer = score if score is not None else (lambda s: float(s.makespan))
    best: tuple[str, Solution] | None = None
    best_score = float("inf")
    for name in rules:
        sol = dispatch(problem, name)
        sc = scorer(sol)
        if sc < best_score:
            best, best_score = (name, sol), sc
    if best is None:
        raise ValueError("no dispatching rule given")
    return best


def serial(problem: Problem) -> Solution:
    """A list schedule, the fallback when no rule finishes in its budget: operations by
    earliest possible start, then due date, each on the alternative where it ends first, after
    the work already on that unit (no gap filling). One pass over the operations, so it takes
    a fraction of a second where a rule takes minutes; a worse start for the solver."""
    head = problem.head
    position = {ref: i for i, ref in enumerate(problem.topological_order)}

    def due(j: int) -> float:
        d = problem.jobs[j].due_date
        return float("inf") if d is None else float(d)

    order = sorted(position, key=lambda r: (head[r], due(r[0]), r[0], position[r]))
    machine_free = [0] * problem.num_machines
    last_op: list[Operation | None] = [None] * problem.num_machines
    calendar = bool(problem.unavailable or problem.breaks or problem.off)
    starts: dict[OpRef, int] = {}
    ends: dict[OpRef, int] = {}
    out: list[Assignment] = []
    for ref in order:
        op = _op(problem, ref)
        ready = problem.ready(ref, starts, ends)
        mode = problem.mode_of(op)
        best: tuple[int, int, int] | None = None
        for a in op.alternatives:
            m, free, prev = a.machine, machine_free[a.machine], last_op[a.machine]
            setup = problem.first_setup(m, op) if prev is None else problem.setup(m, prev, op)
            if calendar:
                start = problem.earliest_start(
                    m, ready, a.duration, free=free, setup=setup, mode=mode
                )
                end = problem.run_end(m, start, a.duration, mode)
            else:
                start = max(ready, free + setup)
                end = start + a.duration
            if best is None or (end, start) < (best[2], best[1]):
                best = (m, start, end)
        assert best is not None  # an operation has at least one alternative
        m, start, end = best
        out.append(Assignment(ref[0], ref[1], m, start, end))
        starts[ref], ends[ref] = start, end
        machine_free[m], last_op[m] = end, op
    return Solution.from_assignments(out)


@dataclass(frozen=True, slots=True)
class RuleRun:
    """What :func:`rules_within` ran: the best plan, each finished rule's time, the skipped
    rules with the reason."""

    rule: str
    solution: Solution
    seconds: dict[str, float]
    skipped: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        done = ", ".join(f"{r} {s:.1f} s" for r, s in self.seconds.items())
        gone = "; ".join(f"{r} skipped: {why}" for r, why in self.skipped)
        return "; ".join(x for x in (done, gone) if x)


SERIAL = "SERIAL"
"""Name of :func:`serial`'s plan in a :class:`RuleRun`."""


def rules_within(
    problem: Problem,
    rules: Iterable[str],
    score: Callable[[Solution], float],
    budget_s: float,
) -> RuleRun:
    """Run ``rules`` in order within ``budget_s`` seconds and keep the best by ``score``.

    :func:`serial` runs first (a fraction of a second, part of the budget): its plan is a
    candidate and the fallback when no rule finishes, its time a measure of one pass over the
    operations. A rule that passes the budget is stopped; once one has finished, a rule is not
    started when the slowest so far would not fit in what is left (the rules cost about the
    same).
    """
    t0 = time.perf_counter()
    deadline = t0 + budget_s
    first = serial(problem)
    seconds: dict[str, float] = {SERIAL: time.perf_counter() - t0}
    skipped: list[tuple[str, str]] = []
    best: tuple[str, Solution] = (SERIAL, first)
    best_score = score(first)
    for name in rules:
        left = deadline - time.perf_counter()
        slowest = max((s for r, s in seconds.items() if r != SERIAL), default=0.0)
        if left <= 0:
            skipped.append(
                (
                    name,
                    f"the {budget_s:.1f} s rule budget is used up (the list schedule took "
                    f"{seconds[SERIAL]:.1f} s)",
                )
            )
            continue
        if slowest > left:
            skipped.append(
                (
                    name,
                    f"{left:.1f} s of the {budget_s:.1f} s rule budget left, a rule took "
                    f"{slowest:.1f} s",
                )
            )
            continue
        t = time.perf_counter()
        try:
            sol = dispatch(problem, name, deadline=deadline)
        except RuleTimeout as exc:
            placed = str(exc).split(": ", 1)[1]
            skipped.append((name, f"stopped at the {budget_s:.1f} s rule budget ({placed})"))
            continue
        seconds[name] = time.perf_counter() - t
        sc = score(sol)
        if sc < best_score:
            best, best_score = (name, sol), sc
    return RuleRun(best[0], best[1], seconds, tuple(skipped))
