"""A plant plan's makespan lower bound from its bottleneck pool, and how busy a plan keeps it.

For a pool (the set of units an operation may run on), the work that must run there after an
instant ``r`` (operations that cannot start before ``r``: their heads, i.e. release dates and
predecessors' minimal work) needs the pool's available time after ``r``, unit by unit, in its
own calendar (time off and unavailable time taken out). The makespan is at least the instant
where that time adds up to the work, plus the least work that must follow it (``end_tails``).
The bound is the largest over the instants ``r`` and over the pools; its pool is the plan's
bottleneck. With family changeovers the work includes the least changeover time the pool needs:
on units that set up per lot every operation's least setup in (after anything that may run
there, or first: ``Problem.first_setup``), but for each unit's first of them (its setup may lie
before ``r``) unless ``r`` is the plan's start; elsewhere each family but one per unit changed
over to once, at its cheapest change in. Jackson's sets with a tail threshold too (heads from
``r``, tails from ``q``) were tried: on the three example plants none beat these sets, and the
scan took 94 s on the robot plant's 3,116 operations, so they are not computed.

Heads are taken in the calendars (:func:`calendar_heads`): an operation cannot start before its
predecessors' earliest ends on their quickest units' working time, which on a plant whose lines
keep different shifts is far later than the working-unit head. A pool with unattended work
(which runs through its units' time off) counts only their unavailable time as lost.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from dataclasses import dataclass

from factoryos.schedule.problem import Operation, OpRef, Problem
from factoryos.schedule.solution import Solution

__all__ = [
    "PoolBound",
    "bottleneck_bound",
    "busy_while_waiting",
    "calendar_heads",
    "end_tails",
    "path_bound",
]


@dataclass(frozen=True)
class PoolBound:
    """``bound``: no plan ends earlier, because of the work on ``machines`` released from
    ``release`` on (``work`` time units, ``after`` more at least behind the last of it)."""

    machines: tuple[int, ...]
    bound: int
    release: int
    work: int
    after: int


def calendar_heads(problem: Problem) -> tuple[dict[OpRef, int], dict[OpRef, int]]:
    """Earliest start and end of every operation with no other work in the plant: after its
    release and its predecessors (overlapping lots as in ``Problem.ready``), at the first fit
    in the calendar of its quickest unit. Every plan starts and ends each operation no earlier
    (each step takes the minimum over the units, and ``ready`` grows with its inputs)."""
    starts: dict[OpRef, int] = {}
    ends: dict[OpRef, int] = {}
    for ref in problem.topological_order:
        op = problem.jobs[ref[0]].operations[ref[1]]
        ready = problem.ready(ref, starts, ends)
        mode = problem.mode_of(op)
        fits = [
            (problem.earliest_fit(a.machine, ready, a.duration, mode), a) for a in op.alternatives
        ]
        starts[ref] = min(t for t, _ in fits)
        ends[ref] = min(problem.run_end(a.machine, t, a.duration, mode) for t, a in fits)
    return starts, ends


def end_tails(problem: Problem) -> dict[OpRef, int]:
    """The least work of an operation's job after the operation ends: a successor ends at
    least its run later, or for overlapping lots one transfer batch's time later
    (``Job.transfers``), however the operation itself paused."""
    out: dict[OpRef, int] = {}
    for ref in reversed(problem.topological_order):
        job = problem.jobs[ref[0]]
        best = 0
        for s in problem.successors[ref]:
            d_s = job.operations[s[1]].min_duration
            lag = job.transfer(ref[1], s[1])
            best = max(best, (d_s if lag is None else -(-lag[0] * d_s // lag[1])) + out[s])
        out[ref] = best
    return out


def _down(problem: Problem, machine: int, *, off: bool = True) -> list[tuple[int, int]]:
    spans = sorted(problem.unavailable_on(machine) + (problem.off_on(machine) if off else []))
    merged: list[tuple[int, int]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


class _PoolTime:
    """Available unit-time of a pool between two instants, from prefix sums over its units'
    down spans (time off and unavailable time, merged per unit)."""

    def __init__(self, problem: Problem, machines: tuple[int, ...], *, off: bool = True) -> None:
        spans = [s for m in machines for s in _down(problem, m, off=off)]
        self.units = len(machines)
        self.los = sorted(lo for lo, _ in spans)
        self.his = sorted(hi for _, hi in spans)
        self.sum_lo = list(itertools.accumulate(self.los, initial=0))
        self.sum_hi = list(itertools.accumulate(self.his, initial=0))

    def _down_before(self, t: int) -> int:
        # sum over spans of |[lo, hi) before t| = sum_{lo<t} (t - lo) - sum_{hi<t} (t - hi)
        i = bisect.bisect_left(self.los, t)
        k = bisect.bisect_left(self.his, t)
        return i * t - self.sum_lo[i] - (k * t - self.sum_hi[k])

    def free(self, start: int, end: int) -> int:
        return self.units * (end - start) - (self._down_before(end) - self._down_before(start))

    def fill(self, start: int, work: int) -> int:
        """The first instant by which the pool has ``work`` units of available time after
        ``start``."""
        if work <= 0:
            return start
        lo, hi = start, start + work
        while self.free(start, hi) < work:
            hi = start + 2 * (hi - start)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.free(start, mid) >= work:
                hi = mid
            else:
                lo = mid + 1
        return lo


def _befores(problem: Problem, machines: tuple[int, ...]) -> dict[tuple[str, int], Operation]:
    """One operation per (family, step setup) of all that may run on ``machines``, of this
    pool or another: whatever may run before an operation there."""
    return {
        (op.family, op.setup_default): op
        for _, op in problem.iter_operations()
        if op.family and any(a.machine in machines for a in op.alternatives)
    }


def _least_setups(
    problem: Problem,
    machines: tuple[int, ...],
    ops: list[Operation],
    befores: dict[tuple[str, int], Operation],
) -> dict[tuple[str, int], int]:
    """Per (family, step setup) of ``ops``: the least setup one of them pays on a unit of
    ``machines`` that sets up per lot, whatever runs before it there (``befores``, or nothing:
    ``Problem.first_setup``)."""
    kinds = {(op.family, op.setup_default): op for op in ops if op.family}
    return {
        kind: min(
            min(problem.first_setup(m, after) for m in machines),
            *(problem.setup(m, before, after) for m in machines for before in befores.values()),
        )
        for kind, after in kinds.items()
    }


def _least_changeovers(
    problem: Problem,
    machines: tuple[int, ...],
    ops: list[Operation],
    befores: dict[tuple[str, int], Operation],
    *,
    from_start: bool,
) -> int:
    """The least changeover time ``ops`` need on ``machines`` after the instant their work is
    counted from. On units that set up per lot every operation pays its least setup
    (:func:`_least_setups`), but the first of ``ops`` on each unit may have set up before that
    instant (unless it is the plan's start, ``from_start``), so the largest of those are left
    out. Elsewhere every family but one per unit is changed over to at least once, at no less
    than its cheapest change in from any family that may run on those units."""
    if machines and all(m in problem.lot_setup_machines for m in machines):
        least = _least_setups(problem, machines, ops, befores)
        per_op = sorted(least[(op.family, op.setup_default)] for op in ops if op.family)
        return sum(per_op if from_start else per_op[: max(0, len(per_op) - len(machines))])
    kinds = {(op.family, op.setup_default): op for op in ops if op.family}
    families = {f for f, _ in kinds}
    if len(families) <= len(machines):
        return 0
    cheapest = []
    for f in families:
        into = [
            problem.setup(m, before, after)
            for (g, _), before in befores.items()
            if g != f
            for (h, _), after in kinds.items()
            if h == f
            for m in machines
        ]
        cheapest.append(min(into, default=0))
    return sum(sorted(cheapest)[: len(families) - len(machines)])


def bottleneck_bound(problem: Problem) -> PoolBound:
    """The pool whose released work needs the latest end (see the module docstring); its
    work includes the least changeover time it needs."""
    pools: dict[tuple[int, ...], list[OpRef]] = {}
    for ref, op in problem.iter_operations():
        pools.setdefault(tuple(sorted(a.machine for a in op.alternatives)), []).append(ref)
    heads, _ = calendar_heads(problem)
    tails = end_tails(problem)
    best = PoolBound((), 0, 0, 0, 0)
    for machines, refs in pools.items():
        ops = sorted(
            (heads[r], problem.jobs[r[0]].operations[r[1]].min_duration, tails[r], r) for r in refs
        )
        unattended = any(problem.jobs[r[0]].operations[r[1]].unattended for r in refs)
        time = _PoolTime(problem, machines, off=not unattended)
        befores = _befores(problem, machines) if problem.has_setups else {}
        for i, (release, *_) in enumerate(ops):
            if i and release == ops[i - 1][0]:
                continue
            rest = ops[i:]
            work = sum(d for _, d, _, _ in rest)
            if problem.has_setups:
                work += _least_changeovers(
                    problem,
                    machines,
                    [problem.jobs[r[0]].operations[r[1]] for *_, r in rest],
                    befores,
                    from_start=release <= 0,
                )
            after = min(q for _, _, q, _ in rest)
            end = time.fill(release, work) + after
            if end > best.bound:
                best = PoolBound(machines, end, release, work, after)
    return best


def path_bound(problem: Problem) -> int:
    """The latest end of an order alone in the plant, in the calendars (:func:`calendar_heads`):
    no plan's makespan is shorter."""
    _, ends = calendar_heads(problem)
    return max(ends.values(), default=0)


def busy_while_waiting(
    problem: Problem, solution: Solution, machines: tuple[int, ...], *, fitting: bool = False
) -> float:
    """Share of the pool's available unit-time that is busy (running or changing over) while
    some of its work is ready (released, inputs done) and not started: 1.0 means it never
    idles with work waiting. With ``fitting``, a unit counts as available only while a waiting
    operation could still run on it before its next pause (a non-resumable run needs one
    working stretch: the end of a stretch too short for every waiting run is not idleness
    a plan could fill)."""
    starts = {a.ref: a.start for a in solution.assignments}
    ends = {a.ref: a.end for a in solution.assignments}
    horizon = solution.makespan + 1
    waiting = [0] * (horizon + 1)
    # with ``fitting``: per instant, the stretch-bound runs that start or stop waiting
    stretch_in: dict[int, list[int]] = {}
    stretch_out: dict[int, list[int]] = {}
    for a in solution.assignments:
        if a.machine in machines:
            ready = problem.ready(a.ref, starts, ends)
            if ready < a.start:
                op = problem.jobs[a.ref[0]].operations[a.ref[1]]
                if fitting and problem.mode_of(op) == "stretch":
                    stretch_in.setdefault(ready, []).append(op.min_duration)
                    stretch_out.setdefault(a.start, []).append(op.min_duration)
                else:
                    waiting[ready] += 1
                    waiting[a.start] -= 1
    # per unit: +1 while it runs work, -2 while it is down (time off, unavailable): a unit
    # counts as available at t when its value is >= 0, as busy when it is 1
    state = {m: [0] * (horizon + 1) for m in machines}
    setups = solution.setups(problem) if problem.has_setups else {}
    for a in solution.assignments:
        if a.machine in state:
            # a changeover occupies the unit too (placed right before its operation)
            state[a.machine][max(0, a.start - setups.get(a.ref, 0))] += 1
            state[a.machine][a.end] -= 1
    pauses: dict[int, list[int]] = {}
    for m in machines:
        for lo, hi in _down(problem, m):
            if lo < horizon:
                state[m][lo] -= 2
                state[m][min(hi, horizon)] += 2
        pauses[m] = sorted({lo for lo, _ in _down(problem, m)} | set(problem.breaks))
    used = avail = 0
    w = 0
    shortest: list[int] = []  # durations of waiting stretch-bound runs (a min-heap, lazy)
    gone: dict[int, int] = {}
    level = dict.fromkeys(machines, 0)
    for t in range(horizon):
        w += waiting[t]
        for d in stretch_out.get(t, ()):
            gone[d] = gone.get(d, 0) + 1
        for d in stretch_in.get(t, ()):
            heapq.heappush(shortest, d)
        while shortest and gone.get(shortest[0], 0):
            gone[shortest[0]] -= 1
            heapq.heappop(shortest)
        for m in machines:
            level[m] += state[m][t]
        if w > 0 or shortest:
            for m in machines:
                if level[m] < 0:
                    continue
                if w <= 0:  # only stretch-bound runs wait: does the shortest fit?
                    k = bisect.bisect_right(pauses[m], t)
                    if k < len(pauses[m]) and pauses[m][k] - t < shortest[0]:
                        continue
                avail += 1
                used += level[m] == 1
    return used / avail if avail else 1.0
