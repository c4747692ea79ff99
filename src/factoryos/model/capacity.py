"""Static rough-cut capacity check: can the plant make a demand in a window, and where is the limit?

For a window (usually a year) and a demand of sellable units split by a product mix:

1. **Quantities.** Each product's good units are exploded through its routing, last operation
   first: an operation with scrap rate ``s`` must start ``good / (1 - s)`` units, and a fraction
   ``r`` (rework rate) of the started units runs the operation a second time. Components an
   operation ``consumes`` are needed for every unit it starts, so sub-assembly demand (reducers,
   motors, casting sets) follows from the started units of the consuming operation.
2. **Available time** of an equipment pool = units x planned busy time x inherent availability.
   Planned busy time (ISO 22400 PBT) is its line's calendar (shifts minus breaks, not on holidays)
   minus the pool's maintenance windows; inherent availability is MTBF / (MTBF + MTTR) of its
   failure model (1 without one).
3. **Load.** An operation's runs go to its eligible pools in proportion to their available time
   (so a pool with several skills or serving several operations shares its capacity among them),
   each at that pool's run time; on batch equipment (``batch_capacity`` N > 1) a run is one cycle
   for N units, full loads assumed (a plant loaded above capacity fills its ovens); the pool's
   expected performance losses (minor stops, speed loss) stretch every run. Setups, as the plan
   and the twin charge them (``Equipment.setup``): the previous lot on the pool is drawn at
   random from the pool's lot mix (no campaign sequencing, so a rough upper bound on
   changeovers); a lot (``lot_size`` started units, ``factoryos.model.lots``: ``--lot-size``
   overrides the products') after another family costs the pool's matrix entry (else the
   operation's ``setup_time``), after its own family the ``setup_time`` on a ``per_lot`` pool
   and nothing on a ``per_family_change`` one.
4. **Result.** Utilisation = load / available time per pool, line (work center) and skill; the
   bottleneck is the pool with the highest utilisation; loads are linear in the demand, so the
   nominal output of the window is ``demand / bottleneck utilisation``. Takt time is the plant's
   planned busy time (default calendar) divided by the demand.

Pure functions, no I/O: callers print the :class:`CapacityReport`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from factoryos.model.calendar import MaintenanceWindow, merge_spans, shift_periods
from factoryos.model.errors import FactoryosError
from factoryos.model.lots import effective_lot_size
from factoryos.model.plant import Equipment, Plant, Product

Span = tuple[dt.datetime, dt.datetime]


class CapacityError(FactoryosError, ValueError):
    """The capacity check was asked something it cannot answer (bad mix, empty window...)."""


@dataclass(frozen=True, slots=True)
class PoolCapacity:
    """Available time and load of one equipment pool over the window, in seconds."""

    equipment: str
    line: str
    units: int
    skills: tuple[str, ...]
    planned_busy_s: float  # per unit: calendar PBT minus maintenance windows
    availability: float  # inherent availability MTBF / (MTBF + MTTR)
    available_s: float  # units x planned_busy_s x availability
    run_load_s: float
    setup_load_s: float
    demand_units: float  # the sellable demand the load is for
    service_load_s: float = 0.0  # maintenance due by operating hours or counts (usage windows)

    @property
    def load_s(self) -> float:
        return self.run_load_s + self.setup_load_s + self.service_load_s

    @property
    def utilisation(self) -> float:
        """Load / available time; ``inf`` for a loaded pool with no available time."""
        return _ratio(self.load_s, self.available_s)

    @property
    def max_units(self) -> float:
        """Sellable units in the window at which this pool would be fully loaded."""
        return _ratio(self.demand_units, self.utilisation) if self.utilisation else math.inf


@dataclass(frozen=True, slots=True)
class GroupLoad:
    """Load and available time summed over a line (work center) or a skill, in seconds."""

    name: str
    load_s: float
    available_s: float

    @property
    def utilisation(self) -> float:
        return _ratio(self.load_s, self.available_s)


@dataclass(frozen=True, slots=True)
class CapacityReport:
    """The rough-cut capacity check of a plant for a demand over [start, end)."""

    start: dt.datetime
    end: dt.datetime
    demand_units: float  # sellable units demanded in the window
    mix: Mapping[str, float]  # product -> share of demand_units, summing to 1
    good_units: Mapping[str, float]  # product -> good units to make, sub-assemblies included
    lot_size: int | None  # the --lot-size override; None: each product's own lot_size
    plant_busy_s: float  # planned busy time of the plant's default calendar
    pools: tuple[PoolCapacity, ...]
    lines: tuple[GroupLoad, ...]
    skills: tuple[GroupLoad, ...]

    @property
    def bottleneck(self) -> PoolCapacity:
        """The pool with the highest utilisation (model order breaks ties)."""
        return max(self.pools, key=lambda p: p.utilisation)

    @property
    def nominal_units(self) -> float:
        """Sellable units the plant can make in the window with this mix: the bottleneck's."""
        return self.bottleneck.max_units

    @property
    def takt_s(self) -> float:
        """Customer takt time: the plant's planned busy time per demanded unit, seconds."""
        return _ratio(self.plant_busy_s, self.demand_units)


