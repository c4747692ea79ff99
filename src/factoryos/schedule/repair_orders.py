"""Plant-size repair: re-solve a few orders at a time with everything else fixed, until the time
is up or a whole pass finds nothing better.

Each step takes one order that costs (a rush order, an order the disruption moved or made late)
and the orders whose work sits right before its operations on their units: those are what keeps
it waiting, so a step can put a heavy rush order first and push them back (with the rest fixed
a step of the rush order alone only finds the gaps the others leave, and a loaded plant has
none). A pass goes through every costly order once; passes repeat while one of them improved
the plan, with steps of more orders after a pass without a gain, up to ``max_orders``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from factoryos.schedule.cpsat import CpSatJobShop, SolverParams
from factoryos.schedule.errors import NoSolutionError
from factoryos.schedule.problem import Operation, OpRef, Problem
from factoryos.schedule.solution import Assignment, Objective, Solution
from factoryos.schedule.validate import setups_in_unavailable

__all__ = ["Window", "repair_by_orders"]


@dataclass(frozen=True)
class Window:
    """What a repair step keeps: operations frozen (started before ``now``), where the old
    plan started the others (for the deviation term), and ``now``."""

    frozen: dict[OpRef, tuple[int, int]]
    old_starts: dict[OpRef, int]
    now: int


def _costly(problem: Problem, plan: Solution, window: Window) -> list[int]:
    """Orders by what they cost: new ones (weight first), then weighted lateness plus start
    shifts against the old plan; orders that cost nothing are left out."""
    ends: dict[int, int] = {}
    cost: dict[int, float] = {}
    for a in plan.assignments:
        ends[a.job] = max(ends.get(a.job, 0), a.end)
        if a.ref in window.old_starts:
            cost[a.job] = cost.get(a.job, 0) + abs(a.start - window.old_starts[a.ref])
        elif a.ref not in window.frozen:
            cost[a.job] = cost.get(a.job, 0) + 1e12 * problem.jobs[a.job].weight
    for j, end in ends.items():
        job = problem.jobs[j]
        if job.due_date is not None and end > job.due_date and end > window.now:
            cost[j] = cost.get(j, 0) + job.weight * (end - job.due_date)
    return [j for j, c in sorted(cost.items(), key=lambda x: (-x[1], x[0])) if c > 0]


def _ahead(plan: Solution, num_machines: int, job: int, count: int) -> list[int]:
    """Up to ``count`` other orders whose operations run right before ``job``'s on a unit,
    nearest first."""
    found: dict[int, int] = {}
    for seq in plan.machine_sequences(num_machines):
        for i, a in enumerate(seq):
            if a.job != job:
                continue
            for back, b in enumerate(reversed(seq[max(0, i - count) : i])):
                if b.job != job:
                    found[b.job] = min(found.get(b.job, back), back)
    return [j for j, _ in sorted(found.items(), key=lambda x: (x[1], x[0]))][:count]


def repair_by_orders(
    problem: Problem,
    start: Solution,
    window: Window,
    obj: Objective,
    deviation: tuple[int, int],
    score: Callable[[Solution], int],
    params: SolverParams,
    t0: float,
    *,
    orders_per_step: int = 2,
    max_orders: int = 6,
) -> tuple[Solution, str]:
    """Improve ``start`` within ``params.time_limit_s`` (counted from ``t0``); return the plan
    and why the search stopped. ``deviation``: the weight of the deviation term and the time
    units in an hour (see :mod:`.repair`); ``score``: the objective plus deviation."""
    best = start
    k = orders_per_step
    longest_setup = max(
        [d for *_, d in problem.setup_matrix]
        + [op.setup_default for _, op in problem.iter_operations()],
        default=0,
    )
    settled = window.now - longest_setup
    reach = _window_size(problem)

    def left() -> float:
        return params.time_limit_s - (time.perf_counter() - t0)

    steps = failed = 0

    def tried() -> str:
        return f"{steps} steps, {failed} without a plan from CP-SAT in their time"

    while True:
        queue = _costly(problem, best, window)
        if not queue:
            return best, "nothing left to improve: no order is late, new or moved"
        gained = False
        for j in queue:
            if left() <= 0.3:
                return best, f"time limit ({tried()})"
            jobs = [j, *(x for x in _ahead(best, problem.num_machines, j, k - 1) if x != j)]
            limit = SolverParams(left(), params.num_workers, params.seed)
            found = _step(
                problem,
                best,
                jobs,
                window,
                obj,
                deviation,
                (settled, longest_setup, reach),
                limit,
            )
            steps += 1
            failed += found is None
            if found is not None and score(found) < score(best):
                best, gained = found, True
        if not gained:
            if k >= max_orders:
                return best, (
                    f"a pass over every late, new or moved order ({len(queue)}) with up to "
                    f"{k} orders a step found nothing better ({tried()})"
                )
            k += 2


def _window_size(problem: Problem) -> int:
    """How far a step's operations may move, as in a decomposition step: twice the longest
    operation on units with their own time off, else no window. Why: without one an
    electronics step's start domains (a gap per pause of a year's calendar) and its thousands
    of fixed intervals of time off kept CP-SAT from any plan in a step's second (every step
    of the repair ended UNKNOWN, so the right-shift stood); the plants without time off of
    their own solve their steps whole."""
    if not problem.off:
        return 0
    return 2 * max(
        (a.duration for _, op in problem.iter_operations() for a in op.alternatives), default=0
    )


def _windows(hinted: list[Assignment], now: int, reach: int) -> dict[OpRef, tuple[int, int]]:
    """Start windows of a step's operations around their hinted starts: within ``reach`` of
    it, and the step's first order (the costly one) anywhere from ``now`` to that, so a rush
    order can come forward in one step; ``{}`` without a reach."""
    if not reach:
        return {}
    return {
        a.ref: (now if a.job == 0 else max(now, a.start - reach), a.start + reach) for a in hinted
    }


def _step(
    problem: Problem,
    best: Solution,
    jobs: list[int],
    window: Window,
    obj: Objective,
    deviation: tuple[int, int],
    room: tuple[int, int, int],
    limit: SolverParams,
) -> Solution | None:
    """``jobs`` re-solved with everything else fixed; ``None`` without a valid plan. ``room``:
    where fixed work matters (``settled``), the longest changeover and the start windows' reach
    (0: none, see :func:`_windows`)."""
    settled, longest_setup, window_size = room
    chosen = set(jobs)
    index = {j: i for i, j in enumerate(jobs)}
    sub = dataclasses.replace(
        problem, jobs=tuple(problem.jobs[j] for j in jobs), name=f"{problem.name}[repair]"
    )
    hinted = [
        Assignment(index[a.job], a.op, a.machine, a.start, a.end)
        for a in best.assignments
        if a.job in chosen
    ]
    windows = _windows(hinted, window.now, window_size)
    # fixed work that no window reaches cannot meet the step's operations: left out
    lo_reach, hi_reach = settled, float("inf")
    if windows:
        longest = max(
            (x.duration for _, op in sub.iter_operations() for x in op.alternatives), default=0
        )
        lo_reach = max(settled, min(lo for lo, _ in windows.values()) - longest_setup)
        hi_reach = max(hi for _, hi in windows.values()) + longest + longest_setup
    busy: dict[int, list[tuple[int, int]]] = {}
    fixed_ops: dict[int, list[tuple[int, int, Operation]]] = {}
    kept: list[Assignment] = []
    for a in best.assignments:
        if a.job not in chosen:
            kept.append(a)
            if a.end <= lo_reach or a.start > hi_reach:
                continue  # over before the step's free work can start (or set up), or after
            busy.setdefault(a.machine, []).append((a.start, a.end))
            if problem.has_setups:
                op = problem.jobs[a.job].operations[a.op]
                fixed_ops.setdefault(a.machine, []).append((a.start, a.end, op))
    remap = {a.ref: (index[a.job], a.op) for a in best.assignments if a.job in chosen}
    model = CpSatJobShop(
        sub,
        # the step's own work past the incumbent's end, as in a decomposition step: the
        # problem's horizon runs to the end of the calendar (a year of maintenance windows),
        # and start domains cut by a year of breaks made presolve take a 1 s step's budget
        upper_bound=problem.pad(
            best.makespan
            + sum(
                max(x.duration for x in op.alternatives) * (1 if op.resumable else 2)
                for _, op in sub.iter_operations()
            )
        ),
        objective=obj,
        busy=busy,
        fixed_ops=fixed_ops,
        makespan_floor=max((a.end for a in kept), default=0),
        frozen={remap[r]: v for r, v in window.frozen.items() if r in remap},
        not_before=window.now,
        deviation_from={remap[r]: t for r, t in window.old_starts.items() if r in remap},
        deviation_weight=deviation[0],
        deviation_unit=deviation[1],
        start_windows=windows,
    )
    model.add_hint(Solution.from_assignments(hinted))
    # small steps: on the 4-week plant 2-order steps all solved to optimality in 0.04-0.7 s,
    # 6-order steps mostly ended UNKNOWN at 1 s
    step = SolverParams(
        max(0.05, min(1.0, limit.time_limit_s - 0.1)),
        limit.num_workers,
        limit.seed,
        probing=not problem.has_setups,
        # as in a decomposition step: presolve of thousands of intervals of time off took the
        # whole step (see SolverParams.presolve)
        presolve=not problem.off,
    )
    try:
        r = model.solve(step)
    except NoSolutionError:
        return None
    merged = Solution.from_assignments(
        kept
        + [Assignment(jobs[a.job], a.op, a.machine, a.start, a.end) for a in r.solution.assignments]
    )
    # against fixed work the circuit does not know a step's first changeover on a unit
    touched = {a.machine for a in r.solution.assignments}
    if setups_in_unavailable(problem, merged, touched):
        return None
    return merged
