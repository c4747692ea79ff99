"""Simulation use cases: the twin runs a plant (plus a scenario overlay), events go to a store.

Replication 0 is run with events, written to the store in batches, so that ``factoryos kpi``
reads a simulated plant like a real one; the other replications run on all cores without events
and only feed the intervals. A scenario file is a YAML patch over the plant model, merged by
:func:`factoryos.model.loader.load_plant` (mappings by key, lists of items with ``id`` by id).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from factoryos.model import Event, Plant, load_plant
from factoryos.model.errors import Issue, PlantModelError, SimulationError
from factoryos.model.schedule import Schedule, ScheduledOperation
from factoryos.schedule.orders import read_orders
from factoryos.simulate.demand import ProductionOrder, steady_demand
from factoryos.simulate.replicate import (
    Comparison,
    RunSpec,
    compare,
    run_replications,
    summarize,
)
from factoryos.simulate.results import TwinResult
from factoryos.simulate.stats import Interval
from factoryos.simulate.twin import DispatchRule
from factoryos.store.protocol import EventStore

__all__ = [
    "ScenarioComparison",
    "SimulationOutcome",
    "compare_scenario",
    "load_plant_and_scenario",
    "load_scenario",
    "run_simulation",
]

DAY_S = 86400.0
STORE_BATCH = 50_000
Progress = Callable[[float], None]
"""Hears progress in replications (fractions while a replication runs in this process)."""


def load_scenario(path: str | Path) -> dict[str, Any]:
    """A scenario overlay: a YAML mapping patched over the plant model."""
    path = Path(path)
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlantModelError(
            [Issue("scenario", f"cannot read: {exc.strerror}", str(path))]
        ) from exc
    except YAMLError as exc:
        raise PlantModelError([Issue("scenario", str(exc), path.name)]) from exc
    if not isinstance(data, dict):
        raise PlantModelError([Issue("scenario", "expected a mapping at the top", path.name, 1)])
    data.pop("description", None)  # free text for people, not part of the plant
    return data


def load_plant_and_scenario(plant: str | Path, scenario: str | Path | None) -> Plant:
    return load_plant(plant, overlay=load_scenario(scenario) if scenario else None)


def default_start(plant: Plant, year: int | None = None) -> dt.datetime:
    """1 January (plant-local midnight) of ``year``, default this year."""
    year = year or dt.datetime.now(dt.UTC).year
    return dt.datetime(year, 1, 1, tzinfo=plant.zone)


@dataclass(frozen=True)
class SimulationOutcome:
    results: list[TwinResult]
    summary: dict[str, Interval]
    events_stored: int
    bottleneck: str  # the pool named most often by the shifting bottleneck method

    @property
    def first(self) -> TwinResult:
        return self.results[0]


def _spec(
    plant: Plant,
    days: float,
    seed: int,
    demand: float,
    rule: DispatchRule,
    start: dt.datetime,
    orders: Sequence[ProductionOrder] | None = None,
    schedule: Schedule | None = None,
    lot_size: int | None = None,
    warmup_days: float = 0.0,
) -> RunSpec:
    """The run of ``days`` from ``start``, after ``warmup_days`` simulated before it (the twin's
    clock starts at ``start - warmup``; orders from a file keep their own times)."""
    if warmup_days < 0:
        raise SimulationError(f"--warmup must be >= 0 days, got {warmup_days}")
    warmup = warmup_days * DAY_S
    horizon = days * DAY_S + warmup
    first = start - dt.timedelta(seconds=warmup)
    if orders is None:
        orders = steady_demand(plant, demand, horizon, lot_size=lot_size)
    else:
        orders = [
            dataclasses.replace(o, release_s=o.release_s + warmup, due_s=o.due_s + warmup)
            for o in orders
        ]
    if schedule is not None:
        rule = DispatchRule.SCHEDULE
    return RunSpec(plant, tuple(orders), first, horizon, seed, rule, schedule, lot_size, warmup)


def read_orders_file(
    path: str | Path, start: dt.datetime, plant: Plant | None = None
) -> list[ProductionOrder]:
    """An order book CSV (order, product, quantity, release, due[, weight, lot_size]; the
    scheduler's format) as twin orders, times counted from ``start``; no due date means 14
    days. An order released before ``start`` is released at it, and one due before it is due
    at once (already late). With ``plant``, an unknown product is reported with its file and
    line."""
    orders = []
    products = plant.product_by_id if plant is not None else None
    for o in read_orders(path, products=products):
        release_s = max((o.release - start).total_seconds(), 0.0)
        due_s = (o.due - start).total_seconds() if o.due else release_s + 14 * DAY_S
        due_s = max(due_s, release_s)
        orders.append(
            ProductionOrder(o.order_id, o.product, o.quantity, release_s, due_s, o.lot_size)
        )
    return orders


def read_schedule_file(path: str | Path) -> Schedule:
    """A plan as ``factoryos schedule`` writes it (``schedule.json``)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        operations = tuple(
            ScheduledOperation(
                order_id=row["order_id"],
                product=row["product"],
                operation_id=row["operation_id"],
                equipment_id=row["equipment_id"],
                unit_index=int(row["unit_index"]),
                start=dt.datetime.fromisoformat(row["start"]).astimezone(dt.UTC),
                end=dt.datetime.fromisoformat(row["end"]).astimezone(dt.UTC),
                # the changeover before the run: a twin following the plan sets up from here
                setup_start=(
                    dt.datetime.fromisoformat(row["setup_start"]).astimezone(dt.UTC)
                    if row.get("setup_start")
                    else None
                ),
                setup_duration=dt.timedelta(seconds=float(row.get("setup_duration_s") or 0.0)),
            )
            for row in doc["operations"]
        )
        return Schedule(
            operations,
            status=doc.get("status", "feasible"),
            objective=float(doc.get("objective", 0.0)),
            best_bound=float(doc.get("best_bound", 0.0)),
            wall_time_s=float(doc.get("wall_time_s", 0.0)),
            objective_name=doc.get("objective_name", "makespan"),
            solver=doc.get("solver", ""),
        )
    except OSError as exc:
        raise SimulationError(f"cannot read schedule {str(path)!r}: {exc.strerror}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise SimulationError(f"schedule {str(path)!r} is not a plan: {exc!r}") from exc


def _whole(on_progress: Progress | None) -> Callable[[], None] | None:
    return None if on_progress is None else lambda: on_progress(1.0)


def run_id(spec: RunSpec, replication: int = 0) -> str:
    """Prefix of the event ids of a run: the same run rewritten is idempotent in a store, while
    another plant, scenario, demand, horizon, rule or seed never collides with it."""
    text = "|".join(
        [
            spec.plant.model_dump_json(),
            repr(spec.orders),
            spec.start.isoformat(),
            repr(spec.horizon_s),
            str(spec.seed),
            spec.rule.value,
            repr(spec.schedule),
            repr(spec.lot_size),
            repr(spec.warmup_s),
        ]
    )
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=5).hexdigest()
    return f"sim-{digest}-s{spec.seed}-r{replication}"


def _run_with_events(
    spec: RunSpec, store: EventStore, on_progress: Progress | None
) -> tuple[TwinResult, int]:
    """Replication 0 with its events appended to ``store`` in batches; (result, stored)."""
    batch: list[Event] = []
    stored = 0

    def sink(event: Event) -> None:
        nonlocal stored
        batch.append(event)
        if len(batch) >= STORE_BATCH:
            stored += store.append(batch).inserted
            batch.clear()

    result = spec.twin(0, sink=sink, run_id=run_id(spec)).run(on_progress)
    if batch:
        stored += store.append(batch).inserted
    return result, stored


def _most_common_bottleneck(results: list[TwinResult]) -> str:
    return Counter(r.bottleneck.equipment for r in results).most_common(1)[0][0]


def run_simulation(
    plant: Plant,
    *,
    days: float,
    seed: int,
    replications: int = 1,
    demand_per_year: float = 10_000.0,
    rule: DispatchRule = DispatchRule.FIFO,
    start: dt.datetime | None = None,
    store: EventStore | None = None,
    processes: int | None = None,
    on_progress: Progress | None = None,
    orders: Sequence[ProductionOrder] | None = None,
    schedule: Schedule | None = None,
    lot_size: int | None = None,
    warmup_days: float = 0.0,
) -> SimulationOutcome:
    """Run ``replications`` of the plant for ``days``; replication 0's events go to ``store``.
    ``orders`` replaces the steady demand; a ``schedule`` is followed (rule ``schedule``);
    ``lot_size`` replaces the products' lot sizes (orders that give their own keep it);
    ``warmup_days`` are simulated before ``start`` and left out of the figures."""
    if days <= 0 or replications < 1:
        raise SimulationError(f"need days > 0 and replications >= 1, got {days}, {replications}")
    start = start or default_start(plant)
    spec = _spec(
        plant, days, seed, demand_per_year, rule, start, orders, schedule, lot_size, warmup_days
    )
    if store is None:
        [results] = run_replications(
            [spec], replications, processes=processes, on_done=_whole(on_progress)
        )
        return SimulationOutcome(results, summarize(results), 0, _most_common_bottleneck(results))
    with ThreadPoolExecutor(max_workers=1) as background:
        # Replications 1.. run on the other cores while this process runs replication 0 with
        # its events (the store is used from this thread only).
        cores = processes or os.cpu_count() or 1
        rest = background.submit(
            run_replications,
            [spec],
            replications - 1,
            first=1,
            processes=max(1, cores - 1),
            on_done=_whole(on_progress),
        )
        first, stored = _run_with_events(spec, store, on_progress)
        results = [first, *rest.result()[0]]
    return SimulationOutcome(results, summarize(results), stored, _most_common_bottleneck(results))


@dataclass(frozen=True)
class ScenarioComparison:
    rows: list[Comparison]
    base_bottleneck: str
    scenario_bottleneck: str


def compare_scenario(
    plant_path: str | Path,
    scenario_path: str | Path,
    *,
    days: float,
    seed: int,
    replications: int,
    demand_per_year: float = 10_000.0,
    rule: DispatchRule = DispatchRule.FIFO,
    start: dt.datetime | None = None,
    processes: int | None = None,
    on_progress: Progress | None = None,
    lot_size: int | None = None,
    warmup_days: float = 0.0,
) -> ScenarioComparison:
    """Base and scenario, same seeds and orders (common random numbers), paired differences."""
    if replications < 2:
        raise SimulationError(f"a comparison needs >= 2 replications, got {replications}")
    base_plant = load_plant(plant_path)
    scenario_plant = load_plant_and_scenario(plant_path, scenario_path)
    start = start or default_start(base_plant)
    specs = [
        _spec(
            p, days, seed, demand_per_year, rule, start, lot_size=lot_size, warmup_days=warmup_days
        )
        for p in (base_plant, scenario_plant)
    ]
    base, scenario = run_replications(
        specs, replications, processes=processes, on_done=_whole(on_progress)
    )
    return ScenarioComparison(
        compare(base, scenario),
        _most_common_bottleneck(base),
        _most_common_bottleneck(scenario),
    )
