"""The plant twin: executes a plant model on production orders and emits its canonical events.

Orders are released at their times; each unit of a product is a job that walks its routing.
An operation that ``consumes`` components waits for a full kit (the assembly join): the order's
component units are released with it and stocked per order when their own routing ends. Each
operation goes to an eligible equipment pool (the least loaded), whose free unit takes it at once
or whose queue holds it for the dispatching rule. A job entering another line counts against
that line's ``input_buffer``; when it is full the upstream unit stays *blocked* with the finished
job (blocking after service) and newly released work waits before the line. Quality is drawn per
unit at the end of an operation: scrap releases a replacement unit, rework repeats the operation.

Same seed, same model, same orders: same events (common random numbers per work unit, see
:mod:`factoryos.simulate.streams`).

Speed: one simulated year of ``examples/robot_factory.yaml`` (11,000 robots ordered, seed 42,
``simulate_year`` of ``bench/twin.py``: a fresh process, ``nice -n 10``), before and after the
changes below, in three interleaved rounds on the shared 2-core box (same load for both):

    wall s, 3 rounds (min)          before (03debee)        after
    2.1 M events built              35.1 26.2 29.6 (26.2)   23.3 20.7 18.9 (18.9)
    figures only                    11.1  9.1 11.5  (9.1)   10.7  7.4  6.3  (6.3)

The events are identical (same rows, same ids, checked by a digest over 40 days). Where the time
went, by cProfile: building events (``_Event.__post_init__`` converted every already-UTC
timestamp with ``astimezone``; ``StateChange`` re-validated its ``MachineState`` member; every
emitter numbered and stamped its event through extra calls), and in every run the assembly join:
each finished component re-checked the kit of every parent of its order waiting for one (1.1 M
kit checks a year; a short kit now ends the checks for its operation). Energy readings stay one
per unit and hour (~570 k of the events). What is left with events is mostly the construction of
the frozen event dataclasses (~2 us each).
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections import deque
from collections.abc import Callable, Sequence
from enum import StrEnum

from factoryos.model import (
    EnergyReading,
    Event,
    EventKind,
    Line,
    MachineState,
    Operation,
    OperationEvent,
    OrderEvent,
    Plant,
    Product,
    ProductionCount,
    StateChange,
    effective_lot_size,
    shift_periods,
    transfer_size,
)
from factoryos.model.errors import SimulationError
from factoryos.model.schedule import Schedule
from factoryos.simulate.core import Environment
from factoryos.simulate.demand import ProductionOrder
from factoryos.simulate.plan_follow import PlanFollower
from factoryos.simulate.results import PoolStats, TwinResult, bottleneck_analysis
from factoryos.simulate.streams import RandomStreams
from factoryos.simulate.units import STATES, BatchKey, Outage, Pool, Unit
from factoryos.simulate.warmup import end_warmup

__all__ = ["DispatchRule", "EventSink", "Job", "PlantTwin"]

EventSink = Callable[[Event], None]
DAY_S = 86400.0
REASONS = {
    MachineState.FAULT: "breakdown",
    MachineState.BLOCKED: "next line's input buffer full",
    MachineState.STARVED: "no job in the queue",
    MachineState.SETUP: "changeover",
}
"""Reason codes on the twin's state events (maintenance carries its window's reason)."""


class DispatchRule(StrEnum):
    """Which queued job a free unit takes next."""

    FIFO = "fifo"  # first come, first served
    EDD = "edd"  # earliest due date
    SPT = "spt"  # shortest processing time of the operation on this pool
    CR = "cr"  # smallest critical ratio: time to due date / remaining planned work
    SCHEDULE = "schedule"  # follow a given Schedule: its pool and its start-time order
    PLAN = "plan"  # execute a Schedule as planned: its unit, not before its start (plan_follow)


class OrderRun:
    """An order in progress: its component stock (per product), jobs waiting for a kit, and its
    lots: each product's units of the order, numbered as released, are cut into lots of the
    product's lot size (the order's own for its product, see ``factoryos.model.lots``); finished
    units of a lot wait at each step until a transfer batch of them is done."""

    __slots__ = (
        "done",
        "finished_s",
        "kit_waiting",
        "lot_size",
        "product",
        "released",
        "spec",
        "stock",
        "total",
        "transfer",
        "transfer_passed",
    )

    def __init__(self, spec: ProductionOrder, plant: Plant, override: int | None) -> None:
        self.spec = spec
        self.product = plant.product_by_id[spec.product]
        self.done = 0
        self.stock: dict[str, int] = {}
        self.kit_waiting: list[Job] = []
        self.finished_s: float | None = None
        self.total: dict[str, int] = {}  # product -> units the order needs (no replacements)
        _count_units(plant, self.product, spec.quantity, self.total)
        self.lot_size = {
            pid: effective_lot_size(
                plant.product_by_id[pid], spec.lot_size if pid == spec.product else None, override
            )
            for pid in self.total
        }
        self.released: dict[str, int] = {}  # product -> units released so far
        self.transfer: dict[tuple[str, int, int], list[Job]] = {}  # done, waiting to move on
        self.transfer_passed: dict[tuple[str, int, int], int] = {}

    def next_lot(self, product: str) -> int:
        """The lot of the next unit of ``product`` released for this order."""
        n = self.released.get(product, 0)
        self.released[product] = n + 1
        return n // self.lot_size[product]

    def lot_quantity(self, product: str, lot: int) -> int:
        """Units in lot ``lot`` of ``product`` (1 for the units of scrap replacements' kits)."""
        size = self.lot_size[product]
        return max(1, min(size, self.total[product] - lot * size))


def _count_units(plant: Plant, product: Product, quantity: int, total: dict[str, int]) -> None:
    total[product.id] = total.get(product.id, 0) + quantity
    for op in product.routing:
        for c in op.consumes:
            _count_units(plant, plant.product_by_id[c.product], quantity * c.quantity, total)


class Job:
    """One unit of a product walking its routing."""

    __slots__ = (
        "in_rework",
        "kitted",
        "line",
        "lot",
        "op_index",
        "order",
        "product",
        "released_s",
        "top",
    )

    def __init__(
        self, order: OrderRun, product: Product, released_s: float, top: bool, lot: int
    ) -> None:
        self.order = order
        self.product = product
        self.lot = lot
        self.op_index = 0
        self.released_s = released_s
        self.top = top  # the order's own product (else a component)
        self.line: Line | None = None  # line whose input buffer holds it, or where it last ran
        self.kitted = -1  # index of the operation whose kit it holds
        self.in_rework = False  # on its way to (or at) its step's rework station

    @property
    def operation(self) -> Operation:
        return self.product.routing[self.op_index]


class PlantTwin:
    """One run of the twin: build, then :meth:`run`; events go to ``sink`` if given."""

    def __init__(
        self,
        plant: Plant,
        orders: Sequence[ProductionOrder],
        *,
        start: dt.datetime,
        horizon_s: float,
        seed: int = 0,
        replication: int = 0,
        rule: DispatchRule = DispatchRule.FIFO,
        sink: EventSink | None = None,
        run_id: str | None = None,
        energy_interval_s: float = 3600.0,
        env: Environment | None = None,
        schedule: Schedule | None = None,
        lot_size: int | None = None,
        warmup_s: float = 0.0,
        outages: Sequence[Outage] = (),
    ) -> None:
        """``outages`` put work units down (state ``fault``) for known spans, on top of the
        modelled failures (a breakdown the plan check assumes).

        ``lot_size`` (``--lot-size``) replaces the products' lot sizes where an order gives
        none. The first ``warmup_s`` of the horizon are simulated but left out of the result
        (:mod:`factoryos.simulate.warmup`). ``rule=SCHEDULE`` executes ``schedule``: each
        planned operation goes to its planned equipment pool, and queues are served in planned
        start order (as early as possible, so a disturbance shifts the plan right instead of
        stopping it); unplanned work queues by its arrival time among them."""
        if start.tzinfo is None:
            raise SimulationError(f"start {start.isoformat()} needs a time zone")
        if (rule in (DispatchRule.SCHEDULE, DispatchRule.PLAN)) != (schedule is not None):
            raise SimulationError("rules 'schedule' and 'plan' and a schedule go together")
        self.plant = plant
        self.start = start.astimezone(dt.UTC)
        self.horizon_s = float(horizon_s)
        self.rule = DispatchRule(rule)
        self.sink = sink
        self.run_id = run_id or f"sim-{seed}-{replication}"
        self.env = env if env is not None else Environment()
        self.lot_size = lot_size
        if not 0.0 <= warmup_s < horizon_s:
            raise SimulationError(f"warm-up {warmup_s} s must be >= 0 and < the horizon")
        self.warmup_s = float(warmup_s)
        self._measured_from = 0.0  # orders released before the end of the warm-up are not counted
        self._plan: dict[tuple[str, str, str], tuple[str, float]] = {}
        if schedule is not None:
            for planned in schedule.operations:
                # A planner may prefix a component's operation with its path in the order
                # ("castings_sr6.rough_machining"); the routing id is the last part.
                op_id = planned.operation_id.rsplit(".", 1)[-1]
                key = (planned.order_id, planned.product, op_id)
                at = (planned.start - self.start).total_seconds()
                self._plan[key] = (planned.equipment_id, at)
        self._follower = (
            PlanFollower(self, schedule)
            if schedule is not None and self.rule is DispatchRule.PLAN
            else None
        )
        self._ts_at = -1.0
        self._ts_value = self.start
        self._queue_seq = itertools.count()
        self.open_orders = 0
        self.line_input: dict[str, int] = {}
        self.line_waiters: dict[str, deque[Job]] = {}  # released work before a full line
        # units blocked with finished work for a full line: served before released work, so
        # that new work flooding a line's buffer cannot starve the flow already under way
        # (else more demand gives fewer finished units where a flow re-enters a line)
        self.blocked_units: dict[str, deque[Unit]] = {}
        self.orders: list[OrderRun] = []
        # statistics of the order's own products (finished goods)
        self.finished: dict[str, int] = {}
        self.scrapped: dict[str, int] = {}
        self._lead_time_sum_s = 0.0
        self._wip = 0
        self._wip_area = 0.0
        self._wip_since = 0.0
        self.events_emitted = 0
        self._changed_units: list[Unit] = []  # units whose state changed at this instant
        self._deferred: dict[Pool, None] | None = None  # pools served after a transfer

        streams = RandomStreams(seed, replication)
        self.pools: dict[str, Pool] = {}
        self.units: list[Unit] = []
        for work_unit in plant.work_units:
            eq = work_unit.equipment
            pool = self.pools.get(eq.id)
            if pool is None:
                pool = self.pools[eq.id] = Pool(eq, work_unit.line)
                self.line_input.setdefault(work_unit.line.id, 0)
                self.line_waiters.setdefault(work_unit.line.id, deque())
                self.blocked_units.setdefault(work_unit.line.id, deque())
            unit = Unit(self, work_unit, pool, streams)
            pool.units.append(unit)
            self.units.append(unit)
        self._eligible: dict[tuple[str, int], list[Pool]] = {}
        for product in plant.products:
            for i, op in enumerate(product.routing):
                pools = [self.pools[e.id] for e in plant.eligible_equipment(op, product)]
                if not pools:
                    raise SimulationError(
                        f"operation {op.id!r} of product {product.id!r} has no equipment with "
                        f"skill {op.skill!r}"
                    )
                self._eligible[product.id, i] = pools
        self._schedule_calendars()
        self._schedule_maintenance()
        self._unit_at = {
            (w.equipment.id, w.unit): u for w, u in zip(plant.work_units, self.units, strict=True)
        }
        for outage in outages:
            self._schedule_outage(outage)
        for spec in orders:
            if spec.product not in plant.product_by_id:
                raise SimulationError(f"order {spec.order_id!r}: unknown product {spec.product!r}")
            if spec.release_s < self.horizon_s:
                self.env.schedule_at(max(spec.release_s, 0.0), self._release_order, spec)
        if self.warmup_s > 0:
            self.env.schedule_at(self.warmup_s, lambda _: end_warmup(self), None)
        if sink is not None and energy_interval_s > 0:
            self._energy_interval_s = energy_interval_s
            self.env.schedule(energy_interval_s, self._read_meters)

    # -- calendars and maintenance ---------------------------------------------------------------
    def _seconds(self, instant: dt.datetime) -> float:
        return (instant - self.start).total_seconds()

    def _schedule_calendars(self) -> None:
        end = self.start + dt.timedelta(seconds=self.horizon_s)
        by_calendar: dict[str, list[Unit]] = {}
        for unit in self.units:
            by_calendar.setdefault(self.plant.calendar_id_of(unit.pool.line), []).append(unit)
        for calendar_id, units in by_calendar.items():
            calendar = self.plant.calendars[calendar_id]
            merged: list[list[float]] = []
            for period in shift_periods(calendar, self.plant.zone, self.start, end):
                lo, hi = self._seconds(period.start), self._seconds(period.end)
                if merged and lo <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], hi)  # shift hand-over: no gap
                else:
                    merged.append([lo, hi])
            for lo, hi in merged:
                self.env.schedule_at(lo, self._set_shift, (units, True))
                if hi < self.horizon_s:
                    self.env.schedule_at(hi, self._set_shift, (units, False))

    @staticmethod
    def _set_shift(arg: tuple[list[Unit], bool]) -> None:
        units, on = arg
        for unit in units:
            unit.set_on_shift(on)

    def _schedule_maintenance(self) -> None:
        end = self.start + dt.timedelta(seconds=self.horizon_s)
        for window in self.plant.maintenance:
            units = [u for e in window.equipment if e in self.pools for u in self.pools[e].units]
            if window.usage is not None:  # due by operating hours or counts: the units watch
                for unit in units:
                    unit.watch_usage(window.usage, window.reason)
                continue
            for lo, hi in window.spans(self.plant.zone, self.start, end):
                on = (units, window.reason)
                self.env.schedule_at(self._seconds(lo), self._set_maintenance, on)
                if self._seconds(hi) < self.horizon_s:
                    self.env.schedule_at(self._seconds(hi), self._set_maintenance, (units, None))

    def _schedule_outage(self, outage: Outage) -> None:
        unit = self.unit_of(outage.equipment_id, outage.unit_index)
        lo = max(self._seconds(outage.start), 0.0)
        hi = self._seconds(outage.end)
        if lo < hi and lo < self.horizon_s:
            self.env.schedule_at(lo, lambda _: unit.begin_outage(hi - lo), None)

    def unit_of(self, equipment_id: str, unit_index: int) -> Unit:
        unit = self._unit_at.get((equipment_id, unit_index))
        if unit is None:
            raise SimulationError(f"no work unit {equipment_id}/{unit_index} in the plant")
        return unit

    @staticmethod
    def _set_maintenance(arg: tuple[list[Unit], str | None]) -> None:
        units, reason = arg
        for unit in units:
            unit.maintenance_reason = reason or unit.maintenance_reason
            unit.set_maintenance(reason is not None)

    # -- orders and jobs -------------------------------------------------------------------------
    def _release_order(self, spec: ProductionOrder) -> None:
        order = OrderRun(spec, self.plant, self.lot_size)
        self.orders.append(order)
        self.open_orders += 1
        self._emit_order(EventKind.ORDER_START, order, spec.quantity)
        for _ in range(spec.quantity):
            self._release_unit(order, order.product, top=True)

    def _release_unit(
        self, order: OrderRun, product: Product, top: bool, lot: int | None = None
    ) -> None:
        """A new unit of ``product`` (and its components); a scrap replacement keeps its lot."""
        now = self.env.now
        job = Job(order, product, now, top, order.next_lot(product.id) if lot is None else lot)
        if top:
            self._count_wip(+1)
        for op in product.routing:
            for component in op.consumes:
                sub = self.plant.product_by_id[component.product]
                for _ in range(component.quantity):
                    self._release_unit(order, sub, top=False)
        self._dispatch_or_wait(job)

    def dispatch_held(self, job: Job) -> None:
        """A job held back by the plan follower goes on to its line now."""
        self._dispatch_or_wait(job)

    def _dispatch_or_wait(self, job: Job) -> None:
        full_line = self._advance(job)
        if full_line is not None:
            self.line_waiters[full_line].append(job)

    def _advance(self, job: Job) -> str | None:
        """Send ``job`` to its next operation; the id of a full line it must wait for, or None."""
        routing = job.product.routing
        if job.op_index == len(routing):
            self._finished(job)
            return None
        op = routing[job.op_index]
        if op.consumes and job.kitted != job.op_index:
            if not self._take_kit(job.order, op):
                job.order.kit_waiting.append(job)
                return None
            job.kitted = job.op_index
        pool = self._choose_pool(job)
        line = pool.line
        if job.line is not line:
            if self._follower is not None and self._follower.hold(job):
                return None  # material goes to the line when the plan uses it, not before
            if line.input_buffer is not None and self.line_input[line.id] >= line.input_buffer:
                return line.id
            job.line = line
            self.line_input[line.id] += 1
            self._enqueue(pool, job, entering=True)
        else:
            self._enqueue(pool, job, entering=False)
        return None

    def _choose_pool(self, job: Job) -> Pool:
        if job.in_rework:
            station = job.operation.rework_at
            assert station is not None
            return self.pools[station]
        pools = self._eligible[job.product.id, job.op_index]
        if self._plan:
            planned = self._plan.get((job.order.spec.order_id, job.product.id, job.operation.id))
            if planned is not None and planned[0] in self.pools:
                pool = self.pools[planned[0]]
                if pool in pools:
                    return pool
        if len(pools) == 1:
            return pools[0]
        return min(pools, key=lambda p: (p.queued - len(p.free)) / len(p.units))

    def _take_kit(self, order: OrderRun, op: Operation) -> bool:
        stock = order.stock
        if any(stock.get(c.product, 0) < c.quantity for c in op.consumes):
            return False
        for c in op.consumes:
            stock[c.product] -= c.quantity
        return True

    # -- dispatching: batches (order x product x operation) ----------------------------------------
    # A unit that starts a batch keeps it: the batch's later jobs queue behind it, so a batch
    # costs one setup. Free units take, in turn: the next job of their own batch, the best
    # unassigned batch by the dispatching rule, or (work-conserving) a job of another unit's batch.
    def _enqueue(self, pool: Pool, job: Job, entering: bool) -> None:
        key = (job.order.spec.order_id, job.product.id, job.op_index, job.lot)
        jobs = pool.batches.get(key)
        if jobs is None:
            jobs = pool.batches[key] = deque()
            if self.rule is not DispatchRule.CR:
                heapq.heappush(pool.queue, (self._key(pool, job), next(self._queue_seq), key))
        jobs.append((job, entering))
        pool.queued += 1
        if self._deferred is not None:  # a transfer batch arrives: queue all of it first
            self._deferred[pool] = None
            return
        self._serve(pool)

    def _serve(self, pool: Pool) -> None:
        if self._follower is not None:
            self._follower.serve(pool)
            return
        while pool.free and pool.queued:
            unit = next(iter(pool.free))
            if not self._take_next(unit):
                break

    def _key(self, pool: Pool, job: Job) -> float:
        rule = self.rule
        if rule is DispatchRule.EDD:
            return job.order.spec.due_s
        if rule is DispatchRule.SPT:
            return job.operation.run_time_on(pool.equipment.id)
        if rule is DispatchRule.SCHEDULE:
            planned = self._plan.get((job.order.spec.order_id, job.product.id, job.operation.id))
            return planned[1] if planned is not None else self.env.now
        return self.env.now  # FIFO

    def _critical_ratio(self, job: Job) -> float:
        remaining = sum(op.run_time_s for op in job.product.routing[job.op_index :])
        return (job.order.spec.due_s - self.env.now) / max(remaining, 1.0)

    def _owned(self, pool: Pool, key: BatchKey) -> bool:
        owner = pool.owner.get(key)
        return owner is not None and owner.batch == key

    def _unassigned_batch(self, pool: Pool) -> BatchKey | None:
        if self.rule is DispatchRule.CR:
            free = [k for k in pool.batches if not self._owned(pool, k)]
            if not free:
                return None
            return min(free, key=lambda k: self._critical_ratio(pool.batches[k][0][0]))
        while pool.queue:
            _, _, key = heapq.heappop(pool.queue)
            if key in pool.batches and not self._owned(pool, key):
                return key
        return None

    def _take_next(self, unit: Unit) -> bool:
        """Give ``unit`` its next job; False when its pool has none for it."""
        if self._follower is not None:
            return self._follower.take_next(unit)
        pool = unit.pool
        key = unit.batch
        if key is None or key not in pool.batches:
            key = self._unassigned_batch(pool)
            if key is None and pool.batches:
                key = max(pool.batches, key=lambda k: len(pool.batches[k]))  # help out
            if key is None:
                unit.batch = None
                return False
            unit.batch = key
            pool.owner.setdefault(key, unit)
            if not self._owned(pool, key):
                pool.owner[key] = unit
        self.start_batch(unit, key)
        return True

    def start_batch(
        self, unit: Unit, key: BatchKey, may_join: Callable[[BatchKey], bool] | None = None
    ) -> None:
        """Start ``unit`` on batch ``key``; a batch equipment fills up with other lots of the
        same step (those ``may_join`` allows)."""
        pool = unit.pool
        capacity = pool.equipment.batch_capacity
        load = self._take_jobs(pool, key, capacity)
        if len(load) < capacity:
            same_step = [
                b
                for b in pool.batches
                if b[1:3] == key[1:3]
                and not self._owned(pool, b)
                and (may_join is None or may_join(b))
            ]
            for other in same_step:
                load += self._take_jobs(pool, other, capacity - len(load))
                if len(load) == capacity:
                    break
        self._start(unit, load)

    def _take_jobs(self, pool: Pool, key: BatchKey, most: int) -> list[tuple[Job, bool]]:
        """Up to ``most`` queued jobs of batch ``key``, in queue order."""
        jobs = pool.batches[key]
        taken = [jobs.popleft() for _ in range(min(most, len(jobs)))]
        pool.queued -= len(taken)
        if not jobs:
            del pool.batches[key]
            pool.owner.pop(key, None)
        return taken

    def unit_free(self, unit: Unit) -> None:
        """``unit`` can take a job: continue its batch or pick one by the dispatching rule."""
        if not self._take_next(unit):
            unit.pool.free[unit] = None

    def _start(self, unit: Unit, load: list[tuple[Job, bool]]) -> None:
        """Start one unit of product (or a batch equipment's load: one cycle for all of them).
        Setups follow the pool's ``setup`` policy: a family change costs the pool's setup
        matrix entry (else the step's setup time); a new lot of the same family costs the step's
        setup time ``per_lot``, nothing ``per_family_change``; a unit's first job (first lot or
        first campaign) costs the step's setup time."""
        job = load[0][0]
        op = job.operation
        equipment = unit.pool.equipment
        family = job.product.family
        lot = (job.order.spec.order_id, job.product.id, job.op_index, job.lot)
        if unit.last_family is None:  # its state at the start is not known: the step's setup
            setup = op.setup_time_s
        elif unit.last_family != family:
            setup = equipment.setup_matrix_s.get(unit.last_family, {}).get(family, op.setup_time_s)
        elif unit.last_lot != lot and equipment.setup == "per_lot":
            setup = op.setup_time_s  # a new lot
        else:
            setup = 0.0
        run = op.run_time_on(equipment.id)
        if job.in_rework:  # a repair at the rework station: its own time, no setup
            setup, run = 0.0, op.rework_time_s
        else:
            unit.last_family, unit.last_lot = family, lot
        for each, _ in load:
            self._emit_operation(EventKind.OPERATION_START, unit, each)
        unit.start([each for each, _ in load], setup, run)
        for each, entering in load:
            if entering:
                self._leave_input(each)

    def _leave_input(self, job: Job) -> None:
        assert job.line is not None
        line_id = job.line.id
        self.line_input[line_id] -= 1
        waiters, blocked = self.line_waiters[line_id], self.blocked_units[line_id]
        while (waiters or blocked) and (
            job.line.input_buffer is None or self.line_input[line_id] < job.line.input_buffer
        ):
            if blocked:
                unit = blocked.popleft()
                held = unit.holding[0]
                again = self._advance(held)
                if again is not None:  # went for another pool whose line is full
                    self.blocked_units[again].append(unit)
                    continue
                unit.holding.pop(0)
                if unit.holding:  # a batch load: the next held job waits for room first
                    blocked.appendleft(unit)
                    continue
                unit.release_blocked()
            else:
                self._dispatch_or_wait(waiters.popleft())

    def operation_done(self, unit: Unit, job: Job) -> None:
        """Quality draw, count event, then the job moves on (or the unit blocks)."""
        op = job.operation
        if job.in_rework:  # repaired at the rework station: back to the step
            job.in_rework = False
            self._emit_done(unit, job)
            self._dispatch_or_wait(job)
            return
        draw = unit.quality()
        if draw < op.scrap_rate:
            self._emit_done(unit, job, scrap=1)
            if job.top:
                self.scrapped[job.product.id] = self.scrapped.get(job.product.id, 0) + 1
                self._count_wip(-1)
            self._release_unit(job.order, job.product, job.top, lot=job.lot)
            return
        if draw < op.scrap_rate + op.rework_rate:
            self._emit_done(unit, job, rework=1)
            if op.rework_at is not None:  # repaired elsewhere first, then the step again
                job.in_rework = True
                self._dispatch_or_wait(job)
            else:
                self._enqueue(unit.pool, job, entering=False)  # loops back to the operation
            return
        unit.pool.good_planned_s += op.run_time_per_unit(unit.pool.equipment)
        self._emit_done(unit, job, good=1)
        job.op_index += 1
        moving = self._transfer(job)
        # the whole transfer batch is queued before a free unit picks from it, so that batch
        # equipment downstream loads it at once
        deferred: dict[Pool, None] = {}
        self._deferred = deferred
        for other in moving:
            if other is not job:  # done earlier, waiting for its transfer batch
                self._dispatch_or_wait(other)
        if moving and moving[-1] is job:
            full_line = self._advance(job)
            if full_line is not None:
                if not unit.holding:
                    self.blocked_units[full_line].append(unit)
                unit.holding.append(job)
        self._deferred = None
        for pool in deferred:
            self._serve(pool)

    def _transfer(self, job: Job) -> list[Job]:
        """Jobs of ``job``'s lot that move on now that ``job`` is done: a full transfer batch
        (the whole lot unless the product gives one), or the lot's last units; else none."""
        order, product = job.order, job.product
        lot_units = order.lot_quantity(product.id, job.lot)
        size = transfer_size(product, lot_units)
        if size == 1:
            return [job]
        key = (product.id, job.lot, job.op_index)
        pending = order.transfer.setdefault(key, [])
        pending.append(job)
        passed = order.transfer_passed[key] = order.transfer_passed.get(key, 0) + 1
        if len(pending) < size and passed < lot_units:
            return []
        del order.transfer[key]
        return pending

    def _finished(self, job: Job) -> None:
        order = job.order
        now = self.env.now
        if not job.top:
            product = job.product.id
            order.stock[product] = order.stock.get(product, 0) + 1
            waiting, order.kit_waiting = order.kit_waiting, []
            # Stock only shrinks while the parents are dispatched (none finishes at this
            # instant), so once a kit is short, every later parent waiting at the same
            # operation stays waiting: skip their kit checks (O(lot size) per component).
            short: set[tuple[str, int]] = set()
            for parent in waiting:
                key = (parent.product.id, parent.op_index)
                if key in short:
                    order.kit_waiting.append(parent)
                    continue
                kitted = len(order.kit_waiting)
                self._dispatch_or_wait(parent)
                if len(order.kit_waiting) > kitted:
                    short.add(key)
            return
        self._count_wip(-1)
        self.finished[job.product.id] = self.finished.get(job.product.id, 0) + 1
        self._lead_time_sum_s += now - job.released_s
        order.done += 1
        if order.done == order.spec.quantity:
            order.finished_s = now
            self.open_orders -= 1
            self._emit_order(EventKind.ORDER_END, order, None)

    def _count_wip(self, delta: int) -> None:
        now = self.env.now
        self._wip_area += self._wip * (now - self._wip_since)
        self._wip_since = now
        self._wip += delta

    # -- events ----------------------------------------------------------------------------------
    def _ts(self) -> dt.datetime:
        now = self.env._now
        if now != self._ts_at:  # events come in bursts at one instant: build the datetime once
            self._ts_at = now
            self._ts_value = self.start + dt.timedelta(seconds=now)
        return self._ts_value

    def _next_id(self) -> str:
        n = self.events_emitted = self.events_emitted + 1
        return f"{self.run_id}-{n}"

    def state_changed(self, unit: Unit) -> None:
        """``unit`` changed state: its event waits for the end of the instant (see
        :meth:`_emit_states`), so that a burst of changes at one instant says one thing."""
        if self.sink is None or unit.state_pending:
            return
        unit.state_pending = True
        if not self._changed_units:
            self.env.schedule(0.0, self._emit_states)
        self._changed_units.append(unit)

    def _emit_states(self, _: object) -> None:
        """At the end of an instant, one state event per unit whose state differs from the one
        it had before the instant: a plant log never holds two states of one unit at one time
        (``factoryos import`` rejects them as overlapping intervals), and a change undone within
        the instant (producing -> starved -> producing as one job follows another) never
        happened on the shop floor. Time and energy are accounted per change in
        :meth:`Unit.refresh`, where the extra changes last zero seconds."""
        env = self.env
        if env.peek() <= env.now:  # more happens at this instant (a zero delay): after it
            env.schedule(0.0, self._emit_states)
            return
        sink = self.sink
        assert sink is not None
        ts = self._ts()
        for unit in self._changed_units:
            unit.state_pending = False
            state = unit.state
            if state is unit.state_emitted:
                continue
            unit.state_emitted = state
            if state is MachineState.MAINTENANCE:
                reason: str | None = unit.maintenance_reason
            else:
                reason = REASONS.get(state)
            sink(StateChange(self._next_id(), ts, unit.path, state, reason))
        self._changed_units.clear()

    # The two emitters below make most of the events (a start, a count and an end per
    # operation): they number the events in place rather than through _next_id.
    def _emit_operation(self, kind: EventKind, unit: Unit, job: Job) -> None:
        sink = self.sink
        if sink is not None:
            n = self.events_emitted = self.events_emitted + 1
            product = job.product
            sink(
                OperationEvent(
                    f"{self.run_id}-{n}",
                    self._ts(),
                    unit.path,
                    kind,
                    job.order.spec.order_id,
                    product.id,
                    product.routing[job.op_index].id,
                )
            )

    def _emit_done(
        self, unit: Unit, job: Job, good: int = 0, scrap: int = 0, rework: int = 0
    ) -> None:
        """The count of a finished operation, then its end."""
        sink = self.sink
        if sink is not None:
            n = self.events_emitted
            self.events_emitted = n + 2
            ts = self._ts()
            run_id, path, product = self.run_id, unit.path, job.product
            order_id, operation = job.order.spec.order_id, product.routing[job.op_index].id
            sink(
                ProductionCount(
                    f"{run_id}-{n + 1}",
                    ts,
                    path,
                    product.id,
                    good,
                    scrap,
                    rework,
                    order_id,
                    operation,
                )
            )
            sink(
                OperationEvent(
                    f"{run_id}-{n + 2}",
                    ts,
                    path,
                    EventKind.OPERATION_END,
                    order_id,
                    product.id,
                    operation,
                )
            )

    def _emit_order(self, kind: EventKind, order: OrderRun, quantity: int | None) -> None:
        if self.sink is not None:
            self.sink(
                OrderEvent(
                    self._next_id(),
                    self._ts(),
                    self.plant.root_path,
                    kind,
                    order.spec.order_id,
                    order.spec.product,
                    quantity,
                )
            )

    def _read_meters(self, _: object) -> None:
        self._flush_meters()
        if self.env._now + self._energy_interval_s <= self.horizon_s:
            self.env.schedule(self._energy_interval_s, self._read_meters)

    def _flush_meters(self) -> None:
        """Account every unit up to now; emit one reading per unit that used energy."""
        sink = self.sink
        ts = self._ts()
        run_id = self.run_id
        n = self.events_emitted
        for unit in self.units:  # the most frequent events (a reading per unit per hour)
            unit.accrue()
            kwh = unit.unread_kwh
            if kwh > 0:
                unit.unread_kwh = 0.0
                if sink is not None:
                    n += 1
                    sink(EnergyReading(f"{run_id}-{n}", ts, unit.path, kwh))
        self.events_emitted = n

    # -- run -------------------------------------------------------------------------------------
    def run(self, on_progress: Callable[[float], None] | None = None) -> TwinResult:
        """Simulate up to the horizon and summarise the run; ``on_progress`` hears the share of
        the horizon done after each simulated day."""
        if on_progress is None:
            self.env.run(until_s=self.horizon_s)
        else:
            done = self.env.now
            while done < self.horizon_s:
                until = min(done + DAY_S, self.horizon_s)
                self.env.run(until_s=until)
                on_progress((until - done) / self.horizon_s)
                done = until
        return self.result()

    def reset_flow_statistics(self, now: float) -> None:
        """Start the order, lead-time and WIP statistics afresh at ``now`` (end of warm-up)."""
        self._count_wip(0)
        self._wip_area = 0.0
        self._lead_time_sum_s = 0.0
        self._measured_from = now

    def result(self) -> TwinResult:
        now = self.env.now
        measured_s = now - self._measured_from
        self._flush_meters()
        self._count_wip(0)
        periods = {}
        for pool_id, pool in self.pools.items():
            closed = list(pool.active_periods)
            if pool.active_since is not None and now > pool.active_since:
                closed.append((pool.active_since, now))
            periods[pool_id] = closed
        shares = bottleneck_analysis(periods)
        pool_stats = []
        for pool_id, pool in self.pools.items():
            time_in = [sum(u.time_in_s[i] for u in pool.units) for i in range(len(STATES))]
            pot = sum(u.pot_s for u in pool.units)
            pbt = pot - sum(u.planned_down_s for u in pool.units)
            by_state = dict(zip(STATES, time_in, strict=True))
            pool_stats.append(
                PoolStats.from_times(
                    pool_id,
                    units=len(pool.units),
                    time_in_state_s=by_state,
                    planned_busy_s=pbt,
                    good_planned_s=pool.good_planned_s,
                    energy_kwh=sum(u.energy_kwh for u in pool.units),
                    failures=sum(u.failures for u in pool.units),
                    bottleneck=shares[pool_id],
                )
            )
        finished_total = sum(self.finished.values())
        orders = [o for o in self.orders if o.spec.release_s >= self._measured_from]
        orders_done = [o for o in orders if o.finished_s is not None]
        return TwinResult(
            horizon_s=measured_s,
            finished=dict(self.finished),
            scrapped=dict(self.scrapped),
            orders_released=len(orders),
            orders_finished=len(orders_done),
            mean_unit_lead_time_s=self._lead_time_sum_s / finished_total if finished_total else 0,
            mean_order_lead_time_s=(
                sum(o.finished_s - o.spec.release_s for o in orders_done if o.finished_s)
                / len(orders_done)
                if orders_done
                else 0.0
            ),
            mean_wip=self._wip_area / measured_s if measured_s else 0.0,
            energy_kwh=sum(u.energy_kwh for u in self.units),
            pools=tuple(pool_stats),
            events_emitted=self.events_emitted,
            sim_events=self.env.events_processed,
        )
