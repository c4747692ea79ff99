"""Orders and the plant-level problem: an order book plus a plant model -> a scheduling problem.

Each order is one job. Its product's routing is a chain; an operation that consumes components
pulls in each component's routing (recursively) as a branch whose last operation must end before
the consuming operation starts: the assembly join. Every operation runs as one lot of the order's
quantity (times the component quantity) on one work unit: ``setup_time + run_time_on(equipment) *
quantity``, rounded up to the time unit, the quantity raised for expected scrap and rework and
the run for services by usage (:mod:`factoryos.schedule.losses`); a step that repairs reworked
units at another station has that station's expected repairs as a branch. Each work unit of an
eligible equipment pool is a machine.
On the calendar's working-time axis the instants where it pauses (breaks, shift ends, weekends,
holidays) become ``Problem.breaks``; a step the routing does not mark ``resumable`` or
``unattended`` runs inside one working stretch, so units on which its lot is longer than every
stretch are not eligible. Lines on different calendars share the axis of their calendars' union
(time when some line works), the wall clock when some step is unattended (it runs while nobody
works); a unit's own time off on it is ``Problem.off``: a resumable step pauses there, an
unattended one runs through it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from factoryos.model.capacity import service_load_s
from factoryos.model.lots import LotSizeError, effective_lot_size, split_lots, transfer_size
from factoryos.model.plant import Operation as PlantOperation
from factoryos.model.plant import Plant
from factoryos.model.states import MachineState
from factoryos.schedule.clock import TimeAxis, WallClock, WorkingClock
from factoryos.schedule.errors import SchedulingError
from factoryos.schedule.losses import StepLoad, describe, round_up, step_loads
from factoryos.schedule.order_book import Order, read_orders
from factoryos.schedule.plant_time import Stretches, fit_stretches, working_clock
from factoryos.schedule.problem import Alternative, EnergyPrices, Job, Operation, Problem

__all__ = ["Order", "PlantProblem", "build_problem", "read_orders"]


@dataclass(frozen=True)
class PlantProblem:
    """The integer problem plus what maps it back to the plant: its time axis."""

    problem: Problem
    orders: tuple[Order, ...]
    origin: dt.datetime
    time_unit: dt.timedelta
    axis: TimeAxis
    ignored: tuple[str, ...] = ()
    """What of the plant the plan does not model, one sentence each (for the user)."""
    allowances: tuple[str, ...] = ()
    """What the plan reserves for expected losses (scrap, rework, services by usage), one
    sentence each (for the user)."""

    def to_units(self, instant: dt.datetime) -> int:
        return self.axis.to_units(instant)

    @property
    def units_per_hour(self) -> int:
        """Time units in an hour (60 for minutes): what repair counts deviation in."""
        per_hour = dt.timedelta(hours=1) / self.time_unit
        if per_hour < 1 or per_hour != int(per_hour):
            raise SchedulingError(
                f"time unit {self.time_unit} does not divide an hour into whole units"
            )
        return int(per_hour)


def _expand(
    plant: Plant,
    machine_of: dict[tuple[str, int], int],
    unit_s: float,
    product_id: str,
    quantity: float,
    prefix: str,
    trail: tuple[str, ...],
    ops: list[Operation],
    precedences: list[tuple[int, int]],
    transfers: list[tuple[int, int, int, int]],
) -> int:
    """Append ``product_id``'s routing (components first) to ``ops``; return its last index.

    With the product's ``transfer_batch`` smaller than the lot, consecutive steps overlap
    (``Job.transfers``) unless one of them may run on batch equipment, whose cycle waits for
    the whole lot."""
    if product_id in trail:
        raise SchedulingError(f"product {product_id!r} consumes itself via {list(trail)}")
    product = plant.product_by_id[product_id]
    loads = step_loads(product, quantity)
    previous = -1
    batch_before = False
    for step, load in zip(product.routing, loads, strict=True):
        feeders = [
            _expand(
                plant,
                machine_of,
                unit_s,
                c.product,
                loads[0].entering * c.quantity,  # every started unit takes its components
                f"{prefix}{c.product}.",
                (*trail, product_id),
                ops,
                precedences,
                transfers,
            )
            for c in step.consumes
        ]
        eligible = plant.eligible_equipment(step, plant.product_by_id[product_id])
        if not eligible:
            raise SchedulingError(f"{product_id}/{step.id}: no equipment has skill {step.skill!r}")
        alts: list[Alternative] = []
        for eq in eligible:
            # batch equipment runs one cycle for up to batch_capacity units
            cycles = load.cycles(eq.batch_capacity) if eq.batch_capacity > 1 else load.runs
            seconds = step.run_time_on(eq.id) * cycles
            seconds += service_load_s(plant, eq, seconds + step.setup_time_s, load.runs)
            dur = max(1, round_up(seconds / unit_s))
            alts.extend(Alternative(machine_of[(eq.id, n)], dur) for n in range(1, eq.units + 1))
        ops.append(
            Operation(
                tuple(alts),
                name=f"{prefix}{step.id}",
                product=product_id,
                family=product.family,
                setup_default=math.ceil(step.setup_time_s / unit_s),
                resumable=step.resumable,
                unattended=step.unattended,
                quantity=load.started,
            )
        )
        here = len(ops) - 1
        batch_here = any(eq.batch_capacity > 1 for eq in eligible)
        if previous >= 0:
            precedences.append((previous, here))
            lot = ops[previous].quantity
            batch = transfer_size(product, lot)
            if batch < lot and not (batch_here or batch_before):
                transfers.append((previous, here, batch, lot))
        batch_before = batch_here
        precedences.extend((f, here) for f in feeders)
        if load.repairs and step.rework_at is not None:
            _repairs(plant, machine_of, unit_s, step, load, prefix, ops, precedences)
            if load.started > 1 and not batch_here:
                transfers.append((here, len(ops) - 1, 1, load.started))
        previous = here
    return previous


def _repairs(
    plant: Plant,
    machine_of: dict[tuple[str, int], int],
    unit_s: float,
    step: PlantOperation,
    load: StepLoad,
    prefix: str,
    ops: list[Operation],
    precedences: list[tuple[int, int]],
) -> None:
    """The expected repairs of ``step``'s lot at its rework station: an operation there that
    may start once the step's first unit is done and ends after the step (units come back to
    it repaired), a branch the next step does not wait for (the repeats are in the step's own
    time). Named ``<step>.rework-<station>``: no routing step id has a hyphen."""
    station = step.rework_at
    assert station is not None
    equipment = plant.equipment_by_id[station]
    dur = max(1, round_up(step.rework_time_s * load.repairs / unit_s))
    step_index = len(ops) - 1
    stepped = ops[step_index]
    ops.append(
        Operation(
            tuple(
                Alternative(machine_of[(station, n)], dur) for n in range(1, equipment.units + 1)
            ),
            name=f"{stepped.name}.rework-{station}",
            product=stepped.product,
            resumable=True,
            quantity=round_up(load.repairs),
        )
    )
    precedences.append((step_index, len(ops) - 1))


def build_problem(
    plant: Plant,
    orders: Sequence[Order],
    *,
    origin: dt.datetime | None = None,
    time_unit: dt.timedelta = dt.timedelta(minutes=1),
    name: str = "plant",
    calendar: bool = True,
    calendar_span: dt.timedelta = dt.timedelta(days=366),
    lot_size: int | None = None,
) -> PlantProblem:
    """Map ``orders`` on ``plant`` to a flexible job shop with assembly joins and due dates.

    With ``calendar`` the problem lives on the working-time axis of the plant's calendar
    (:class:`~factoryos.schedule.clock.WorkingClock`) and planned maintenance windows become
    unavailable time of their work units; otherwise time is continuous from ``origin``.

    Each order is made in lots (:func:`factoryos.model.lots.effective_lot_size`: the order's
    ``lot_size``, else ``lot_size`` here, else the product's): a lot's steps (components made
    per lot) are a branch of the order's job, named ``L<k>.<step>`` when there are several, so
    every lot changes over on its own and its steps run time per unit (per cycle on batch
    equipment). The order's due date and weight hold for its last lot.
    """
    if not orders:
        raise SchedulingError("no orders to schedule")
    start = origin or min(o.release for o in orders)
    start = start.astimezone(dt.UTC)
    units = plant.work_units
    axis: TimeAxis = WallClock(start, time_unit)
    unavailable: list[tuple[int, int, int]] = []
    off: list[tuple[int, int, int]] = []
    if calendar:
        around = any(
            step.unattended
            for o in orders
            if o.product in plant.product_by_id
            for step in _steps(plant, o.product)
        )
        axis, off = working_clock(plant, units, start, time_unit, calendar_span, around=around)
    unit_s = time_unit.total_seconds()
    machine_of = {(u.equipment.id, u.unit): i for i, u in enumerate(units)}
    jobs = []
    for order in orders:
        if order.product not in plant.product_by_id:
            raise SchedulingError(f"order {order.order_id!r}: unknown product {order.product!r}")
        ops: list[Operation] = []
        precedences: list[tuple[int, int]] = []
        transfers: list[tuple[int, int, int, int]] = []
        product = plant.product_by_id[order.product]
        try:
            lots = split_lots(order.quantity, effective_lot_size(product, order.lot_size, lot_size))
        except LotSizeError as exc:
            raise SchedulingError(f"order {order.order_id!r}: {exc}") from exc
        for k, lot in enumerate(lots, start=1):
            prefix = f"L{k}." if len(lots) > 1 else ""
            _expand(
                plant,
                machine_of,
                unit_s,
                order.product,
                lot,
                prefix,
                (),
                ops,
                precedences,
                transfers,
            )
        release = max(0, axis.to_units(order.release))
        due = None if order.due is None else axis.to_units(order.due)
        jobs.append(
            Job(
                tuple(ops),
                name=order.order_id,
                product=order.product,
                release_date=release,
                due_date=due,
                weight=order.weight,
                precedences=tuple(precedences),
                transfers=tuple(transfers),
            )
        )
    if calendar:
        end = start + calendar_span
        for i, u in enumerate(units):
            for window in plant.maintenance_of(u.equipment.id):
                for lo, hi in window.spans(plant.zone, start, end):
                    a, b = axis.to_units(lo), axis.to_units(hi)
                    if b > a:
                        unavailable.append((i, a, b))
    setup_matrix = tuple(
        (i, a, b, math.ceil(seconds / unit_s))
        for i, u in enumerate(units)
        for a, row in u.equipment.setup_matrix_s.items()
        for b, seconds in row.items()
    )
    # one price per hour of plan time, read at the slot's first instant in the site's zone
    slot = max(1, round(3600 / unit_s))
    slots = axis.to_units(start + calendar_span) // slot + 1
    energy = EnergyPrices(
        slot=slot,
        prices=tuple(
            plant.tariff.price_at(axis.start_at(k * slot).astimezone(plant.zone))
            for k in range(slots)
        ),
        power_kw=tuple(u.equipment.power_in(MachineState.PRODUCING) for u in units),
        unit_h=unit_s / 3600,
    )
    breaks = axis.pauses() if isinstance(axis, WorkingClock) else ()
    if isinstance(axis, WorkingClock) and (breaks or unavailable or off):
        stretches = Stretches(breaks, unavailable, off, axis.total)
        jobs = [fit_stretches(job, stretches, time_unit) for job in jobs]
    problem = Problem(
        tuple(jobs),
        len(units),
        name=name,
        machine_units=tuple((u.equipment.id, u.unit) for u in units),
        unavailable=tuple(unavailable),
        setup_matrix=setup_matrix,
        lot_setup_machines=frozenset(
            m for m, u in enumerate(units) if u.equipment.setup == "per_lot"
        ),
        first_setups=True,
        energy=energy,
        breaks=breaks,
        off=tuple(off),
    )
    made = {step_product for o in orders for step_product in _products(plant, o.product)}
    used = {
        eq.id
        for product_id in made
        for step in plant.product_by_id[product_id].routing
        for eq in plant.eligible_equipment(step, plant.product_by_id[product_id])
    }
    allowances = describe(plant, made, used)
    return PlantProblem(problem, tuple(orders), start, time_unit, axis, (), allowances)


def _products(plant: Plant, product_id: str, trail: tuple[str, ...] = ()) -> set[str]:
    """``product_id`` and every component its routing takes, recursively."""
    if product_id in trail or product_id not in plant.product_by_id:
        return set()
    out = {product_id}
    for step in plant.product_by_id[product_id].routing:
        for c in step.consumes:
            out |= _products(plant, c.product, (*trail, product_id))
    return out


def _steps(plant: Plant, product_id: str, trail: tuple[str, ...] = ()) -> list[PlantOperation]:
    """Every routing step that making ``product_id`` takes, its components' included."""
    if product_id in trail or product_id not in plant.product_by_id:
        return []
    out = []
    for step in plant.product_by_id[product_id].routing:
        out.append(step)
        for c in step.consumes:
            out.extend(_steps(plant, c.product, (*trail, product_id)))
    return out
