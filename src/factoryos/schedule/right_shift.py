"""A valid plan built from an old one at ``now``: frozen before ``now``, the rest shifted right
in its old sequence. The baseline every repair must beat, a repair's warm start, and the fix-up
when a merged plan's changeovers do not fit."""

from __future__ import annotations

import heapq

from factoryos.schedule.problem import Operation, OpRef, Problem
from factoryos.schedule.solution import Assignment, Solution

__all__ = ["right_shift"]


def right_shift(
    problem: Problem,
    old: Solution,
    now: int,
    *,
    new_first: bool = False,
    new_at: int | None = None,
) -> Solution:
    """A valid plan for ``problem`` built from ``old``: frozen before ``now``, the rest shifted.

    New orders (rush orders) come after the old plan's work, or with ``new_first`` in its
    sequence at their release, heaviest first: they take the units before old work that
    was to start later, which waits for them. ``new_at``: in the sequence at that time (or
    their release if later), between those two."""
    free = [0] * problem.num_machines
    last: list[Operation | None] = [None] * problem.num_machines
    end_of: dict[OpRef, int] = {}
    start_of: dict[OpRef, int] = {}
    out: list[Assignment] = []
    old_by_ref = old.by_ref()
    for a in sorted(old.assignments, key=lambda a: (a.start, a.end)):
        if a.start < now:
            out.append(a)
            end_of[a.ref] = a.end
            start_of[a.ref] = a.start
            free[a.machine] = max(free[a.machine], a.end)
            last[a.machine] = problem.jobs[a.job].operations[a.op]
    topo = {ref: i for i, ref in enumerate(problem.topological_order)}
    old_jobs = {a.job for a in old.assignments}

    def key(r: OpRef) -> tuple[bool, int, int, int]:
        # old operations in their old order; a remake of scrap (new operation of an old order)
        # at once, since its order waits for it; new orders last (or at their release)
        if r in old_by_ref:
            return (False, old_by_ref[r].start, 0, topo[r])
        if r[0] in old_jobs:
            return (False, now, 0, topo[r])
        job = problem.jobs[r[0]]
        if new_first or new_at is not None:
            return (False, max(now, job.release_date, new_at or 0), -job.weight, topo[r])
        return (True, 0, 0, topo[r])

    waiting = {
        r: sum(1 for p in problem.predecessors[r] if p not in end_of)
        for r in problem.topological_order
        if r not in end_of
    }
    queue = [(key(r), r) for r, n in waiting.items() if n == 0]
    heapq.heapify(queue)
    while queue:
        _, ref = heapq.heappop(queue)
        for s in problem.successors[ref]:
            if s in waiting:
                waiting[s] -= 1
                if waiting[s] == 0:
                    heapq.heappush(queue, (key(s), s))
        job = problem.jobs[ref[0]]
        op = job.operations[ref[1]]
        ready = max(now, problem.ready(ref, start_of, end_of))
        previous = old_by_ref[ref].machine if ref in old_by_ref else -1
        options = []
        for alt in op.alternatives:
            prev = last[alt.machine]
            setup = (
                problem.first_setup(alt.machine, op)
                if prev is None
                else problem.setup(alt.machine, prev, op)
            )
            mode = problem.mode_of(op)
            start = problem.earliest_start(
                alt.machine,
                ready,
                alt.duration,
                free=free[alt.machine],
                setup=setup,
                mode=mode,
            )
            end = problem.run_end(alt.machine, start, alt.duration, mode)
            # earliest completion; on a tie stay on the old machine
            options.append((end, alt.machine != previous, alt.machine, start))
        end, _, mach, start = min(options)
        out.append(Assignment(ref[0], ref[1], mach, start, end))
        end_of[ref] = end
        start_of[ref] = start
        free[mach] = end
        last[mach] = op
    return Solution.from_assignments(out)
