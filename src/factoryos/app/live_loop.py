"""The live loop of ``factoryos serve --loop auto|approval``: what happens on the shop floor
re-plans, the twin checks, the cells get their new dispatch lists.

Triggers: a ``fault`` state stored for a work unit the current plan still uses (its downtime
taken as the equipment's modelled mean time to repair, or ``default_down_h``), a production
count with at least ``scrap_threshold`` scrapped units of a planned order, or a rush order or
scrap report posted through the API. One worker thread takes them in turn (triggers of a site
that arrive during a repair are handled together in the next turn) and makes a
:class:`~factoryos.app.loop_repair.Proposal`: repaired (time limit ``time_limit_s``) and checked
in the twin (:mod:`factoryos.app.loop_repair`). With policy ``auto`` it is adopted at once;
with ``approval`` it is held until a planner approves it (or rejects it). Adopting makes it the
site's current plan and publishes its dispatch lists (:mod:`factoryos.app.loop_dispatch`).
Every proposal is also told to the browsers through the hub (kind ``loop``), and kept with the
plan adopted last in the service's records (:mod:`factoryos.app.loop_records`): a restarted
server shows them and keeps the adopted plan in force.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from factoryos.app.hub import Hub, LiveMessage
from factoryos.app.loop_dispatch import DispatchOut, dispatch_lists
from factoryos.app.loop_records import proposal_doc, proposal_of
from factoryos.app.loop_repair import LoopParams, Proposal, Trigger, repair_and_check, warm_up
from factoryos.app.plans import DownSpan, PlanStore
from factoryos.model import Event, Plant, ProductionCount, StateChange
from factoryos.model.errors import FactoryosError, ParameterError, StoreError
from factoryos.model.states import FAILURE_STATES
from factoryos.store.records import RecordStore

__all__ = ["LiveLoop", "LoopPolicy", "LoopSettings"]

log = logging.getLogger(__name__)
H = 3600.0
KEPT = 200  # proposals remembered per site
RECENT = dt.timedelta(hours=1)  # a breakdown older than this is not re-planned from its start


class LoopPolicy(StrEnum):
    OFF = "off"
    AUTO = "auto"  # adopt and publish every checked repair at once
    APPROVAL = "approval"  # hold it for a planner


@dataclass(frozen=True, slots=True)
class LoopSettings:
    policy: LoopPolicy = LoopPolicy.OFF
    broker: str | None = None  # mqtt://HOST:PORT for the cells' dispatch lists (None: no MQTT)
    topic_prefix: str = "factoryos"
    time_limit_s: float = 3.0  # the repair's (<= 5 s): room for the check within 15 s
    replications: int = 8
    check_processes: int = 2  # twin check workers (processes, kept warm)
    scrap_threshold: int = 1
    default_down_h: float = 2.0
    check_due_within_h: float = 72.0  # the twin checks the open orders due within this


@dataclass(frozen=True, slots=True)
class LoopSite:
    plant: Plant
    plans: PlanStore


class LiveLoop:
    """The loop over the service's sites; :meth:`start`, :meth:`stop`, and :meth:`observe`
    every batch of stored events."""

    def __init__(
        self,
        settings: LoopSettings,
        sites: dict[str, LoopSite],
        now: Callable[[str], dt.datetime],
        hub: Hub,
        records: RecordStore,
    ) -> None:
        if settings.policy is LoopPolicy.OFF:
            raise ParameterError("loop", settings.policy.value, "a loop that is off is not built")
        if not 0 < settings.time_limit_s <= 5.0:
            raise ParameterError("loop_time_limit", settings.time_limit_s, "expected 0 < s <= 5")
        if settings.replications < 2:
            raise ParameterError("loop_replications", settings.replications, "expected >= 2")
        self.settings = settings
        self.sites = sites
        self.now = now
        self.hub = hub
        self.out: DispatchOut | None = None
        self.params = LoopParams(
            time_limit_s=settings.time_limit_s,
            replications=settings.replications,
            lookahead=dt.timedelta(hours=settings.check_due_within_h),
        )
        self._pool: ProcessPoolExecutor | None = None
        self._units = {
            site: {w.path: (w.equipment.id, w.unit) for w in s.plant.work_units}
            for site, s in sites.items()
        }
        self._lock = threading.Lock()
        self._queue: queue.Queue[Trigger | None] = queue.Queue()
        # what an earlier server of these sites proposed and adopted: kept over a restart
        self._records = records
        self._proposals: dict[str, list[Proposal]] = {}
        for site in sites:
            self._proposals[site] = [proposal_of(d) for d in records.proposals(site, KEPT)]
            for p in self._proposals[site]:
                if p.status == "interrupted":
                    self._save(p)
        self._adopted: dict[str, tuple[str, float]] = {  # site -> (plan id, wall time)
            site: (plan, at.timestamp())
            for site, (plan, at) in records.adoptions().items()
            if site in sites
        }
        self._downs: dict[str, list[DownSpan]] = {s: [] for s in sites}
        self._ops_cache: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.ignored = 0  # triggers that did not concern the current plan
        self._thread: threading.Thread | None = None

    # -- life ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect to the broker (when one is set: an unreachable broker fails the start) and
        start the worker."""
        if self.settings.broker is not None:
            plants = {site: s.plant for site, s in self.sites.items()}
            self.out = DispatchOut(self.settings.broker, self.settings.topic_prefix, plants)
        # spawned, not forked: the server's threads (twin, broker client) hold locks
        workers = max(1, self.settings.check_processes)
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        for _ in range(workers):
            self._pool.submit(warm_up)
        self._thread = threading.Thread(target=self._work, name="factoryos-loop", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout_s)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        if self.out is not None:
            self.out.close()
            self.out = None

    # -- triggers --------------------------------------------------------------------------------

    def observe(self, site: str, events: Sequence[Event]) -> None:
        """Stored events of ``site``: faults of planned units and scrap of planned orders."""
        heard = time.time()
        for event in events:
            if isinstance(event, StateChange) and event.state in FAILURE_STATES:
                self._on_fault(site, event, heard)
            elif (
                isinstance(event, ProductionCount)
                and event.order_id
                and event.operation
                and event.scrap >= self.settings.scrap_threshold
            ):
                self._on_scrap(site, event, heard)

    def _on_fault(self, site: str, event: StateChange, heard: float) -> None:
        unit = self._units[site].get(event.path)
        plan = self.current(site)
        if unit is None or plan is None:
            return
        equipment, index = unit
        with self._lock:
            if any(
                (d.equipment, d.unit) == unit and d.start <= event.ts < d.end
                for d in self._downs[site]
            ):
                return  # the same breakdown told twice (a re-sent or re-ingested event)
        if not any(
            o["equipment_id"] == equipment
            and int(o["unit_index"]) == index
            and dt.datetime.fromisoformat(o["end"]) > event.ts
            for o in self._operations(site, plan)
        ):
            self.ignored += 1
            return
        failure = self.sites[site].plant.equipment_by_id[equipment].failure
        down_s = failure.time_to_repair.mean if failure is not None else None
        down_s = down_s if down_s is not None else self.settings.default_down_h * H
        span = DownSpan(equipment, index, event.ts, event.ts + dt.timedelta(seconds=down_s))
        why = f"{event.path} down at {event.ts.isoformat()} ({event.reason or event.state.value})"
        why += f", expected for {down_s / H:.1f} h"
        self._queue.put(Trigger(site, "down", why, heard, down=span))

    def _on_scrap(self, site: str, event: ProductionCount, heard: float) -> None:
        plan = self.current(site)
        if plan is None:
            return
        step = _planned_step(self._operations(site, plan), event)
        if step is None:
            self.ignored += 1
            return
        assert event.order_id is not None
        why = f"{event.scrap} scrapped of {event.order_id} {step} on {event.path}"
        self._queue.put(Trigger(site, "scrap", why, heard, scrap=(event.order_id, step)))

    def report_scrap(self, site: str, order_id: str, step: str, by: str) -> Trigger:
        """A scrap report through the API: the step is remade."""
        self._need_plan(site)
        why = f"{by} reported {order_id} {step} scrapped"
        trigger = Trigger(site, "scrap", why, time.time(), scrap=(order_id, step))
        self._queue.put(trigger)
        return trigger

    def rush(self, site: str, orders_csv: str, by: str) -> Trigger:
        """Rush orders (CSV with the order book's header) to fit into the current plan."""
        self._need_plan(site)
        rows = [ln for ln in orders_csv.strip().splitlines() if ln.strip()]
        if len(rows) < 2:
            raise ParameterError("orders_csv", orders_csv[:80], "a header and at least one order")
        ids = ", ".join(r.split(",", 1)[0] for r in rows[1:])
        why = f"{by} posted rush order {ids}"
        trigger = Trigger(site, "rush", why, time.time(), rush_csv=orders_csv)
        self._queue.put(trigger)
        return trigger

    def _need_plan(self, site: str) -> None:
        if self.current(site) is None:
            raise FactoryosError(f"site {site!r} has no solved plan for the loop to repair yet")

    # -- the plan in force -----------------------------------------------------------------------

    def current(self, site: str) -> str | None:
        """The adopted plan, or a newer plan solved since (a planner's new plan wins); before
        any adoption the newest solved plan that is not a loop proposal."""
        plans = self.sites[site].plans
        best: tuple[float, str] | None = None
        for plan_id in plans.ids():
            summary = plans.summary(plan_id)
            if summary.get("status") != "done" or summary.get("loop"):
                continue
            made = (plans.folder(plan_id) / "meta.json").stat().st_mtime
            if best is None or made > best[0]:
                best = (made, plan_id)
        with self._lock:
            adopted = self._adopted.get(site)
        if adopted is not None and (best is None or adopted[1] >= best[0]):
            return adopted[0]
        return None if best is None else best[1]

    def proposals(self, site: str) -> list[Proposal]:
        with self._lock:
            return list(reversed(self._proposals[site]))

    def proposal(self, site: str, proposal_id: str) -> Proposal:
        for p in self.proposals(site):
            if p.id == proposal_id:
                return p
        raise KeyError(proposal_id)

    def downs(self, site: str) -> list[DownSpan]:
        with self._lock:
            return list(self._downs[site])

    def decide(self, site: str, proposal_id: str, *, approve: bool, by: str) -> Proposal:
        """A planner approves (adopt and publish) or rejects a held proposal."""
        proposal = self.proposal(site, proposal_id)
        if proposal.status != "held":
            raise FactoryosError(f"proposal {proposal_id} is {proposal.status}, not held")
        if approve and self.current(site) != proposal.parent:
            proposal.status = "stale"
            self._tell(proposal)
            raise FactoryosError(
                f"proposal {proposal_id} repaired plan {proposal.parent}, which is no longer "
                "current: it is stale"
            )
        proposal.decided_by = by
        if approve:
            self._adopt(proposal)
        else:
            proposal.status = "rejected"
            self._tell(proposal)
        return proposal

    # -- the worker ------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while True:  # what arrived meanwhile for the same site goes into the same repair
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                batch.append(more)
            for site in dict.fromkeys(t.site for t in batch):
                self._turn(site, tuple(t for t in batch if t.site == site))

    def _turn(self, site: str, triggers: tuple[Trigger, ...]) -> None:
        parent = self.current(site)
        if parent is None:
            return
        now = self.now(site)
        new = [t.down for t in triggers if t.down is not None and t.down.end > now]
        # re-plan from the breakdown itself, so that no work planned on the broken unit in the
        # seconds the loop took counts as started (frozen) there
        now = min([now, *(d.start for d in new if d.start > now - RECENT)])
        with self._lock:
            downs = self._downs[site]
            downs.extend(new)
            downs[:] = [d for d in downs if d.end > now]
            active = list(downs)
            self._proposals[site].append(proposal := Proposal(site, triggers, parent, now))
            del self._proposals[site][:-KEPT]
        self._save(proposal)
        try:
            repair_and_check(self.sites[site].plans, proposal, active, self.params, self._pool)
        except (FactoryosError, ValueError, OSError) as exc:
            proposal.status, proposal.error = "failed", str(exc)
            self._tell(proposal)
            return
        except Exception as exc:  # the loop must outlive one bad turn; the cause is kept
            log.exception("live loop turn failed")
            proposal.status, proposal.error = "failed", f"{type(exc).__name__}: {exc}"
            self._tell(proposal)
            return
        if self.settings.policy is LoopPolicy.AUTO:
            proposal.decided_by = "auto"
            self._adopt(proposal)
        else:
            proposal.status = "held"
            self._tell(proposal)

    def _adopt(self, proposal: Proposal) -> None:
        site, plan = proposal.site, proposal.plan
        assert plan is not None
        plans = self.sites[site].plans
        adopted = time.time()
        with self._lock:
            self._adopted[site] = (plan, adopted)
        plans.set_meta(plan, status_loop="adopted")
        try:
            self._records.put_adoption(site, plan, dt.datetime.fromtimestamp(adopted, dt.UTC))
        except StoreError:  # the plan is in force all the same; a restart will not know it
            log.exception("the adoption of %s at %s was not stored", plan, site)
        if self.out is not None:
            try:
                self.out.publish(site, self.dispatch(site, plan), plan, proposal.id)
            except FactoryosError as exc:
                proposal.error = f"dispatch lists not published: {exc}"
        proposal.published_at = time.time()
        proposal.status = "adopted"  # last: a reader seeing it sees the publication's time
        self._tell(proposal)

    def _tell(self, proposal: Proposal) -> None:
        self._save(proposal)
        self.hub.publish(LiveMessage(proposal.site, "loop", proposal.to_json(details=False)))

    def _save(self, proposal: Proposal) -> None:
        """Keep the proposal as it is now; a store that fails is logged, the loop goes on."""
        first = min(t.observed_at for t in proposal.triggers)
        created = dt.datetime.fromtimestamp(first, dt.UTC)
        try:
            self._records.put_proposal(proposal.site, proposal.id, created, proposal_doc(proposal))
        except StoreError:
            log.exception("proposal %s of %s was not stored", proposal.id, proposal.site)

    # -- dispatch --------------------------------------------------------------------------------

    def dispatch(self, site: str, plan: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Per work unit path, the plan's operations not yet ended at the site's now."""
        plan = plan or self.current(site)
        if plan is None:
            return {}
        return dispatch_lists(self.sites[site].plant, self._operations(site, plan), self.now(site))

    def _operations(self, site: str, plan: str) -> list[dict[str, Any]]:
        """A plan's operations, read once (a plan's file never changes)."""
        key = (site, plan)
        with self._lock:
            ops = self._ops_cache.get(key)
        if ops is None:
            ops = self.sites[site].plans.operations(plan)
            with self._lock:
                self._ops_cache[key] = ops
                while len(self._ops_cache) > 8:
                    del self._ops_cache[next(iter(self._ops_cache))]
        return ops


def _planned_step(operations: list[dict[str, Any]], event: ProductionCount) -> str | None:
    """The plan's name of the step a count reports (a plan may prefix a component's step with
    its path in the order: ``castings_sr6.painting``); None when the plan has no such step."""
    for o in operations:
        if o["order_id"] != event.order_id:
            continue
        step = o["operation_id"]
        if step == event.operation or step.rsplit(".", 1)[-1] == event.operation:
            return str(step)
    return None
