"""A plant's assessment from its store: platform evidence, answers, gains and robot density.

The probes read the store and the plant model (app is where engines meet adapters); the scoring,
gains and density are the pure ``factoryos.assess`` engine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from factoryos.app.kpis import kpi_report
from factoryos.assess.answers import load_answers
from factoryos.assess.density import Density, robot_density
from factoryos.assess.evidence import Measurement, combine, plan_adherence, platform_scores
from factoryos.assess.gains import DayFigures, Gain, measure_gains
from factoryos.assess.maturity import ManufacturingType, MaturityModel, load_model
from factoryos.assess.scoring import Assessment, assess
from factoryos.kpi.report import GroupBy, KpiReport
from factoryos.model.errors import AssessmentError
from factoryos.model.events import EventKind
from factoryos.model.plant import Plant
from factoryos.model.schedule import Schedule
from factoryos.model.states import TIME_ELEMENT_OF_STATE, TimeElement
from factoryos.store.protocol import EventStore

Window = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True, slots=True)
class PlantAssessment:
    plant: Plant
    assessment: Assessment
    measurements: dict[str, Measurement]
    gains: tuple[Gain, ...] | None
    density: Density
    answers_file: str | None
    days: dict[str, list[DayFigures]]  # "baseline" and "current" when gains were measured


def assess_plant(
    store: EventStore,
    plant: Plant,
    *,
    answers: str | Path | None = None,
    weights: str | Path | None = None,
    window: Window | None = None,
    baseline: Window | None = None,
    current: Window | None = None,
    kind: ManufacturingType = ManufacturingType.DISCRETE,
    plan: Schedule | None = None,
) -> PlantAssessment:
    """Assess ``plant``: evidence over ``window`` (default: all stored events), the answers file,
    gains when both periods are given, robot density from the plant model; ``plan`` (an APS
    schedule) is compared with the operations the store saw start."""
    model: MaturityModel = load_model() if weights is None else load_model().with_weights(weights)
    claimed = load_answers(answers, model) if answers is not None else None
    if claimed is not None:
        kind = claimed.kind
    measurements = measure_probes(store, plant, window, plan)
    scores = combine(platform_scores(model, measurements), claimed.scores if claimed else {})
    gains = None
    days: dict[str, list[DayFigures]] = {}
    if baseline is not None and current is not None:
        days = {
            "baseline": daily_figures(store, plant, baseline, "baseline"),
            "current": daily_figures(store, plant, current, "current"),
        }
        gains = measure_gains(days["baseline"], days["current"])
    return PlantAssessment(
        plant,
        assess(model, kind, scores),
        measurements,
        gains,
        robot_density(plant),
        claimed.file if claimed else None,
        days,
    )


def daily_figures(store: EventStore, plant: Plant, window: Window, name: str) -> list[DayFigures]:
    """The gain metrics' sums per plant-local day with planned time; no events: an error."""
    start, end = window
    report = kpi_report(store, plant, start=start, end=end, by=GroupBy.DAY)
    total = report.total.inputs
    if total.quantities.pq == 0 and total.time.pbt_s <= total.time.unknown_s:
        raise AssessmentError(
            f"the {name} window {start.isoformat()}..{end.isoformat()} holds no events",
            item=name,
        )
    return figures_of_days(report)


def figures_of_days(report: KpiReport) -> list[DayFigures]:
    """DayFigures of the days of a by-day KPI report that have planned busy time."""
    days = []
    for group in report.groups:
        i, k = group.inputs, group.kpis
        if group.group.local_day is None or i.time.pbt_s <= 0:
            continue
        q = i.quantities
        days.append(
            DayFigures(
                day=group.group.local_day,
                value_added_cny=q.value_added_cny,
                good_units=float(q.finished_good),
                labour_h=i.resources.labour_h,
                operating_cost_cny=k["operating_cost_cny"] or 0.0,
                energy_kwh=i.resources.energy_kwh,
                oee_good_run_s=q.planned_run_s * q.gq / q.pq if q.pq else 0.0,
                pbt_s=i.time.pbt_s,
            )
        )
    return days


_FAULT_STATES = [s.value for s, e in TIME_ELEMENT_OF_STATE.items() if e is TimeElement.ADET]


