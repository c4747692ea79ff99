"""Executing a plan as planned: the twin's ``plan`` dispatch mode.

The ``schedule`` rule only borrows a plan's pools and start order and otherwise dispatches as
early as it can, so a plan of another plant's order book finished far ahead of itself. Here each
planned operation runs on its **planned work unit** and starts **no earlier than planned** (its
planned changeover, when the plan has one, no earlier than the changeover's planned start); a
unit never helps out with work planned on a sibling. Late upstream work delays what follows, a
failure holds the unit's queue, and a unit free before its next planned start waits for it (a
wake-up is scheduled then). Work reaches a line no earlier than the plan starts it there: until
then it waits before the line, outside its ``input_buffer`` (as material a plan releases to the
floor when it is due; else a book released days ahead fills the buffers). Among its own
operations that are due, a unit takes the one planned earliest, so an operation whose input is
late does not stall a later one that is ready. Work the plan does not know (orders outside it)
may run on any unit of its pool, as soon as it is queued, and so do repairs of reworked units at
a rework station (the plan reserves the station's expected repair time as one block per lot).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from factoryos.model.lots import effective_lot_size
from factoryos.model.schedule import Schedule
from factoryos.simulate.units import BatchKey, Pool, Unit

if TYPE_CHECKING:
    from factoryos.simulate.twin import Job, PlantTwin

__all__ = ["PlanFollower"]

Planned = tuple[str, int, float]
"""(equipment id, unit index, start in twin seconds)."""
LOT = re.compile(r"L[0-9]+")
"""The plan's prefix of an order's lot when it has several (``L2.smt_top``)."""


class PlanFollower:
    """Chooses, for a free unit, the batch the plan gives it now (see the module doc)."""

    def __init__(self, twin: PlantTwin, schedule: Schedule) -> None:
        self.twin = twin
        # per (order, product, step): its lots in the plan as (lot, first unit, plan)
        self._planned: dict[tuple[str, str, str], list[tuple[int, int, Planned]]] = {}
        self._top: dict[str, str] = {}  # order -> its own product (the plan's unprefixed steps)
        for op in schedule.operations:
            # "L2.castings_sr6.painting": lot 2 of the order, a component's step with its path
            parts = op.operation_id.split(".")
            lot = 0
            if len(parts) > 1 and LOT.fullmatch(parts[0]):
                lot, parts = int(parts[0][1:]) - 1, parts[1:]
            if len(parts) == 1:
                self._top[op.order_id] = op.product
            # a planned changeover comes before the run (often before a break the run follows):
            # the unit may begin it then, else every setup would push its run back
            begin = op.setup_start if op.setup_start is not None and op.setup_duration else op.start
            at = (begin - twin.start).total_seconds()
            lots = self._planned.setdefault((op.order_id, op.product, parts[-1]), [])
            lots.append((lot, op.quantity, (op.equipment_id, op.unit_index, at)))
        for lots in self._planned.values():
            lots.sort()
            first = 0
            for i, (lot, quantity, planned) in enumerate(lots):
                lots[i] = (lot, first, planned)
                first += quantity
        self._index = {u.path: u.unit for u in twin.plant.work_units}
        self._wakeups: set[tuple[str, float]] = set()

    def _plan_of(self, key: BatchKey) -> Planned | None:
        order_id, product, op_index, lot = key
        step = self.twin.plant.product_by_id[product].routing[op_index].id
        return self._lot_plan(order_id, product, step, lot)

    def _lot_plan(self, order_id: str, product: str, step: str, lot: int) -> Planned | None:
        """The plan of the twin's lot ``lot`` of ``product`` at ``step``. The order's own
        product is cut into the same lots in both; a component's lots in the twin follow its
        own lot size, in the plan its consumer's: the plan's lot that holds the twin lot's
        first unit."""
        lots = self._planned.get((order_id, product, step))
        if not lots:
            return None
        if self._top.get(order_id) == product:
            found = [planned for k, _, planned in lots if k <= lot]
        else:
            size = effective_lot_size(
                self.twin.plant.product_by_id[product], None, self.twin.lot_size
            )
            found = [planned for _, first, planned in lots if first <= lot * size]
        return found[-1] if found else lots[0][2]

    def hold(self, job: Job) -> bool:
        """Keep ``job`` off its next line until its step's planned start (True: held, it is
        dispatched again then). Released work would otherwise wait for its planned start
        inside the line's ``input_buffer``, and a book released days ahead of its plan fills
        the buffers and blocks the work planned first (a plan made without buffers)."""
        order = job.order.spec.order_id
        planned = self._lot_plan(order, job.product.id, job.operation.id, job.lot)
        if planned is None or planned[2] <= self.twin.env.now:
            return False
        self.twin.env.schedule_at(planned[2], self.twin.dispatch_held, job)
        return True

    def _mine(self, pool: Pool, unit: Unit, key: BatchKey) -> float | None:
        """When ``unit`` may start batch ``key`` (None: not its work)."""
        planned = self._plan_of(key)
        if planned is None:
            return float("-inf")  # unplanned work: anyone, now
        equipment, index, at = planned
        if equipment != pool.equipment.id and self._repairs_at(pool, key):
            return float("-inf")  # a repair: the plan reserves the station's time, not its units
        if equipment != pool.equipment.id or index != self._index[unit.path]:
            return None
        return at

    def _repairs_at(self, pool: Pool, key: BatchKey) -> bool:
        """Whether ``pool`` is the rework station of batch ``key``'s step (its jobs there are
        reworked units to repair, not the step's planned run)."""
        _, product, op_index, _ = key
        step = self.twin.plant.product_by_id[product].routing[op_index]
        return step.rework_at == pool.equipment.id

    def _next_batch(self, pool: Pool, unit: Unit) -> BatchKey | None:
        now = self.twin.env.now
        best: tuple[float, BatchKey] | None = None
        later: float | None = None
        for key in pool.batches:
            owner = pool.owner.get(key)
            if owner is not None and owner is not unit and owner.batch == key:
                continue
            at = self._mine(pool, unit, key)
            if at is None:
                continue
            if at <= now:
                if best is None or at < best[0]:
                    best = (at, key)
            elif later is None or at < later:
                later = at
        if best is None and later is not None:
            self._wake_at(pool, later)
        return None if best is None else best[1]

    def _wake_at(self, pool: Pool, at: float) -> None:
        mark = (pool.equipment.id, at)
        if mark not in self._wakeups:
            self._wakeups.add(mark)
            self.twin.env.schedule_at(at, self._wake, (pool, mark))

    def _wake(self, arg: tuple[Pool, tuple[str, float]]) -> None:
        pool, mark = arg
        self._wakeups.discard(mark)
        self.serve(pool)

    def take_next(self, unit: Unit) -> bool:
        """Start ``unit`` on its own running batch or its next due one; False if none."""
        pool = unit.pool
        key = unit.batch if unit.batch in pool.batches else self._next_batch(pool, unit)
        if key is None:
            unit.batch = None
            return False
        unit.batch = key
        pool.owner[key] = unit
        self.twin.start_batch(unit, key, may_join=lambda b: self._due(pool, unit, b))
        return True

    def _due(self, pool: Pool, unit: Unit, key: BatchKey) -> bool:
        at = self._mine(pool, unit, key)
        return at is not None and at <= self.twin.env.now

    def serve(self, pool: Pool) -> None:
        """Every free unit of ``pool`` takes what the plan gives it now."""
        for unit in list(pool.free):
            if unit in pool.free and pool.queued:
                self.take_next(unit)
