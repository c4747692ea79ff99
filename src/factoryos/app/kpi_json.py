"""The stable JSON form of a KPI report (schema ``factoryos.kpi/2``, see docs/kpi-json.md)."""

from __future__ import annotations

import math
from typing import Any

from factoryos.kpi.report import KpiGroup, KpiReport

SCHEMA = "factoryos.kpi/2"


def report_to_json(report: KpiReport) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "node": report.node,
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "by": report.by.value,
        "total": group_to_json(report.total),
        "groups": [group_to_json(g) for g in report.groups],
        "downtime_pareto": [
            {
                "reason": p.reason,
                "state": p.state,
                "seconds": p.seconds,
                "share": p.share,
                "cumulative_share": p.cumulative_share,
            }
            for p in report.pareto
        ],
        "warnings": list(report.warnings),
        "modelling_errors": [
            {
                "path": e.path,
                "effectiveness": e.effectiveness,
                "apt_s": e.apt_s,
                "pri_x_pq_s": e.planned_run_s,
                "producing_outside_pbt_s": e.producing_outside_s,
                "cycle_times": [
                    {
                        "product": c.product,
                        "operation": c.operation,
                        "equipment": c.equipment,
                        "pri_s": c.planned_s,
                        "units": c.units,
                    }
                    for c in e.cycle_times
                ],
                "message": e.message,
            }
            for e in report.modelling_errors
        ],
    }


def group_to_json(group: KpiGroup) -> dict[str, Any]:
    t, q, m, r = (
        group.inputs.time,
        group.inputs.quantities,
        group.inputs.maintenance,
        group.inputs.resources,
    )
    return {
        "group": {
            "path": group.group.path,
            "local_day": group.group.local_day.isoformat() if group.group.local_day else None,
            "shift": group.group.shift,
        },
        "time_elements_s": {
            "pot": t.pot_s,
            "planned_downtime": t.planned_down_s,
            "pbt": t.pbt_s,
            "apt": t.apt_s,
            "aust": t.aust_s,
            "aupt": t.aupt_s,
            "adet": t.adet_s,
            "aubt": t.aubt_s,
            "adot": t.adot_s,
            "apmt": t.apmt_s,
            "unknown": t.unknown_s,
        },
        "quantities": {
            "pq": q.pq,
            "gq": q.gq,
            "sq": q.sq,
            "rq": q.rq,
            "pri_x_pq_s": q.planned_run_s,
            "finished_good": q.finished_good,
            "value_added_cny": q.value_added_cny,
        },
        "maintenance": {
            "failures": m.failures,
            "failure_s": m.failure_s,
            "maintenance_s": m.maintenance_s,
        },
        "resources": {
            "energy_kwh": r.energy_kwh,
            "energy_cost_cny": r.energy_cost_cny,
            "labour_h": r.labour_h,
            "equipment_cost_cny": r.equipment_cost_cny,
            "overhead_cny": r.overhead_cny,
        },
        "kpis": {k: _finite(v) for k, v in group.kpis.items()},
        "losses_s": group.losses.as_dict(),
    }


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
