"""Orders and the plant-level problem: an order book plus a plant model -> a scheduling problem.

Each order is one job. Its product's routing is a chain; an operation that consumes components
pulls in each component's routing (recursively) as a branch whose last operation must end before
the consuming operation starts: the assembly join. Every operation runs as one lot of the order's
quantity (times the component quantity) on one work unit: ``setup_time + run_time_on(equipment) *
quantity``, rounded up to the time unit. Each work unit of an eligible equipment pool is a machine.
On the calendar's working-time axis the instants where it pauses (breaks, shift ends, weekends,
holidays) become ``Problem.breaks``; a step the routing does not mark ``resumable`` or
``unattended`` runs inside one working stretch, so units on which its lot is longer than every
stretch are not eligible. Lines on different calendars share the axis of their calendars' union
(time when some line works), the wall clock when some step is unattended (it runs while nobody
works); a unit's own time off on it is ``Problem.off``: a resumable step pauses there, an
unattended one runs through it.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from factoryos.model.calendar import merge_spans, shift_periods
from factoryos.model.lots import LotSizeError, effective_lot_size, split_lots, transfer_size
from factoryos.model.plant import Operation as PlantOperation
from factoryos.model.plant import Plant, WorkUnit
from factoryos.model.states import MachineState
from factoryos.schedule.clock import TimeAxis, WallClock, WorkingClock
from factoryos.schedule.errors import InstanceFormatError, OrderFileError, SchedulingError
from factoryos.schedule.problem import Alternative, EnergyPrices, Job, Operation, Problem

__all__ = ["Order", "PlantProblem", "build_problem", "read_orders"]

REQUIRED = ("order", "product", "quantity", "release", "due")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Order:
    """A customer or stock order: ``quantity`` of ``product`` between ``release`` and ``due``."""

    order_id: str
    product: str
    quantity: int
    release: dt.datetime
    due: dt.datetime | None = None
    weight: int = 1
    lot_size: int | None = None
    """Units per lot for this order; None: ``--lot-size``, else the product's (model.lots)."""


def _instant(text: str, column: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"{column}: not an ISO 8601 time: {text!r}") from exc
    if value.tzinfo is None:
        raise ValueError(f"{column}: {text!r} has no time zone (write e.g. 2026-03-02T08:00+08:00)")
    return value.astimezone(dt.UTC)


def _integer(row: dict[str, str], column: str, default: int, least: int) -> int:
    text = (row.get(column) or "").strip()
    if not text:
        if default < least:
            raise ValueError(f"{column}: missing")
        return default
    try:
        value = int(text)
    except ValueError as exc:
        raise ValueError(f"{column}: not an integer: {text!r}") from exc
    if value < least:
        raise ValueError(f"{column}: must be >= {least}, got {value}")
    return value


def _order_of(
    row: dict[str, str], products: Collection[str] | None, problems: list[str]
) -> Order | None:
    """The order of one CSV row, or None with every problem of the row added to ``problems``."""

    def field(parse: Callable[[], _T]) -> _T | None:
        try:
            return parse()
        except ValueError as exc:
            problems.append(str(exc))
            return None

    order_id = (row.get("order") or "").strip()
    product = (row.get("product") or "").strip()
    if not order_id:
        problems.append("order: missing")
    if not product:
        problems.append("product: missing")
    elif products is not None and product not in products:
        problems.append(
            f"product: unknown product {product!r} (the plant makes {', '.join(sorted(products))})"
        )
    quantity = field(lambda: _integer(row, "quantity", 0, 1))
    weight = field(lambda: _integer(row, "weight", 1, 0))
    lot_text = (row.get("lot_size") or "").strip()
    lot_size = field(lambda: _integer(row, "lot_size", 0, 1)) if lot_text else None
    release_text = (row.get("release") or "").strip()
    release = field(lambda: _instant(release_text, "release")) if release_text else None
    if not release_text:
        problems.append("release: missing")
    due_text = (row.get("due") or "").strip()
    due = field(lambda: _instant(due_text, "due")) if due_text else None
    if release is not None and due is not None and due < release:
        problems.append(f"due: {due_text} is before the release {release_text}")
    if None in row:
        problems.append(f"extra field(s) beyond the header: {row[None]}")  # type: ignore[index]
    if problems or quantity is None or weight is None or release is None:
        return None
    return Order(order_id, product, quantity, release, due, weight, lot_size)


