"""Dispatching rules: Giffler-Thompson active schedules with a priority rule.

At each step the operation/machine pair with the earliest possible completion ``C*`` fixes a
machine ``m*``; every ready operation that could start on ``m*`` before ``C*`` is in conflict and
the rule picks one. This yields active schedules for job shops and a sensible machine choice for
flexible ones. The best rule's schedule warm-starts CP-SAT.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from factoryos.schedule.problem import Alternative, OpRef, Problem
from factoryos.schedule.solution import Assignment, Solution

__all__ = ["RULES", "best_rule", "dispatch"]


@dataclass(frozen=True, slots=True)
class _Candidate:
    ref: OpRef
    alt: Alternative
    est: int
    ops_left: int
    tail: int
    due: float
    ready: int


_Key = Callable[[_Candidate], tuple[float, ...]]

RULES: Mapping[str, _Key] = {
    "SPT": lambda c: (c.alt.duration, c.est),
    "LPT": lambda c: (-c.alt.duration, c.est),
    "MWKR": lambda c: (-c.tail, c.est),
    "LWKR": lambda c: (c.tail, c.est),
    "MOPNR": lambda c: (-c.ops_left, -c.tail),
    "EDD": lambda c: (c.due, -c.tail),
    "FIFO": lambda c: (c.ready, -c.tail),
}
"""Priority keys; the smallest key wins the conflict set."""


def dispatch(problem: Problem, rule: str = "MWKR") -> Solution:
    """Build an active schedule of ``problem`` with the named priority ``rule``."""
    key = RULES[rule]
    preds_left = {ref: len(p) for ref, p in problem.predecessors.items()}
    ready_time: dict[OpRef, int] = {}
    for ref, n in preds_left.items():
        if n == 0:
            ready_time[ref] = problem.jobs[ref[0]].release_date
    ops_left = [len(job.operations) for job in problem.jobs]
    machine_free = [0] * problem.num_machines
    tail = problem.tail
    out: list[Assignment] = []
    while ready_time:
        best_ect, best_m, best_ref = None, -1, None
        for ref, rt in ready_time.items():
            for alt in problem.jobs[ref[0]].operations[ref[1]].alternatives:
                ect = max(rt, machine_free[alt.machine]) + alt.duration
                if best_ect is None or ect < best_ect:
                    best_ect, best_m, best_ref = ect, alt.machine, ref
        assert best_ect is not None
        conflict: list[_Candidate] = []
        for ref, rt in ready_time.items():
            job = problem.jobs[ref[0]]
            alt_m = next(
                (a for a in job.operations[ref[1]].alternatives if a.machine == best_m), None
            )
            if alt_m is None:
                continue
            est = max(rt, machine_free[best_m])
            if est < best_ect or ref == best_ref:
                due = float(job.due_date) if job.due_date is not None else float("inf")
                conflict.append(_Candidate(ref, alt_m, est, ops_left[ref[0]], tail[ref], due, rt))
        chosen = min(conflict, key=lambda c: (*key(c), c.ref))
        start = chosen.est
        end = start + chosen.alt.duration
        out.append(Assignment(chosen.ref[0], chosen.ref[1], best_m, start, end))
        machine_free[best_m] = end
        ops_left[chosen.ref[0]] -= 1
        del ready_time[chosen.ref]
        for s in problem.successors[chosen.ref]:
            preds_left[s] -= 1
            if preds_left[s] == 0:
                ready_time[s] = max(
                    [problem.jobs[s[0]].release_date]
                    + [a.end for a in out if a.ref in problem.predecessors[s]]
                )
    return Solution.from_assignments(out)


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
