"""A solver-independent exact makespan for tiny job shops: enumerate every machine order."""

from __future__ import annotations

import itertools

from factoryos.schedule import Problem


def optimal_makespan(problem: Problem) -> int:
    """Minimum makespan over all machine orderings (semi-active schedules); tiny JSSP only."""
    assert not problem.is_flexible
    ops_on: list[list[tuple[int, int]]] = [[] for _ in range(problem.num_machines)]
    for ref, op in problem.iter_operations():
        ops_on[op.alternatives[0].machine].append(ref)
    best: int | None = None
    for orders in itertools.product(*(itertools.permutations(o) for o in ops_on)):
        preds = {ref: list(p) for ref, p in problem.predecessors.items()}
        for seq in orders:
            for a, b in itertools.pairwise(seq):
                preds[b].append(a)
        end: dict[tuple[int, int], int] = {}
        pending = set(preds)
        progressed = True
        while pending and progressed:
            progressed = False
            for ref in list(pending):
                if all(p in end for p in preds[ref]):
                    op = problem.jobs[ref[0]].operations[ref[1]]
                    start = max([problem.jobs[ref[0]].release_date] + [end[p] for p in preds[ref]])
                    end[ref] = start + op.alternatives[0].duration
                    pending.discard(ref)
                    progressed = True
        if pending:
            continue  # cyclic orders: infeasible
        mk = max(end.values())
        if best is None or mk < best:
            best = mk
    assert best is not None
    return best