def read_orders(path: Path | str, *, products: Collection[str] | None = None) -> list[Order]:
    """Read an orders CSV with columns order, product, quantity, release, due[, weight, lot_size].

    ``lot_size`` (optional, per order) overrides the product's lot size for that order. Every
    problem of the file is reported at once, each as ``file:line: column: message``; with
    ``products`` (the plant's product ids) an unknown product is one of them.
    """
    p = Path(path)
    orders: list[Order] = []
    problems: list[tuple[int, str]] = []
    first_line: dict[str, int] = {}
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or ())]
            if missing:
                raise InstanceFormatError(
                    f"missing column(s) {missing}; expected "
                    f"{', '.join(REQUIRED)}[, weight, lot_size]",
                    path=p,
                    line=1,
                )
            for row in reader:
                line = reader.line_num  # the row's last physical line (quoted fields may wrap)
                found: list[str] = []
                order = _order_of(row, products, found)
                problems.extend((line, message) for message in found)
                if order is None:
                    continue
                if order.order_id in first_line:
                    problems.append(
                        (
                            line,
                            f"order: duplicate order id {order.order_id!r}, first on line "
                            f"{first_line[order.order_id]}",
                        )
                    )
                first_line.setdefault(order.order_id, line)
                orders.append(order)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InstanceFormatError(f"cannot read the orders: {exc}", path=p) from exc
    if problems:
        raise OrderFileError(p, problems)
    return orders


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

    def to_units(self, instant: dt.datetime) -> int:
        return self.axis.to_units(instant)


def _expand(
    plant: Plant,
    machine_of: dict[tuple[str, int], int],
    unit_s: float,
    product_id: str,
    quantity: int,
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
    previous = -1
    batch_before = False
    for step in product.routing:
        feeders = [
            _expand(
                plant,
                machine_of,
                unit_s,
                c.product,
                quantity * c.quantity,
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
            runs = math.ceil(quantity / eq.batch_capacity)
            seconds = step.run_time_on(eq.id) * runs
            dur = max(1, math.ceil(seconds / unit_s))
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
                quantity=quantity,
            )
        )
        here = len(ops) - 1
        batch_here = any(eq.batch_capacity > 1 for eq in eligible)
        if previous >= 0:
            precedences.append((previous, here))
            batch = transfer_size(product, quantity)
            if batch < quantity and not (batch_here or batch_before):
                transfers.append((previous, here, batch, quantity))
        batch_before = batch_here
        precedences.extend((f, here) for f in feeders)
        previous = here
    return previous


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
        axis, off = _working_clock(plant, units, start, time_unit, calendar_span, around=around)
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
        stretches = _Stretches(breaks, unavailable, off, axis.total)
        jobs = [_fit_stretches(job, stretches, time_unit) for job in jobs]
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
        energy=energy,
        breaks=breaks,
        off=tuple(off),
    )
    return PlantProblem(problem, tuple(orders), start, time_unit, axis, _ignored(plant, units))


def _ignored(plant: Plant, units: Sequence[WorkUnit]) -> tuple[str, ...]:
    """Maintenance by operating hours or counts (the twin stops a unit when it is due; a plan
    cannot know when) and rework (the share of units a step sends back, at its own or another
    station) are not in the plan: said, so a planner leaves room for them."""
    out = []
    used = {u.equipment.id for u in units}
    for window in plant.maintenance:
        if window.usage is not None and used & set(window.equipment):
            trigger = " or ".join(
                t
                for t in (
                    f"{window.usage.hours_s / 3600:g} operating h" if window.usage.hours_s else "",
                    f"{window.usage.counts} units" if window.usage.counts else "",
                )
                if t
            )
            out.append(
                f"maintenance of {', '.join(window.equipment)} after every {trigger} "
                "(usage-based: not placed in the plan; the twin and the capacity check count it)"
            )
    rates = [
        (step.rework_rate, step.rework_at)
        for product in plant.products
        for step in product.routing
        if step.rework_rate > 0
    ]
    if rates:
        low, high = min(r for r, _ in rates), max(r for r, _ in rates)
        share = f"{low:.0%}" if low == high else f"{low:.0%}-{high:.0%}"
        stations = sorted({at for _, at in rates if at})
        at = f", at {', '.join(stations)} or their own units" if stations else ""
        out.append(
            f"rework of {len(rates)} steps ({share} of their units{at}): no time is kept for it "
            "(the twin and the capacity check count it)"
        )
    return tuple(out)


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


