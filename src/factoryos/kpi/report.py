"""The KPI engine: aggregate rows from a store (or from events in memory) -> KPIs per group.

Groups are the whole node, or its days, shifts or work units. Every KPI of a group is computed
from that group's summed inputs (:class:`GroupInputs`), so the figures drill down to their time
elements and can be traced to the events behind them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from factoryos.kpi import economics, iso22400
from factoryos.kpi.elements import (
    GroupInputs,
    Maintenance,
    Quantities,
    Resources,
    TimeElements,
    machine_time,
)
from factoryos.kpi.losses import ParetoEntry, SixBigLosses, downtime_pareto, failure_time_in_pbt
from factoryos.kpi.losses import six_big_losses as split_losses
from factoryos.kpi.periods import calendar_key_of_path, planned_periods
from factoryos.kpi.plausibility import (
    CycleTime,
    ModellingError,
    effectiveness_errors,
    producing_time_by_path,
)
from factoryos.model.aggregates import (
    AggregateQuery,
    CountTotal,
    EnergyTotal,
    FailureTotal,
    GroupKey,
    GroupValues,
    PeriodKind,
    StateTime,
)
from factoryos.model.errors import FactoryosError
from factoryos.model.plant import Operation, Plant, Product
from factoryos.model.states import TimeElement


class GroupBy(StrEnum):
    TOTAL = "total"
    DAY = "day"
    SHIFT = "shift"
    EQUIPMENT = "equipment"


STORE_KEYS: dict[GroupBy, tuple[GroupKey, ...]] = {
    GroupBy.TOTAL: (),
    GroupBy.DAY: ("local_day",),
    GroupBy.SHIFT: ("local_day", "shift"),
    GroupBy.EQUIPMENT: ("path",),
}


def build_query(
    plant: Plant, start: dt.datetime, end: dt.datetime, node: str | None, by: GroupBy
) -> AggregateQuery:
    """The aggregate query for a KPI report over [start, end) of ``node`` (default: the site)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise FactoryosError("the KPI window needs timezone-aware start and end")
    if end <= start:
        raise FactoryosError(f"the KPI window ends ({end}) before it starts ({start})")
    node = node or plant.root_path
    if not plant.node_exists(node):
        raise FactoryosError(f"no work unit of the plant lies under node {node!r}")
    return AggregateQuery(
        start=start,
        end=end,
        node=node,
        periods=planned_periods(plant, start, end),
        calendar_key_of_path=calendar_key_of_path(plant),
        group_by=STORE_KEYS[by],
    )


@dataclass(frozen=True, slots=True)
class KpiGroup:
    """The KPIs of one group, with the inputs they were computed from."""

    group: GroupValues
    inputs: GroupInputs
    kpis: dict[str, float | None]
    losses: SixBigLosses