def _ratio(num: float, den: float) -> float:
    if den > 0:
        return num / den
    return 0.0 if num == 0 else math.inf


def calendar_year(plant: Plant, year: int) -> Span:
    """[1 January, next 1 January) of ``year`` in the plant's time zone, as tz-aware datetimes."""
    zone = plant.zone
    return dt.datetime(year, 1, 1, tzinfo=zone), dt.datetime(year + 1, 1, 1, tzinfo=zone)


def default_mix(plant: Plant) -> dict[str, float]:
    """Equal shares of the sellable products (those with ``value_added_cny > 0``)."""
    sellable = [p.id for p in plant.products if p.value_added_cny > 0]
    if not sellable:
        raise CapacityError("the plant sells nothing: no product has value_added_cny > 0")
    return dict.fromkeys(sellable, 1.0 / len(sellable))


def rough_cut_capacity(
    plant: Plant,
    start: dt.datetime,
    end: dt.datetime,
    demand_units: float,
    mix: Mapping[str, float] | None = None,
    lot_size: int | None = None,
) -> CapacityReport:
    """Check ``demand_units`` sellable units split by ``mix`` (shares, normalised) in [start, end).

    ``mix`` defaults to :func:`default_mix`; ``lot_size`` (units per setup) replaces every
    product's ``lot_size`` when given. See the module docstring for the method and assumptions.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise CapacityError("start and end need a time zone")
    if end <= start:
        raise CapacityError(f"empty window: end {end.isoformat()} <= start {start.isoformat()}")
    if not demand_units > 0:
        raise CapacityError(f"demand must be positive, got {demand_units!r}")
    if lot_size is not None and lot_size < 1:
        raise CapacityError(f"lot size must be >= 1, got {lot_size!r}")
    shares = _normalised_mix(plant, default_mix(plant) if mix is None else mix)

    starts = _started_units(plant, {p: s * demand_units for p, s in shares.items()})
    good = {pid: _good_units(plant.product_by_id[pid], ops) for pid, ops in starts.items()}
    periods = {
        cal_id: [(p.start, p.end) for p in shift_periods(cal, plant.zone, start, end)]
        for cal_id, cal in plant.calendars.items()
    }
    busy = {
        eq.id: _planned_busy_s(plant, eq, periods[plant.calendar_id_of(line)], start, end)
        for _, line, eq in plant.equipment_items()
    }
    available = {
        eq.id: eq.units * busy[eq.id] * _availability(eq) for _, _, eq in plant.equipment_items()
    }

    run_load: dict[str, float] = defaultdict(float)
    setup_load: dict[str, float] = defaultdict(float)
    skill_load: dict[str, float] = defaultdict(float)
    # (pool, product family, skill, step setup) -> lots; setups depend on the pool's family mix
    batches: dict[tuple[str, str, str, float], float] = defaultdict(float)
    made: dict[str, float] = defaultdict(float)  # pool -> units run
    for product in plant.products:
        for op in product.routing:
            started = starts[product.id][op.id]
            if started == 0:
                continue
            runs = started * (1.0 + op.rework_rate)
            lots = started / effective_lot_size(product, None, lot_size)
            eligible = plant.eligible_equipment(op, product)
            total = sum(available[eq.id] for eq in eligible)
            for eq in eligible:
                share = available[eq.id] / total if total > 0 else 1.0 / len(eligible)
                load = runs * share * op.run_time_per_unit(eq) * eq.performance_factor
                n = lots * share
                run_load[eq.id] += load
                skill_load[op.skill] += load
                batches[(eq.id, product.family, op.skill, op.setup_time_s)] += n
                made[eq.id] += runs * share
            if op.rework_at is not None:  # repairs at the rework station
                repair = started * op.rework_rate * op.rework_time_s
                run_load[op.rework_at] += repair
                skill_load[op.skill] += repair
    for (eq_id, family, skill, setup_s), n in batches.items():
        changeover = n * _expected_setup_s(plant.equipment_by_id[eq_id], family, setup_s, batches)
        setup_load[eq_id] += changeover
        skill_load[skill] += changeover

    pools = tuple(
        PoolCapacity(
            equipment=eq.id,
            line=line.id,
            units=eq.units,
            skills=eq.skills,
            planned_busy_s=busy[eq.id],
            availability=_availability(eq),
            available_s=available[eq.id],
            run_load_s=run_load.get(eq.id, 0.0),
            setup_load_s=setup_load.get(eq.id, 0.0),
            demand_units=demand_units,
            service_load_s=service_load_s(
                plant, eq, run_load.get(eq.id, 0.0) + setup_load.get(eq.id, 0.0), made[eq.id]
            ),
        )
        for _, line, eq in plant.equipment_items()
    )
    lines = tuple(
        GroupLoad(
            line.id,
            sum(p.load_s for p in pools if p.line == line.id),
            sum(p.available_s for p in pools if p.line == line.id),
        )
        for _, line in plant.lines()
    )
    skills = tuple(
        GroupLoad(
            skill,
            skill_load.get(skill, 0.0),
            sum(p.available_s for p in pools if skill in p.skills),
        )
        for skill in plant.skills
    )
    return CapacityReport(
        start=start,
        end=end,
        demand_units=demand_units,
        mix=MappingProxyType(dict(shares)),
        good_units=MappingProxyType(good),
        lot_size=lot_size,
        plant_busy_s=sum((b - a).total_seconds() for a, b in periods[plant.default_calendar]),
        pools=pools,
        lines=lines,
        skills=skills,
    )


def _normalised_mix(plant: Plant, mix: Mapping[str, float]) -> dict[str, float]:
    for product, share in mix.items():
        if product not in plant.product_by_id:
            raise CapacityError(f"mix: unknown product {product!r}")
        if not share >= 0:
            raise CapacityError(f"mix: share of {product!r} must be >= 0, got {share!r}")
    total = sum(mix.values())
    if not total > 0:
        raise CapacityError("mix: shares sum to zero")
    return {p: s / total for p, s in mix.items() if s > 0}


def _topological(plant: Plant) -> list[Product]:
    """Products with every consumer before the products it consumes (the graph is acyclic)."""
    consumers: dict[str, int] = dict.fromkeys(plant.product_by_id, 0)
    for product in plant.products:
        for op in product.routing:
            for comp in op.consumes:
                consumers[comp.product] += 1
    ready = [p for p in plant.products if consumers[p.id] == 0]
    order: list[Product] = []
    while ready:
        product = ready.pop(0)
        order.append(product)
        for op in product.routing:
            for comp in op.consumes:
                consumers[comp.product] -= 1
                if consumers[comp.product] == 0:
                    ready.append(plant.product_by_id[comp.product])
    return order


def _started_units(plant: Plant, demand: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """product -> operation -> units started, for ``demand`` good units of sellable products."""
    needed: dict[str, float] = defaultdict(float, demand)
    starts: dict[str, dict[str, float]] = {}
    for product in _topological(plant):
        out = needed[product.id]
        per_op: dict[str, float] = {}
        for op in reversed(product.routing):
            started = out / (1.0 - op.scrap_rate)
            per_op[op.id] = started
            for comp in op.consumes:
                needed[comp.product] += started * comp.quantity
            out = started
        starts[product.id] = per_op
    return starts


def _good_units(product: Product, started: Mapping[str, float]) -> float:
    last = product.routing[-1]
    return started[last.id] * (1.0 - last.scrap_rate)


def service_load_s(plant: Plant, equipment: Equipment, operating_s: float, made: float) -> float:
    """Expected maintenance due by usage on one unit of ``equipment``: a service per ``hours``
    of operating time or per ``counts`` units run, whichever comes first (the larger estimate;
    the twin services at whichever comes first). The plan allows for the same
    (``schedule.losses``)."""
    total = 0.0
    for window in plant.maintenance_of(equipment.id):
        usage = window.usage
        if usage is None:
            continue
        services = max(
            operating_s / usage.hours_s if usage.hours_s else 0.0,
            made / usage.counts if usage.counts else 0.0,
        )
        total += services * usage.duration_s
    return total


def _availability(equipment: Equipment) -> float:
    return equipment.failure.availability if equipment.failure is not None else 1.0


def _planned_busy_s(
    plant: Plant, equipment: Equipment, periods: list[Span], start: dt.datetime, end: dt.datetime
) -> float:
    """Per-unit PBT: its line calendar's shift ``periods`` minus the pool's maintenance windows."""
    windows = merge_spans(_maintenance_spans(plant.maintenance_of(equipment.id), plant, start, end))
    busy = sum((b - a).total_seconds() for a, b in periods)
    return busy - _overlap_s(periods, windows)


def _maintenance_spans(
    windows: Iterable[MaintenanceWindow], plant: Plant, start: dt.datetime, end: dt.datetime
) -> list[Span]:
    return [span for w in windows for span in w.spans(plant.zone, start, end)]


def _overlap_s(periods: list[Span], windows: list[Span]) -> float:
    """Seconds of ``periods`` covered by ``windows`` (both sorted, windows disjoint)."""
    total = 0.0
    for a, b in periods:
        for c, d in windows:
            if c >= b:
                break
            lo, hi = max(a, c), min(b, d)
            if hi > lo:
                total += (hi - lo).total_seconds()
    return total


def _expected_setup_s(
    equipment: Equipment,
    to_family: str,
    setup_s: float,
    batches: Mapping[tuple[str, str, str, float], float],
) -> float:
    """Mean setup of a lot of ``to_family`` (step setup ``setup_s``) when the previous lot is
    drawn from the pool's mix: the matrix entry (else ``setup_s``) after another family,
    ``setup_s`` after its own on a ``per_lot`` pool."""
    matrix = equipment.setup_matrix_s
    families: dict[str, float] = defaultdict(float)
    for (eq_id, family, _, _), n in batches.items():
        if eq_id == equipment.id:
            families[family] += n
    total = sum(families.values())
    if total == 0:
        return 0.0
    return sum(
        n
        / total
        * (
            matrix.get(from_family, {}).get(to_family, setup_s)
            if from_family != to_family
            else (setup_s if equipment.setup == "per_lot" else 0.0)
        )
        for from_family, n in families.items()
    )
