"""Repair with a rush order on every example plant, at several deviation weights, on saved plans.

Each plant's 4-week book is planned once (``--objective combined``, ``--plan-time`` seconds) and
saved under ``--plans``; later runs reuse the saved plans, so code versions can be compared on
the same plans (run the older code with ``PYTHONPATH`` at its ``src``). Then ``repair_plan`` as
``bench/plan.py`` does it: the bottleneck's first unit down for a day at the rush file's first
release and the rush orders added, ``--repair-time`` seconds, once per deviation weight. Prints
each rush order's lateness in days, the weighted tardiness, the deviation (hours of start
shifts), the repair and right-shift objectives and the load average.

    nice .venv/bin/python bench/repair_rush.py --plans /tmp/plans --weights 1,0
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Annotated

import typer

from factoryos.app.planning import plan_orders, write_schedule
from factoryos.app.repairing import repair_plan
from factoryos.model.loader import load_plant
from factoryos.schedule import Objective, read_orders
from factoryos.schedule.bounds import bottleneck_bound

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PLANTS = {
    "robot": ("robot_factory.yaml", "orders_robot_4w.csv", "orders_rush.csv"),
    "electronics": (
        "electronics_plant.yaml",
        "orders_electronics_4w.csv",
        "orders_electronics_rush.csv",
    ),
    "coatings": ("coatings_plant.yaml", "orders_coatings_4w.csv", "orders_coatings_rush.csv"),
}


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def _saved_plan(
    plant_path: Path, orders_path: Path, folder: Path, seconds: float
) -> tuple[Path, tuple[str, int]]:
    """The saved plan in ``folder`` (planned now if missing) and its bottleneck's first unit."""
    meta = folder / "meta.json"
    if not meta.exists():
        folder.mkdir(parents=True, exist_ok=True)
        out = plan_orders(
            plant_path, orders_path, objective="combined", time_limit_s=seconds, num_workers=2
        )
        write_schedule(out.schedule, folder, load_plant(plant_path))
        p = out.plant_problem.problem
        down = p.machine_unit(bottleneck_bound(p).machines[0])
        meta.write_text(json.dumps({"down": list(down)}))
    equipment, unit = json.loads(meta.read_text())["down"]
    return folder / "schedule.json", (str(equipment), int(unit))


def main(
    plans: Annotated[Path, typer.Option(help="Folder of the saved plans (made if missing).")],
    weights: Annotated[str, typer.Option(help="Deviation weights, comma-separated.")] = "1",
    plan_time: Annotated[float, typer.Option(help="Seconds for each plant's plan.")] = 20.0,
    repair_time: Annotated[float, typer.Option(help="Seconds for each repair.")] = 10.0,
) -> None:
    for name, files in PLANTS.items():
        plant_path, orders_path, rush_path = (EXAMPLES / f for f in files)
        plan, (equipment, unit) = _saved_plan(plant_path, orders_path, plans / name, plan_time)
        rush = read_orders(rush_path)
        now = min(o.release for o in rush)
        for weight in (int(w) for w in weights.split(",")):
            t0 = time.process_time()
            rep = repair_plan(
                plant_path,
                orders_path,
                plan,
                now=now,
                down=[(equipment, unit, now, now + dt.timedelta(days=1))],
                rush_path=rush_path,
                time_limit_s=repair_time,
                deviation_weight=weight,
            )
            cpu = time.process_time() - t0
            assert rep.repaired is not None
            ends: dict[str, dt.datetime] = {}
            for op in rep.schedule.operations:
                ends[op.order_id] = max(ends.get(op.order_id, op.end), op.end)
            late = ", ".join(
                f"{o.order_id} {(ends[o.order_id] - o.due).total_seconds() / 86400:+.1f} d"
                for o in rush
                if o.due is not None
            )
            tardiness = Objective(0, 1).score(rep.repaired.problem, rep.repaired.result.solution)
            ratio = rep.schedule.objective / rep.right_shift_objective - 1
            print(
                f"{name} weight {weight}: rush late {late}; weighted tardiness {tardiness:,}; "
                f"deviation {rep.deviation_h:,.0f} h; repair {rep.schedule.objective:,.0f} / "
                f"right-shift {rep.right_shift_objective:,.0f} ({ratio:+.1%}) "
                f"[{rep.schedule.objective_name}]; {rep.schedule.wall_time_s:.1f} s wall, "
                f"{cpu:.1f} s CPU; load {_load()}; {rep.stopped}"
            )


if __name__ == "__main__":
    typer.run(main)