@dataclass(frozen=True, slots=True)
class KpiReport:
    node: str
    start: dt.datetime
    end: dt.datetime
    by: GroupBy
    groups: list[KpiGroup]
    total: KpiGroup
    pareto: list[ParetoEntry]
    warnings: list[str] = field(default_factory=list)
    modelling_errors: list[ModellingError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AggregateRows:
    """What a store answered for one query (state rows carry reasons when a Pareto is wanted)."""

    states: list[StateTime]
    counts: list[CountTotal]
    energy: list[EnergyTotal]
    failures: list[FailureTotal]


def compute_report(
    plant: Plant,
    query: AggregateQuery,
    by: GroupBy,
    rows: AggregateRows,
    unit_states: list[StateTime] | None = None,
) -> KpiReport:
    """KPIs per group and for the whole node from a store's aggregate rows.

    ``unit_states`` are the state rows of the same window grouped by work unit only; with them
    (or when grouped by equipment) effectiveness above 100 % is checked per work unit and
    reported as a modelling error (:mod:`factoryos.kpi.plausibility`).
    """
    warnings: list[str] = []
    inputs: dict[GroupValues, GroupInputs] = defaultdict(GroupInputs)
    for group, planned in _planned_inputs(plant, query).items():
        inputs[group] += planned

    by_group_states: dict[GroupValues, list[StateTime]] = defaultdict(list)
    for row in rows.states:
        by_group_states[row.group].append(row)
    for group, state_rows in by_group_states.items():
        per_element, maintenance_s = machine_time(state_rows)
        time = TimeElements(
            apt_s=per_element[TimeElement.APT],
            aust_s=per_element[TimeElement.AUST],
            adet_s=per_element[TimeElement.ADET],
            adot_s=per_element[TimeElement.ADOT],
            apmt_s=per_element[TimeElement.APMT],
            unknown_s=per_element[TimeElement.UNKNOWN],
        )
        inputs[group] += GroupInputs(
            time=time, maintenance=Maintenance(maintenance_s=maintenance_s)
        )

    pri = _pri_lookup(plant, warnings)
    cycles: dict[str, list[CycleTime]] = defaultdict(list)
    for count in rows.counts:
        quantities, cycle = pri(count)
        inputs[count.group] += GroupInputs(quantities=quantities)
        if cycle is not None:
            cycles[count.path].append(cycle)
    for energy in rows.energy:
        resources = Resources(energy_kwh=energy.energy_kwh, energy_cost_cny=energy.energy_cost_cny)
        inputs[energy.group] += GroupInputs(resources=resources)
    for failure in rows.failures:
        maintenance = Maintenance(failures=failure.failures, failure_s=failure.failure_seconds)
        inputs[failure.group] += GroupInputs(maintenance=maintenance)

    # Known state time never exceeds PBT; what PBT is left is time no state was reported for.
    for group, group_inputs in list(inputs.items()):
        t = group_inputs.time
        known = t.apt_s + t.aust_s + t.adet_s + t.adot_s + t.apmt_s + t.unknown_s
        missing = max(0.0, t.pbt_s - known)
        with_unknown = replace(group_inputs, time=replace(t, unknown_s=t.unknown_s + missing))
        inputs[group] = money_in_cny(with_unknown, plant)

    labour_rate = plant.to_cny(plant.cost_rates.labour_cny_per_h)
    failure_in_pbt = {g: failure_time_in_pbt(r) for g, r in by_group_states.items()}
    groups = [
        _group(g, inputs[g], failure_in_pbt.get(g, 0.0), labour_rate)
        for g in sorted(inputs, key=_sort_key)
    ]
    total_inputs = sum((g.inputs for g in groups), GroupInputs())
    total = _group(GroupValues(), total_inputs, sum(failure_in_pbt.values()), labour_rate)
    if unit_states is None and by is GroupBy.EQUIPMENT:
        unit_states = rows.states
    errors = effectiveness_errors(producing_time_by_path(unit_states or []), cycles)
    return KpiReport(
        node=query.node,
        start=query.start,
        end=query.end,
        by=by,
        groups=groups if by is not GroupBy.TOTAL else [],
        total=total,
        pareto=downtime_pareto(rows.states),
        warnings=warnings,
        modelling_errors=errors,
    )


def money_in_cny(inputs: GroupInputs, plant: Plant) -> GroupInputs:
    """The group's money in CNY: the model's money fields hold the site's currency, the KPIs
    (energy per 10,000 CNY of value added, operating cost) are the programme's, in CNY."""
    rate = plant.to_cny(1.0)
    if rate == 1.0:
        return inputs
    q, r = inputs.quantities, inputs.resources
    return replace(
        inputs,
        quantities=replace(q, value_added_cny=q.value_added_cny * rate),
        resources=replace(
            r,
            energy_cost_cny=r.energy_cost_cny * rate,
            equipment_cost_cny=r.equipment_cost_cny * rate,
            overhead_cny=r.overhead_cny * rate,
        ),
    )


def _sort_key(group: GroupValues) -> tuple[tuple[str | int, ...], str, str]:
    # natural order of paths, so unit 2 comes before unit 10 (split alternates text, digits)
    path = tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", group.path or ""))
    day = group.local_day.isoformat() if group.local_day else ""
    return (path, day, group.shift or "~")


def _group(
    group: GroupValues, inputs: GroupInputs, breakdowns_s: float, labour_rate: float
) -> KpiGroup:
    return KpiGroup(group, inputs, kpis(inputs, labour_rate), split_losses(inputs, breakdowns_s))


def kpis(inputs: GroupInputs, labour_cny_per_h: float) -> dict[str, float | None]:
    """Every KPI of a group, keyed by its ISO 22400 name in snake_case (see docs/kpi-json.md)."""
    t, q, m = inputs.time, inputs.quantities, inputs.maintenance
    return {
        "availability": iso22400.availability(t),
        "effectiveness": iso22400.effectiveness(t, q),
        "quality_ratio": iso22400.quality_ratio(q),
        "oee_index": iso22400.oee_index(t, q),
        "nee_index": iso22400.nee_index(t, q),
        "setup_ratio": iso22400.setup_ratio(t),
        "technical_efficiency": iso22400.technical_efficiency(t),
        "utilization_efficiency": iso22400.utilization_efficiency(t),
        "allocation_efficiency": iso22400.allocation_efficiency(t),
        "throughput_rate_per_h": iso22400.throughput_rate_per_h(t, q),
        "scrap_ratio": iso22400.scrap_ratio(q),
        "rework_ratio": iso22400.rework_ratio(q),
        "first_pass_yield": iso22400.first_pass_yield(q),
        "mtbf_s": iso22400.mtbf_s(t, m),
        "mttr_s": iso22400.mttr_s(m),
        "corrective_maintenance_ratio": iso22400.corrective_maintenance_ratio(m),
        "comprehensive_energy_consumption_kwh": iso22400.comprehensive_energy_consumption_kwh(
            inputs
        ),
        "energy_per_finished_unit_kwh": economics.energy_per_finished_unit_kwh(inputs),
        "energy_per_10k_cny_value_added_kwh": economics.energy_per_10k_cny_value_added_kwh(inputs),
        "energy_per_10k_cny_value_added_tce": economics.energy_per_10k_cny_value_added_tce(inputs),
        "value_added_per_labour_hour_cny": economics.value_added_per_labour_hour_cny(inputs),
        "good_units_per_labour_hour": economics.good_units_per_labour_hour(inputs),
        "operating_cost_cny": economics.operating_cost_cny(inputs, labour_cny_per_h),
        "operating_cost_per_good_unit_cny": economics.operating_cost_per_good_unit_cny(
            inputs, labour_cny_per_h
        ),
    }


def _planned_inputs(plant: Plant, query: AggregateQuery) -> dict[GroupValues, GroupInputs]:
    """POT, planned downtime, labour hours and equipment cost per group, from the tiles."""
    by_day, by_shift = "local_day" in query.group_by, "shift" in query.group_by
    seconds: dict[str, dict[tuple[dt.date | None, str | None, PeriodKind], float]] = defaultdict(
        lambda: defaultdict(float)
    )
    for tile in query.periods:
        if tile.kind in (PeriodKind.BUSY, PeriodKind.PLANNED_DOWN):
            slot = (tile.local_day if by_day else None, tile.shift if by_shift else None, tile.kind)
            seconds[tile.key][slot] += (tile.end - tile.start).total_seconds()

    # Units sharing a calendar key (and, unless grouped by path, a group) share planned time:
    # weigh the key's time by how many units, operators and cost rates it stands for. Site
    # overhead accrues per hour of planned operation and is spread evenly over the plant's work
    # units, so a node's share adds up across nodes and the whole site carries all of it.
    overhead_per_unit_h = plant.cost_rates.overhead_cny_per_h / len(plant.work_units)
    weights: dict[tuple[str | None, str], tuple[int, float, float]] = {}
    for unit in plant.work_units:
        if not plant.is_in_subtree(unit.path, query.node):
            continue
        slot_key = (
            unit.path if "path" in query.group_by else None,
            query.calendar_key_of_path[unit.path],
        )
        n, operators, cost = weights.get(slot_key, (0, 0.0, 0.0))
        weights[slot_key] = (
            n + 1,
            operators + unit.equipment.operators,
            cost + unit.equipment.hourly_cost_cny,
        )

    out: dict[GroupValues, GroupInputs] = defaultdict(GroupInputs)
    for (path, key), (n, operators, cost) in weights.items():
        for (day, shift, kind), secs in seconds[key].items():
            planned_down = secs if kind is PeriodKind.PLANNED_DOWN else 0.0
            hours = secs / 3600.0
            out[GroupValues(path, day, shift)] += GroupInputs(
                time=TimeElements(pot_s=secs * n, planned_down_s=planned_down * n),
                resources=Resources(
                    labour_h=operators * hours,
                    equipment_cost_cny=cost * hours,
                    overhead_cny=overhead_per_unit_h * n * hours,
                ),
            )
    return out


def _pri_lookup(
    plant: Plant, warnings: list[str]
) -> Callable[[CountTotal], tuple[Quantities, CycleTime | None]]:
    """Turn a count row into quantities, with PRI x PQ from the routing of the counted product,
    and the cycle time it was planned with."""
    products = plant.product_by_id
    units = plant.work_unit_by_path
    end_products = _end_products(plant)
    warned: set[str] = set()

    def warn(message: str) -> None:
        if message not in warned:
            warned.add(message)
            warnings.append(message)

    def resolve(count: CountTotal) -> tuple[Quantities, CycleTime | None]:
        pq = count.good + count.scrap + count.rework
        base = Quantities(pq=pq, gq=count.good, sq=count.scrap, rq=count.rework)
        product, unit = products.get(count.product), units.get(count.path)
        if product is None or unit is None:
            warn(f"counts of unknown product {count.product!r} or path {count.path!r}: no PRI")
            return base, None
        op = _operation(product.routing, count.operation, unit.equipment.id, plant)
        if op is None:
            warn(
                f"counts of {product.id!r} on {count.path!r} name no unique operation "
                f"({count.operation!r}): no PRI"
            )
            return base, None
        finished = product.id in end_products and op.id == count_point(product).id
        good_finished = count.good if finished else 0
        pri_s = op.run_time_per_unit(unit.equipment)
        quantities = replace(
            base,
            planned_run_s=pri_s * pq,
            finished_good=good_finished,
            value_added_cny=good_finished * product.value_added_cny,
        )
        return quantities, CycleTime(product.id, op.id, unit.equipment.id, pri_s, pq)

    return resolve


def count_point(product: Product) -> Operation:
    """The routing step whose good units are the product's finished units: the one marked
    ``count_point``, else the last."""
    return next((op for op in product.routing if op.count_point), product.routing[-1])


def _end_products(plant: Plant) -> set[str]:
    """Products the plant delivers: those no other product consumes, and those with a value
    added (a component also sold on its own)."""
    consumed = {c.product for p in plant.products for op in p.routing for c in op.consumes}
    return {p.id for p in plant.products if p.id not in consumed or p.value_added_cny > 0}


def _operation(
    routing: Iterable[Operation], operation: str | None, equipment_id: str, plant: Plant
) -> Operation | None:
    ops = list(routing)
    if operation is not None:
        return next((o for o in ops if o.id == operation), None)
    eligible = [o for o in ops if equipment_id in {e.id for e in plant.eligible_equipment(o)}]
    return eligible[0] if len(eligible) == 1 else None
