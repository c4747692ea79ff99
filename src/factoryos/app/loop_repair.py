"""One turn of the live loop: repair the current plan for what happened, then check the repair in
the twin.

The repair is :func:`factoryos.app.repairing.repair_plan` (the same as ``factoryos repair``),
given every downtime still known (so an earlier breakdown's window stays free), the rush orders
and the scrapped steps. The check is :func:`factoryos.app.robustness.assess_plans`: the plan
before and the plan after, each executed as planned ``replications`` times by the twin with the
breakdowns as outages on top of the modelled failures, with the same seeds (common random
numbers), so the per-order on-time probabilities before and after differ by the plans, not by
the dice. The result is a :class:`Proposal`, adopted at once or held for a planner by
:mod:`factoryos.app.live_loop`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
import time
import uuid
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factoryos.app.plans import DownSpan, PlanStore
from factoryos.app.repairing import RepairOutcome, repair_plan
from factoryos.app.robustness import PlanRobustness, assess_plans
from factoryos.simulate.units import Outage

__all__ = ["Proposal", "Trigger", "repair_and_check"]


@dataclass(frozen=True, slots=True)
class Trigger:
    """Something that asks for a repair: a unit down, a scrap report or a rush order."""

    site: str
    kind: str  # "down" | "scrap" | "rush"
    why: str  # for people: what happened, where, when
    observed_at: float  # wall clock (s) when the loop heard of it
    down: DownSpan | None = None
    scrap: tuple[str, str] | None = None  # (order id, step)
    rush_csv: str | None = None  # rows with the order book's header
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "why": self.why}
        out["observed_at"] = dt.datetime.fromtimestamp(self.observed_at, dt.UTC).isoformat()
        if self.down is not None:
            d = self.down
            out["down"] = {
                "equipment": d.equipment,
                "unit": d.unit,
                "start": d.start.isoformat(),
                "end": d.end.isoformat(),
            }
        if self.scrap is not None:
            out["scrap"] = {"order_id": self.scrap[0], "step": self.scrap[1]}
        return out


@dataclass
class Proposal:
    """A repaired, checked plan and what it changes; ``status`` moves from ``held`` to
    ``adopted`` or ``rejected`` (or it is ``adopted`` at once, or ``failed``)."""

    site: str
    triggers: tuple[Trigger, ...]
    parent: str
    now: dt.datetime
    plan: str | None = None
    status: str = "running"
    moves: tuple[dict[str, str], ...] = ()
    orders: tuple[dict[str, Any], ...] = ()  # per order: on-time probability before and after
    summary: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    repair_s: float = 0.0
    check_s: float = 0.0
    published_at: float | None = None  # wall clock (s) when its dispatch lists went out
    decided_by: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @property
    def latency_s(self) -> float | None:
        """From the first trigger heard to the dispatch lists published."""
        if self.published_at is None:
            return None
        return self.published_at - min(t.observed_at for t in self.triggers)

    def to_json(self, *, details: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "site": self.site,
            "status": self.status,
            "parent": self.parent,
            "plan": self.plan,
            "now": self.now.isoformat(),
            "triggers": [t.to_json() for t in self.triggers],
            "summary": self.summary,
            "error": self.error,
            "repair_s": round(self.repair_s, 3),
            "check_s": round(self.check_s, 3),
            "latency_s": None if self.latency_s is None else round(self.latency_s, 3),
            "decided_by": self.decided_by,
        }
        if details:
            out["moves"] = list(self.moves)
            out["orders"] = list(self.orders)
        return out


@dataclass(frozen=True, slots=True)
class LoopParams:
    time_limit_s: float = 5.0
    replications: int = 8
    seed: int = 1
    lookahead: dt.timedelta = dt.timedelta(days=3)  # check the orders due within


def _checked(
    parent: Path, now: dt.datetime, lookahead: dt.timedelta, downs: list[DownSpan]
) -> set[str]:
    """The orders the check simulates: those the plan before the repair had on a broken unit
    during its downtime, and those open at ``now`` and due before ``now + lookahead``. Orders
    done before ``now`` are the same in both plans (the past is frozen) and orders due later
    are re-planned again before they matter; leaving them out keeps the check within seconds
    on a four-week book."""
    doc = json.loads((parent / "schedule.json").read_text(encoding="utf-8"))
    ends = {
        (o["order_id"], o["operation_id"]): dt.datetime.fromisoformat(o["end"])
        for o in doc["operations"]
    }
    open_ids = {order for (order, _), end in ends.items() if end > now}
    hit = {
        o["order_id"]
        for o in doc["operations"]
        for d in downs
        if (o["equipment_id"], int(o["unit_index"])) == (d.equipment, d.unit)
        and dt.datetime.fromisoformat(o["start"]) < d.end
        and ends[(o["order_id"], o["operation_id"])] > max(d.start, now)
    }
    with (parent / "orders.csv").open(newline="", encoding="utf-8") as fh:
        return {
            r["order"]
            for r in csv.DictReader(fh)
            if r["order"] in open_ids
            and (r.get("due") or "").strip()
            and dt.datetime.fromisoformat(r["due"].strip()) < now + lookahead
        } | hit


def _cut(folder: Path, keep: set[str], out: Path) -> tuple[Path, Path]:
    """The plan in ``folder`` and its orders, cut to the orders in ``keep`` (files in ``out``)."""
    out.mkdir()
    with (folder / "orders.csv").open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = list(reader.fieldnames or [])
        rows = [r for r in reader if r["order"] in keep]
    orders = out / "orders.csv"
    with orders.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    doc = json.loads((folder / "schedule.json").read_text(encoding="utf-8"))
    doc["operations"] = [o for o in doc["operations"] if o["order_id"] in keep]
    plan = out / "schedule.json"
    plan.write_text(json.dumps(doc), encoding="utf-8")
    return orders, plan


def _with_rush(orders_csv: str, rush: list[str]) -> str:
    """The order book plus the rush orders' rows (their header must be the book's)."""
    text = orders_csv if orders_csv.endswith("\n") else orders_csv + "\n"
    header = text.splitlines()[0].strip()
    for csv_text in rush:
        lines = [ln for ln in csv_text.strip().splitlines() if ln.strip()]
        if lines and lines[0].strip() != header:
            raise ValueError(f"a rush order's header {lines[0]!r} is not the book's {header!r}")
        text += "".join(ln + "\n" for ln in lines[1:])
    return text


def _order_ids(orders_csv: str) -> set[str]:
    return {r["order"] for r in csv.DictReader(io.StringIO(orders_csv))}


def _per_order(before: PlanRobustness | None, after: PlanRobustness) -> tuple[dict[str, Any], ...]:
    old = {} if before is None else {o.order_id: o for o in before.orders}
    rows = []
    for o in after.orders:
        b = old.get(o.order_id)
        rows.append(
            {
                "order_id": o.order_id,
                "due": o.due.isoformat(),
                "on_time_before": None if b is None else round(b.on_time.value, 3),
                "on_time_after": round(o.on_time.value, 3),
                "tardiness_h_before": None if b is None else round(b.tardiness_h.mean, 2),
                "tardiness_h_after": round(o.tardiness_h.mean, 2),
            }
        )
    return tuple(rows)


def _repair_summary(out: RepairOutcome) -> dict[str, Any]:
    return {
        "moved_operations": len(out.moves),
        "deviation_h": round(out.deviation_h, 2),
        "repair_stopped": out.stopped,
    }


def warm_up(_: object = None) -> None:
    """Run in a check worker at start: the twin's modules imported before the first check."""
    import factoryos.app.robustness
    import factoryos.simulate.twin  # noqa: F401


