"""Plan KPIs: makespan, tardiness, utilization, from a solution of a plant problem."""

from __future__ import annotations

from factoryos.schedule.orders import PlantProblem
from factoryos.schedule.solution import Solution

__all__ = ["plan_kpis"]


def plan_kpis(pp: PlantProblem, solution: Solution) -> dict[str, float]:
    """Makespan and tardiness in wall-clock hours, late orders, work-unit utilization, family
    changeovers and their (working) hours, time-of-use energy cost of production (CNY).

    Utilization is busy time over the plan span (first release to makespan) on the plan's time
    axis (working time when planned on the calendar), per work unit that the plan could use at
    all, so idle pools of other skills do not dilute it.
    """
    p = pp.problem
    axis = pp.axis
    ends: dict[int, int] = {}
    busy = [0] * p.num_machines
    for a in solution.assignments:
        ends[a.job] = max(ends.get(a.job, 0), a.end)
        busy[a.machine] += a.end - a.start
    late = 0
    tardiness = 0.0
    weighted = 0.0
    for j, job in enumerate(p.jobs):
        due = pp.orders[j].due if j < len(pp.orders) else None
        if due is None or j not in ends:
            continue
        t = max(0.0, (axis.end_at(ends[j]) - due).total_seconds() / 3600)
        late += t > 0
        tardiness += t
        weighted += job.weight * t
    span = max(1, solution.makespan - min((j.release_date for j in p.jobs), default=0))
    eligible = {a.machine for _, op in p.iter_operations() for a in op.alternatives}
    used = [busy[m] / span for m in sorted(eligible)]
    setups = [d for d in solution.setups(p).values() if d > 0] if p.has_setups else []
    unit_h = pp.time_unit.total_seconds() / 3600
    return {
        "makespan_h": (axis.end_at(solution.makespan) - pp.origin).total_seconds() / 3600,
        "total_tardiness_h": tardiness,
        "total_weighted_tardiness_h": weighted,
        "late_orders": float(late),
        "orders": float(len(p.jobs)),
        "on_time_rate": 1 - late / len(p.jobs) if p.jobs else 1.0,
        "utilization_mean": sum(used) / len(used) if used else 0.0,
        "utilization_max": max(used, default=0.0),
        "changeovers": float(len(setups)),
        "setup_h": sum(setups) * unit_h,
        "energy_cost_cny": solution.energy_cost_fen(p) / 100,
    }
