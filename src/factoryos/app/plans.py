"""Plans of a site kept by the service: create from an order book, read, Gantt rows, dispatch
lists per work unit and shift, repair. Solving goes through :mod:`factoryos.app.planning` (the
same code as ``factoryos schedule`` and ``repair``); each plan is a folder under the service's
work directory holding its orders, ``schedule.json`` and, for a repair, its parent's id.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factoryos.app.planning import parse_objective, plan_orders, write_schedule
from factoryos.app.repairing import repair_plan
from factoryos.model import Plant
from factoryos.model.calendar import shift_periods
from factoryos.model.errors import FactoryosError, ParameterError
from factoryos.model.schedule import Schedule
from factoryos.schedule import read_orders

__all__ = ["DownSpan", "PlanStore"]

Progress = Callable[[float], None]


@dataclass(frozen=True, slots=True)
class DownSpan:
    equipment: str
    unit: int
    start: dt.datetime
    end: dt.datetime


def check_objective(objective: str, *, single: bool = False) -> None:
    try:
        stages = parse_objective(objective)
    except FactoryosError as exc:
        raise ParameterError("objective", objective, str(exc)) from None
    if single and len(stages) > 1:
        raise ParameterError("objective", objective, "repair takes one objective, not an order")


def _ticking(progress: Progress, budget_s: float) -> Callable[[], None]:
    """Report elapsed/budget as progress until the returned function is called."""
    done = threading.Event()
    t0 = time.monotonic()

    def tick() -> None:
        while not done.wait(0.5):
            progress(min(0.95, (time.monotonic() - t0) / max(budget_s, 0.1)))

    threading.Thread(target=tick, daemon=True).start()
    return done.set


class PlanStore:
    """The plans of one site in ``root`` (one folder per plan id)."""

    def __init__(self, plant: Plant, plant_path: Path, root: Path) -> None:
        self.plant = plant
        self.plant_path = plant_path
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _dir(self, plan_id: str) -> Path:
        folder = self.root / plan_id
        if not plan_id.isalnum() or not (folder / "meta.json").is_file():
            raise KeyError(plan_id)
        return folder

    def new(self, orders_csv: str, objective: str) -> str:
        """A new plan id holding checked orders; solving is :meth:`solve`'s job."""
        check_objective(objective)
        plan_id = uuid.uuid4().hex[:12]
        folder = self.root / plan_id
        folder.mkdir()
        orders = folder / "orders.csv"
        orders.write_text(orders_csv, encoding="utf-8")
        try:
            read_orders(orders, products=self.plant.product_by_id)
        except FactoryosError as exc:
            raise ParameterError("orders_csv", orders_csv[:80], str(exc)) from None
        meta = {"id": plan_id, "objective": objective, "parent": None, "status": "queued"}
        (folder / "meta.json").write_text(json.dumps(meta))
        return plan_id

    def _meta(self, plan_id: str) -> dict[str, Any]:
        meta: dict[str, Any] = json.loads((self._dir(plan_id) / "meta.json").read_text())
        return meta

    def _save_meta(self, plan_id: str, **changes: Any) -> None:
        meta = self._meta(plan_id) | changes
        (self.root / plan_id / "meta.json").write_text(json.dumps(meta))

    def solve(self, plan_id: str, time_limit_s: float, progress: Progress) -> dict[str, Any]:
        meta = self._meta(plan_id)
        folder = self._dir(plan_id)
        stop = _ticking(progress, time_limit_s)
        try:
            out = plan_orders(
                self.plant_path,
                folder / "orders.csv",
                objective=meta["objective"],
                time_limit_s=time_limit_s,
            )
        finally:
            stop()
        write_schedule(out.schedule, folder, self.plant)
        self._save_meta(plan_id, status="done", rule=out.rule, rule_kpis=out.rule_kpis)
        return {"plan": plan_id, "kpis": out.kpis, "rule": out.rule, "rule_kpis": out.rule_kpis}

    def repair(
        self,
        parent: str,
        *,
        now: dt.datetime,
        down: list[DownSpan],
        objective: str,
        time_limit_s: float,
        progress: Progress,
    ) -> dict[str, Any]:
        folder = self._dir(parent)
        plan_id = uuid.uuid4().hex[:12]
        child = self.root / plan_id
        child.mkdir()
        (child / "orders.csv").write_bytes((folder / "orders.csv").read_bytes())
        meta = {"id": plan_id, "objective": objective, "parent": parent, "status": "running"}
        (child / "meta.json").write_text(json.dumps(meta))
        stop = _ticking(progress, time_limit_s)
        try:
            out = repair_plan(
                self.plant_path,
                folder / "orders.csv",
                folder / "schedule.json",
                now=now,
                down=[(d.equipment, d.unit, d.start, d.end) for d in down],
                objective=objective,
                time_limit_s=time_limit_s,
            )
        except BaseException:
            self._save_meta(plan_id, status="failed")
            raise
        finally:
            stop()
        write_schedule(out.schedule, child, self.plant)
        self._save_meta(plan_id, status="done", repaired_at=now.isoformat())
        return {"plan": plan_id, "parent": parent, "deviation_h": out.deviation_h}

    def add_repaired(self, parent: str, schedule: Schedule, orders_csv: str, **meta: Any) -> str:
        """A child plan of ``parent`` holding a repair made elsewhere (the live loop's), with
        its order book (the parent's, plus rush orders); ``meta`` goes to its ``meta.json``."""
        objective = self._meta(parent)["objective"]
        plan_id = uuid.uuid4().hex[:12]
        child = self.root / plan_id
        child.mkdir()
        (child / "orders.csv").write_text(orders_csv, encoding="utf-8")
        write_schedule(schedule, child, self.plant)
        doc = {"id": plan_id, "objective": objective, "parent": parent, "status": "done", **meta}
        (child / "meta.json").write_text(json.dumps(doc))  # last: the plan exists from here on
        return plan_id

    def set_meta(self, plan_id: str, **changes: Any) -> None:
        self._save_meta(plan_id, **changes)

    # -- reading ---------------------------------------------------------------------------------

    def folder(self, plan_id: str) -> Path:
        """The plan's folder: ``orders.csv``, ``meta.json`` and, once solved, ``schedule.json``."""
        return self._dir(plan_id)

    def ids(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if (p / "meta.json").is_file())

    def summary(self, plan_id: str) -> dict[str, Any]:
        meta = self._meta(plan_id)
        doc = self._doc(plan_id)
        if doc is not None:
            meta |= {k: v for k, v in doc.items() if k not in ("operations", "status")}
            meta["solver_status"] = doc["status"]
            meta["operations"] = len(doc["operations"])
        return meta

    def _doc(self, plan_id: str) -> dict[str, Any] | None:
        path = self._dir(plan_id) / "schedule.json"
        if not path.is_file():
            return None
        doc: dict[str, Any] = json.loads(path.read_text())
        return doc

    def operations(self, plan_id: str) -> list[dict[str, Any]]:
        doc = self._doc(plan_id)
        if doc is None:
            raise ParameterError("plan", plan_id, "the plan is not solved yet")
        ops: list[dict[str, Any]] = doc["operations"]
        return ops

    def gantt(self, plan_id: str) -> dict[str, Any]:
        """Bars per work unit; after a repair, which operations moved against the parent."""
        ops = self.operations(plan_id)
        meta = self._meta(plan_id)
        before: dict[tuple[str, str], dict[str, Any]] = {}
        if meta.get("parent"):
            parent = self.operations(meta["parent"])
            before = {(o["order_id"], o["operation_id"]): o for o in parent}
        bars = []
        for o in ops:
            old = before.get((o["order_id"], o["operation_id"]))
            moved = old is not None and any(
                old[k] != o[k] for k in ("start", "equipment_id", "unit_index")
            )
            bars.append(
                {
                    "unit": f"{o['equipment_id']}/{o['unit_index']}",
                    "order": o["order_id"],
                    "product": o["product"],
                    "operation": o["operation_id"],
                    "start": o["start"],
                    "end": o["end"],
                    "moved": moved,
                }
            )
        return {"plan": plan_id, "parent": meta.get("parent"), "bars": bars}

    def dispatch(
        self, plan_id: str, equipment: str, unit: int, day: dt.date, shift: str
    ) -> list[dict[str, Any]]:
        """The operations planned on one work unit that start in one shift of one local day."""
        eq = self.plant.equipment_by_id.get(equipment)
        if eq is None:
            raise ParameterError("equipment", equipment, "no such equipment in the plant")
        if not 1 <= unit <= eq.units:
            raise ParameterError("unit", unit, f"{equipment} has units 1..{eq.units}")
        line = next(ln for _, ln, e in self.plant.equipment_items() if e.id == equipment)
        calendar = self.plant.calendars[self.plant.calendar_id_of(line)]
        if shift not in {s.name for s in calendar.shifts}:
            raise ParameterError("shift", shift, f"shifts: {[s.name for s in calendar.shifts]}")
        zone = self.plant.zone
        lo = dt.datetime.combine(day, dt.time(0), zone)
        spans = [
            p
            for p in shift_periods(calendar, zone, lo, lo + dt.timedelta(days=2))
            if p.shift == shift and p.local_day == day
        ]
        if not spans:
            return []
        start, end = spans[0].start, spans[-1].end
        out = []
        for o in self.operations(plan_id):
            t = dt.datetime.fromisoformat(o["start"])
            if o["equipment_id"] == equipment and int(o["unit_index"]) == unit and start <= t < end:
                out.append(o)
        return sorted(out, key=lambda o: o["start"])