def repair_and_check(
    plans: PlanStore,
    proposal: Proposal,
    downs: list[DownSpan],
    params: LoopParams,
    pool: Executor | None = None,
) -> None:
    """Fill ``proposal`` with the repaired plan (a new child plan of its parent, in ``plans``),
    its moves and the twin's verdict before and after; ``downs`` are all known downtimes.

    The plan before is checked while the repair runs (it does not depend on it); the plan after
    as soon as it is there. Both use the same seeds: common random numbers."""
    parent = plans.folder(proposal.parent)
    rush = [t.rush_csv for t in proposal.triggers if t.rush_csv]
    scrap = [t.scrap for t in proposal.triggers if t.scrap is not None]
    outages = [Outage(d.equipment, d.unit, d.start, d.end) for d in downs]
    keep = _checked(parent, proposal.now, params.lookahead, downs) | {o for o, _ in scrap}

    def check(folder: Path, orders: set[str], out: Path) -> PlanRobustness | None:
        if not orders:
            return None
        orders_path, plan_path = _cut(folder, orders, out)
        (result,) = assess_plans(
            plans.plant,
            orders_path,
            [plan_path],
            replications=params.replications,
            seed=params.seed,
            processes=1,
            outages=outages,
            pool=pool,
        )
        return result

    t0 = time.perf_counter()
    parent_csv = (parent / "orders.csv").read_text(encoding="utf-8")
    orders_csv = _with_rush(parent_csv, rush)
    with (
        tempfile.TemporaryDirectory(prefix="factoryos-loop-") as tmp,
        ThreadPoolExecutor(1, thread_name_prefix="factoryos-check") as side,
    ):
        before_run = side.submit(check, parent, keep, Path(tmp) / "before")
        rush_path = None
        if rush:
            rush_path = Path(tmp) / "rush.csv"
            rush_path.write_text(_with_rush(rush[0].strip().splitlines()[0], rush))
        out = repair_plan(
            plans.plant_path,
            parent / "orders.csv",
            parent / "schedule.json",
            now=proposal.now,
            down=[(d.equipment, d.unit, d.start, d.end) for d in downs],
            rush_path=rush_path,
            scrap=scrap,
            time_limit_s=params.time_limit_s,
            plant=plans.plant,
            compare_right_shift=False,
        )
        proposal.plan = plans.add_repaired(
            proposal.parent, out.schedule, orders_csv, loop=proposal.id, status_loop="checking"
        )
        proposal.repair_s = time.perf_counter() - t0
        proposal.moves = out.moves
        t0 = time.perf_counter()
        rush_ids = _order_ids(orders_csv) - _order_ids(parent_csv)
        after = check(plans.folder(proposal.plan), keep | rush_ids, Path(tmp) / "after")
        before = before_run.result()
    proposal.check_s = time.perf_counter() - t0
    proposal.summary = _repair_summary(out)
    if after is None:
        proposal.summary["orders_checked"] = 0
        return
    # before: None when only rush orders are checked (they were not in the plan before)
    proposal.orders = _per_order(before, after)
    proposal.summary |= {
        "replications": params.replications,
        "orders_checked": len(after.orders),
        "due_within_h": params.lookahead.total_seconds() / 3600,
        "on_time_orders_before": None if before is None else round(before.on_time_orders.mean, 2),
        "on_time_orders_after": round(after.on_time_orders.mean, 2),
        "tardiness_h_before": None if before is None else round(before.total_tardiness_h.mean, 1),
        "tardiness_h_after": round(after.total_tardiness_h.mean, 1),
    }
