"""The maintenance lead's risk view of a site: failure risk per work unit from its latest stored
samples (:func:`factoryos.app.risk.score_units`, the classifier of ``factoryos risk``), and for
the units above the threshold the maintenance window :func:`place_maintenance` puts where it
costs the plan in force least.

The classifier is trained once per process on the AI4I 2020 CSV the service was given
(``serve --risk-data``), in a background thread started by the first request (a fit takes
seconds); until it is ready the view says ``training``. Placing a window repairs the plan once
per candidate, so placements are memoised by plan, unit and candidates: a poll after new samples
rescores the units but does not re-solve.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factoryos.app.fit import stored_window
from factoryos.app.plans import PlanStore
from factoryos.app.risk import read_ai4i, score_units
from factoryos.app.risk_window import WindowCost, candidate_starts, place_maintenance
from factoryos.model import Plant
from factoryos.model.errors import FactoryosError
from factoryos.reliability.risk import SENSORS, RiskModel, train_risk_model
from factoryos.store.protocol import EventStore

__all__ = ["RiskModelCache", "WindowAsk", "plan_in_force", "risk_json"]


class RiskModelCache:
    """One classifier per process, trained in a thread on first use."""

    def __init__(self, data: Path | None) -> None:
        self.data = data
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._model: RiskModel | None = None
        self._error: str | None = None

    def _train(self) -> None:
        assert self.data is not None
        try:
            ai4i = read_ai4i(self.data)
            # folds=0: no cross-validation in the service, `factoryos risk train` reports it
            model = train_risk_model(ai4i.x, ai4i.y, source=str(self.data), folds=0)
        except FactoryosError as exc:
            with self._lock:
                self._error = str(exc)
            return
        with self._lock:
            self._model = model

    def state(self) -> tuple[str, RiskModel | None]:
        """(status, model): ``none`` (no data given), ``training``, ``failed: ...``, ``ready``."""
        if self.data is None:
            return "none", None
        with self._lock:
            if self._model is not None:
                return "ready", self._model
            if self._error is not None:
                return f"failed: {self._error}", None
            if self._thread is None:
                self._thread = threading.Thread(target=self._train, name="risk-train", daemon=True)
                self._thread.start()
        return "training", None

    def wait(self, timeout_s: float) -> None:
        """Block until a started training ends (tests, and a CLI that wants the model now)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)


def plan_in_force(plans: PlanStore) -> str | None:
    """The newest solved plan that is not a live-loop proposal (the live loop's own rule
    before any adoption; with a loop running, ask the loop)."""
    best: tuple[float, str] | None = None
    for plan_id in plans.ids():
        summary = plans.summary(plan_id)
        if summary.get("status") != "done" or summary.get("loop"):
            continue
        made = (plans.folder(plan_id) / "meta.json").stat().st_mtime
        if best is None or made > best[0]:
            best = (made, plan_id)
    return None if best is None else best[1]


@dataclass(frozen=True, slots=True)
class WindowAsk:
    """How to look for maintenance windows."""

    duration: dt.timedelta
    horizon: dt.timedelta
    step: dt.timedelta
    time_limit_s: float


_placements: dict[tuple[Any, ...], list[WindowCost]] = {}
_placements_lock = threading.Lock()
PLACEMENTS_KEPT = 512


def _placed(
    plans: PlanStore,
    plan_id: str,
    equipment: str,
    unit: int,
    first: dt.datetime,
    ask: WindowAsk,
) -> list[WindowCost]:
    folder = plans.folder(plan_id)
    key = (str(folder), equipment, unit, first, ask)
    with _placements_lock:
        hit = _placements.get(key)
    if hit is not None:
        return hit
    costs = place_maintenance(
        plans.plant_path,
        folder / "orders.csv",
        folder / "schedule.json",
        equipment=equipment,
        unit=unit,
        duration=ask.duration,
        starts=candidate_starts(first, ask.horizon, ask.step),
        now=first,
        time_limit_s=ask.time_limit_s,
    )
    with _placements_lock:
        if len(_placements) >= PLACEMENTS_KEPT:
            _placements.pop(next(iter(_placements)))
        _placements[key] = costs
    return costs


def _window_json(c: WindowCost) -> dict[str, Any]:
    return {
        "start": c.start.isoformat(),
        "end": c.end.isoformat(),
        "added_weighted_tardiness_h": round(c.added_weighted_tardiness_h, 3),
        "weighted_tardiness_h": round(c.weighted_tardiness_h, 3),
        "late_orders": c.late_orders,
        "lost_capacity_h": round(c.displaced_work_h, 3),
    }


def risk_json(
    store: EventStore,
    plant: Plant,
    models: RiskModelCache,
    plans: PlanStore,
    plan_id: str | None,
    *,
    threshold: float,
    start: dt.datetime | None,
    end: dt.datetime | None,
    now: dt.datetime | None,
    ask: WindowAsk,
) -> dict[str, Any]:
    """Units by risk, the threshold, and the cheapest window (with the others priced) for each
    unit at or above it."""
    status, model = models.state()
    out: dict[str, Any] = {
        "site": plant.site.id,
        "threshold": threshold,
        "sensors": list(SENSORS),
        "model": {"status": status, "source": None if model is None else model.source},
        "plan": plan_id,
        "units": [],
        "note": None,
    }
    if model is None:
        out["note"] = (
            "no risk model: start the service with --risk-data AI4I2020.csv"
            if status == "none"
            else f"risk model {status}; ask again shortly"
            if status == "training"
            else f"risk model {status}"
        )
        return out
    if store.time_range() is None:
        out["note"] = "the event store is empty: no samples to score"
        return out
    lo, hi = stored_window(store, start, end, "no samples to score")
    out["window"] = {"from": lo.isoformat(), "to": hi.isoformat()}
    risks = score_units(store, plant, model, lo, hi)
    first = now or hi
    notes = []
    if plan_id is None and any(r.risk is not None and r.risk >= threshold for r in risks):
        notes.append("no solved plan in force: maintenance windows cannot be placed")
    for r in risks:
        row: dict[str, Any] = {
            "path": r.path,
            "equipment": r.equipment_id,
            "unit": r.unit,
            "risk": None if r.risk is None else round(r.risk, 4),
            "sampled_at": None if r.sampled_at is None else r.sampled_at.isoformat(),
            "missing": list(r.missing),
            "above_threshold": r.risk is not None and r.risk >= threshold,
            "window": None,
            "candidates": [],
        }
        if row["above_threshold"] and plan_id is not None:
            try:
                costs = _placed(plans, plan_id, r.equipment_id, r.unit, first, ask)
            except FactoryosError as exc:
                notes.append(f"{r.path}: no window placed: {exc}")
            else:
                row["candidates"] = [_window_json(c) for c in costs]
                row["window"] = row["candidates"][0] if costs else None
        out["units"].append(row)
    if not risks:
        notes.append(f"no work unit sent samples of the sensors {', '.join(SENSORS)}")
    out["note"] = "; ".join(notes) or None
    return out