def measure_probes(
    store: EventStore, plant: Plant, window: Window | None = None, plan: Schedule | None = None
) -> dict[str, Measurement]:
    """Every probe of ``factoryos.assess.evidence`` measured on the store and the plant."""
    start, end = window or (None, None)
    units = {u.path for u in plant.work_units}

    def paths(kind: EventKind) -> tuple[pa.Table, set[str]]:
        table = store.events(start, end, kinds=[kind])
        return table, set(pc.unique(table["path"]).to_pylist()) & units

    states, state_paths = paths(EventKind.STATE)
    counts, count_paths = paths(EventKind.COUNT)
    _, energy_paths = paths(EventKind.ENERGY)
    producing = {
        u.path
        for u in plant.work_units
        if any(
            u.equipment in plant.eligible_equipment(op) for p in plant.products for op in p.routing
        )
    }
    out = [
        _share("state_auto", len(state_paths), len(units), "work units with state events"),
        _share(
            "counts_auto",
            len(count_paths & producing),
            len(producing),
            "work units a routing uses that report counts",
        ),
        _share("energy_metered", len(energy_paths), len(units), "work units with energy readings"),
        _fault_reasons(states),
        _share(
            "failure_models",
            sum(1 for _, _, e in plant.equipment_items() if e.failure is not None),
            len(plant.equipment_by_id),
            "equipment pools with a failure model in the plant model",
        ),
        _share(
            "order_tracking",
            counts.num_rows - counts["order_id"].null_count if counts.num_rows else 0,
            counts.num_rows,
            "count events with an order id",
        ),
        _share(
            "routing_model",
            sum(1 for p in plant.products if p.routing),
            len(plant.products),
            "products with a routing and run times in the plant model",
        ),
    ]
    by_id = {m.probe: m for m in out}
    by_id["kpi_by_shift"] = _shifts_with_oee(store, plant, window)
    if plan is not None:
        by_id["aps_adherence"] = _plan_adherence(store, plant, window, plan)
    metered = by_id["energy_metered"]
    value_added = any(p.value_added_cny > 0 for p in plant.products)
    by_id["energy_per_output"] = Measurement(
        "energy_per_output",
        metered.share if value_added else 0.0,
        "metered share, products carry value added"
        if value_added
        else "no product carries a value added",
    )
    return by_id


def _plan_adherence(
    store: EventStore, plant: Plant, window: Window | None, plan: Schedule
) -> Measurement:
    """The plan's operations (in the window) against the operation starts the store holds."""
    start, end = window or (None, None)
    path_of = {(u.equipment.id, u.unit): u.path for u in plant.work_units}
    planned = {
        (op.order_id, op.operation_id, path_of.get((op.equipment_id, op.unit_index), "?")): op.start
        for op in plan.operations
        if (start is None or op.start >= start) and (end is None or op.start < end)
    }
    table = store.events(start, end, kinds=[EventKind.OPERATION_START])
    started: dict[tuple[str, str, str], dt.datetime] = {}
    for row in table.select(["order_id", "operation", "path", "ts"]).to_pylist():
        started.setdefault((row["order_id"], row["operation"], row["path"]), row["ts"])
    return plan_adherence(planned, started)


def _share(probe: str, part: int, whole: int, what: str) -> Measurement:
    if whole == 0:
        return Measurement(probe, None, f"no {what.split(' with')[0]} to measure")
    return Measurement(probe, part / whole, f"{part} of {whole} {what}")


def _fault_reasons(states: pa.Table) -> Measurement:
    faults = states.filter(pc.is_in(states["state"], pa.array(_FAULT_STATES)))
    with_reason = faults.filter(
        pc.and_(pc.is_valid(faults["reason"]), pc.not_equal(faults["reason"], ""))
    )
    return _share(
        "downtime_reasons", with_reason.num_rows, faults.num_rows, "fault events with a reason code"
    )


def _shifts_with_oee(store: EventStore, plant: Plant, window: Window | None) -> Measurement:
    if store.time_range() is None:
        return Measurement("kpi_by_shift", None, "no events to measure")
    start, end = window or (None, None)
    report = kpi_report(store, plant, start=start, end=end, by=GroupBy.SHIFT)
    planned = [g for g in report.groups if g.inputs.time.pbt_s > 0]
    # a shift's OEE is available when states cover most of its planned busy time
    covered = [g for g in planned if g.inputs.time.unknown_s <= 0.5 * g.inputs.time.pbt_s]
    return _share("kpi_by_shift", len(covered), len(planned), "planned shifts with an OEE")
