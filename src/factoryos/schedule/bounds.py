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

The same sets give a second bound from the last of their operations to start
(:func:`_start_bound`): by then the pool has done all their work but that run and the
``units - 1`` longest others (which may still run), so it starts no earlier than where the
pool's time adds up to that; its order's rest, placed from there in the calendars, ends no
earlier. It sees what the end bound's tails cannot: on a flow line with overlapping lots the
work after a run's end is one transfer batch's, while the order's rest after its start is
the whole downstream line (electronics: 678.1 -> 683.0 h, the box-build cells; coatings:
637.0 -> 669.5 h, the reactors and the filling lines' weekdays after them).

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
    ``release`` on (``work`` time units, ``after`` more at least behind the last of it). With
    ``last_start``, the bound is the last of that work to start (no earlier than
    ``last_start``) and its order's own rest in the calendars (:func:`_start_bound`)."""

    machines: tuple[int, ...]
    bound: int
    release: int
    work: int
    after: int
    last_start: int | None = None


def _place(
    problem: Problem,
    ref: OpRef,
    starts: dict[OpRef, int],
    ends: dict[OpRef, int],
    earliest: int = 0,
) -> tuple[int, int]:
    """The earliest start and end of ``ref`` no earlier than ``earliest`` after its release
    and its inputs' ``starts``/``ends`` (floors of theirs), each unit of its pool alone in its
    calendar: the least over the units. Overlapping lots (``Job.transfers``) give a start
    floor (the first transfer batch) and an end floor (one batch's time of the run after the
    input's end); a run of fixed length (one stretch, unattended) starts no earlier than its
    end floor less its length, a resumable one may pause, so only its end is held back.
    ``Problem.ready`` also holds a resumable run's start back, which a run pausing over time
    off need not be, only as late as its end reaches the floor: good for rules, not for a
    bound."""
    job = problem.jobs[ref[0]]
    op = job.operations[ref[1]]
    start = max(earliest, job.release_date)
    lags: list[tuple[int, int, int]] = []
    for p in problem.predecessors[ref]:
        lag = job.transfer(p[1], ref[1])
        if lag is None:
            start = max(start, ends[p])
        else:
            batch, lot = lag
            start = max(start, starts[p] + -(-batch * (ends[p] - starts[p]) // lot))
            lags.append((ends[p], batch, lot))
    mode = problem.mode_of(op)
    first, last = None, None
    for a in op.alternatives:
        end_floor = max((e + -(-b * a.duration // n) for e, b, n in lags), default=0)
        begin = start if mode == "resumable" else max(start, end_floor - a.duration)
        t = problem.earliest_fit(a.machine, begin, a.duration, mode)
        if problem.run_end(a.machine, t, a.duration, mode) < end_floor:
            # a resumable run ends later the later it starts (over the same or more time off)
            lo, hi = t, end_floor
            while lo < hi:
                mid = (lo + hi) // 2
                if problem.run_end(a.machine, mid, a.duration, mode) >= end_floor:
                    hi = mid
                else:
                    lo = mid + 1
            t = problem.earliest_fit(a.machine, lo, a.duration, mode)
        end = max(problem.run_end(a.machine, t, a.duration, mode), end_floor)
        first = t if first is None else min(first, t)
        last = end if last is None else min(last, end)
    assert first is not None and last is not None
    return first, last


def calendar_heads(problem: Problem) -> tuple[dict[OpRef, int], dict[OpRef, int]]:
    """Earliest start and end of every operation with no other work in the plant: after its
    release and its predecessors, at the first fit in the calendar of its quickest unit
    (:func:`_place`). Every plan starts and ends each operation no earlier (each step takes the
    minimum over the units, and every floor grows with its inputs')."""
    starts: dict[OpRef, int] = {}
    ends: dict[OpRef, int] = {}
    for ref in problem.topological_order:
        starts[ref], ends[ref] = _place(problem, ref, starts, ends)
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


class _Rest:
    """Where an operation's order ends at the earliest when the operation starts no earlier
    than a given instant: its descendants placed as in :func:`calendar_heads` (each at its
    first fit on its quickest unit), every other input at its calendar head."""

    def __init__(self, problem: Problem, heads: dict[OpRef, int], ends: dict[OpRef, int]):
        self.problem = problem
        self.heads = heads
        self.ends = ends
        self.order: dict[int, list[OpRef]] = {}
        for ref in problem.topological_order:
            self.order.setdefault(ref[0], []).append(ref)

    def end(self, ref: OpRef, start: int) -> int:
        job = self.order[ref[0]]
        starts = {r: self.heads[r] for r in job}
        ends = {r: self.ends[r] for r in job}
        moved = {ref}
        out = 0
        for r in job:
            if r != ref and not any(q in moved for q in self.problem.predecessors[r]):
                continue
            starts[r], ends[r] = _place(
                self.problem, r, starts, ends, max(start, self.heads[r]) if r == ref else 0
            )
            moved.add(r)
            out = max(out, ends[r])
        return out


def _start_bound(
    rest: _Rest,
    time: _PoolTime,
    units: int,
    ops: list[tuple[int, int, int, OpRef]],
    release: int,
    work: int,
    beat: int,
) -> tuple[int, int] | None:
    """The bound from the last of ``ops`` (head, least run, tail, ref; all released from
    ``release``, ``work`` with their changeovers) to start on the pool's ``units``: when it
    starts, every other one has started and at most ``units - 1`` others still run, so the
    pool has done all the work but its own run and the ``units - 1`` longest others' after
    ``release``; its order then ends no earlier than it does alone from that start
    (:class:`_Rest`). Which one starts last is not known: the least over all of them. Returns
    (bound, start) when it beats ``beat``, else None (stops at the first that does not)."""
    runs = sorted((d for _, d, _, _ in ops), reverse=True)
    top = runs[:units]
    if len(runs) <= units:
        return None  # each may start at its head on a unit of its own
    starts = []
    fills: dict[int, int] = {}  # lots share their few run lengths
    for head, d, tail, ref in ops:
        others = sum(top) - d if d >= top[-1] else sum(top[: units - 1])
        done = work - d - others
        if done not in fills:
            fills[done] = time.fill(release, done)
        start = max(head, fills[done])
        # the run and the work after it in working units: a cheap floor of its order's end
        starts.append((start + d + tail, start, ref))
    starts.sort()
    least: tuple[int, int] | None = None
    for floor, start, ref in starts:
        if least is not None and floor >= least[0]:
            break
        end = rest.end(ref, start)
        if end <= beat:
            return None
        if least is None or end < least[0]:
            least = (end, start)
    return least


def bottleneck_bound(problem: Problem) -> PoolBound:
    """The pool whose released work needs the latest end (see the module docstring); its
    work includes the least changeover time it needs."""
    pools: dict[tuple[int, ...], list[OpRef]] = {}
    for ref, op in problem.iter_operations():
        pools.setdefault(tuple(sorted(a.machine for a in op.alternatives)), []).append(ref)
    heads, head_ends = calendar_heads(problem)
    tails = end_tails(problem)
    rest_of = _Rest(problem, heads, head_ends)
    best = PoolBound((), 0, 0, 0, 0)
    starts: list[tuple[tuple[int, ...], _PoolTime, list[tuple[int, int, int, OpRef]], int]] = []
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
            starts.append((machines, time, rest, work))
    # after every end bound: the best so far lets most start bounds stop at their first try
    for machines, time, rest, work in starts:
        release = rest[0][0]
        found = _start_bound(rest_of, time, len(machines), rest, release, work, best.bound)
        if found is not None:
            best = PoolBound(machines, found[0], release, work, 0, found[1])
    return best


def path_bound(problem: Problem) -> int:
    """The latest end of an order alone in the plant, in the calendars (:func:`calendar_heads`):
    no plan's makespan is shorter."""
    _, ends = calendar_heads(problem)
    return max(ends.values(), default=0)


def busy_while_waiting(
    problem: Problem,
    solution: Solution,
    machines: tuple[int, ...],
    *,
    fitting: bool = False,
    shortest_run: int | None = None,
) -> float:
    """Share of the pool's available unit-time that is busy (running or changing over) while
    some of its work is ready (released, inputs done) and not started: 1.0 means it never
    idles with work waiting. With ``fitting``, a unit counts as available only while a waiting
    operation could still run on it before its next pause (a non-resumable run needs one
    working stretch: the end of a stretch too short for every waiting run is not idleness
    a plan could fill); with ``shortest_run`` too, while a run of that length could (the
    pool's shortest: stretch ends that no run of the book fits, whatever waits)."""
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
                    need = shortest[0] if shortest_run is None else shortest_run
                    if k < len(pauses[m]) and pauses[m][k] - t < need:
                        continue
                avail += 1
                used += level[m] == 1
    return used / avail if avail else 1.0
