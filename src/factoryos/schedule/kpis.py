"""Plan KPIs: makespan, tardiness, utilization, from a solution of a plant problem."""

from __future__ import annotations

from factoryos.schedule.orders import PlantProblem
from factoryos.schedule.solution import Solution

__all__ = ["plan_kpis"]


def plan_kpis(pp: PlantProblem, solution: Solution) -> dict[str, float]:
    """Makespan and tardiness in hours, late orders, and mean/max work-unit utilization.

    Utilization is busy time over the plan span (first release to makespan) per work unit that
    the plan uses at all, so idle pools of other skills do not dilute it.
    """
    p = pp.problem
    hours = pp.time_unit.total_seconds() / 3600
    ends: dict[int, int] = {}
    busy = [0] * p.num_machines
    for a in solution.assignments:
        ends[a.job] = max(ends.get(a.job, 0), a.end)
        busy[a.machine] += a.end - a.start
    late = 0
    tardiness = 0.0
    weighted = 0.0
    for j, job in enumerate(p.jobs):
        if job.due_date is None or j not in ends:
            continue
        t = max(0, ends[j] - job.due_date)
        late += t > 0
        tardiness += t
        weighted += job.weight * t
    span = max(1, solution.makespan - min((j.release_date for j in p.jobs), default=0))
    eligible = {a.machine for _, op in p.iter_operations() for a in op.alternatives}
    used = [busy[m] / span for m in sorted(eligible)]
    return {
        "makespan_h": solution.makespan * hours,
        "total_tardiness_h": tardiness * hours,
        "total_weighted_tardiness_h": weighted * hours,
        "late_orders": float(late),
        "orders": float(len(p.jobs)),
        "on_time_rate": 1 - late / len(p.jobs) if p.jobs else 1.0,
        "utilization_mean": sum(used) / len(used) if used else 0.0,
        "utilization_max": max(used, default=0.0),
    }