class _Stretches:
    """The longest run of a unit's time a step may take in one go: between unavailable spans,
    also between the unit's time off unless the step pauses there (resumable) or runs through it
    (unattended), also between the calendar pauses unless it does either."""

    def __init__(
        self,
        breaks: tuple[int, ...],
        unavailable: list[tuple[int, int, int]],
        off: list[tuple[int, int, int]],
        total: int,
    ) -> None:
        self._breaks = breaks
        self._total = total
        self._spans: dict[int, list[tuple[int, int]]] = {}
        self._off: dict[int, list[tuple[int, int]]] = {}
        for m, lo, hi in unavailable:
            self._spans.setdefault(m, []).append((lo, hi))
        for m, lo, hi in off:
            self._off.setdefault(m, []).append((lo, hi))
        self._cache: dict[tuple[int, bool], int | None] = {}

    def longest(self, machine: int, *, in_one_go: bool) -> int | None:
        """``None`` when nothing cuts the unit's time (a step of any length fits)."""
        key = (machine, in_one_go)
        if key not in self._cache:
            cuts = self._spans.get(machine, []).copy()
            if in_one_go:
                cuts += [(b, b) for b in self._breaks] + self._off.get(machine, [])
            free = _gaps(sorted(cuts), self._total)
            self._cache[key] = max((hi - lo for lo, hi in free), default=0) if cuts else None
        return self._cache[key]


def _fit_stretches(job: Job, stretches: _Stretches, unit: dt.timedelta) -> Job:
    """Drop the units on which a lot is longer than every stretch of the unit's time it may take
    in one go (see :class:`_Stretches`)."""
    ops = []
    for op in job.operations:
        in_one_go = not (op.resumable or op.unattended)
        longest = {
            a.machine: stretches.longest(a.machine, in_one_go=in_one_go) for a in op.alternatives
        }
        fits = tuple(
            a for a in op.alternatives if (n := longest[a.machine]) is None or a.duration <= n
        )
        if not fits:
            limit = max(n for n in longest.values() if n is not None)
            reason = (
                f"the longest stretch ({_span(limit, unit)}) between its units' maintenance "
                "windows: split the order"
                if not in_one_go
                else f"the longest working stretch ({_span(limit, unit)}) of its units' "
                "calendar, and is neither resumable nor unattended: mark it 'resumable: true' "
                "(it pauses between stretches) or 'unattended: true' (it runs on) in the "
                "routing, or split the order"
            )
            raise SchedulingError(
                f"order {job.name!r}: step {op.name!r} takes {_span(op.min_duration, unit)}, "
                f"longer than {reason}"
            )
        ops.append(dataclasses.replace(op, alternatives=fits))
    return dataclasses.replace(job, operations=tuple(ops))


def _span(units: int, unit: dt.timedelta) -> str:
    """A plan duration in minutes (hours beside it from 2 h on), as a planner reads it."""
    minutes = units * unit.total_seconds() / 60
    text = f"{minutes:,.0f} min"
    return text if minutes < 120 else f"{text} = {minutes / 60:,.1f} h"


def _working_clock(
    plant: Plant,
    units: Sequence[WorkUnit],
    start: dt.datetime,
    unit: dt.timedelta,
    span: dt.timedelta,
    *,
    around: bool = False,
) -> tuple[WorkingClock, list[tuple[int, int, int]]]:
    """The working-time axis of the lines' calendars together, and each unit's time off on it.

    With one calendar the axis is its working time. With several it is their union: the map from
    wall-clock time stays monotone, so precedences between lines on different calendars stay
    exact, and a unit's time off while other lines work is its time off on the axis. With
    ``around`` (an unattended step runs while nobody works) the axis is the wall clock.
    """
    calendar_of = [plant.calendar_id_of(u.line) for u in units]
    own = {
        cid: [(p.start, p.end) for p in shift_periods(cal, plant.zone, start, start + span)]
        for cid, cal in plant.calendars.items()
        if cid in calendar_of
    }
    spans = [p for periods in own.values() for p in periods]
    if around:
        spans.append((start, start + span))
    clock = WorkingClock(merge_spans(spans), unit)
    off: list[tuple[int, int, int]] = []
    if len(own) > 1 or around:
        for cid, periods in own.items():
            gaps = _gaps(
                [(clock.to_units(lo), clock.to_units(hi)) for lo, hi in periods], clock.total
            )
            off.extend(
                (i, lo, hi) for i, c in enumerate(calendar_of) if c == cid for lo, hi in gaps
            )
    return clock, off


def _gaps(spans: list[tuple[int, int]], total: int) -> list[tuple[int, int]]:
    """The parts of ``[0, total)`` outside the sorted ``spans`` (they may overlap)."""
    out, t = [], 0
    for lo, hi in spans:
        if lo > t:
            out.append((t, lo))
        t = max(t, hi)
    if t < total:
        out.append((t, total))
    return out
