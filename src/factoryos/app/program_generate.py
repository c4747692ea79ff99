"""``factoryos program generate``: a city of factories, each run by the twin for a baseline and a
current period, assessed and loaded into the programme registry.

One function, :func:`simulate_factory`, does a whole factory; the sweep maps it over the city with
a local process pool, or with Ray tasks when a cluster address is given (``"local"`` starts Ray on
this machine, which is how the tests run it: Ray 2.x dropped its in-process local mode). Same
function, same results, whichever runs it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from factoryos.app.assess import daily_figures
from factoryos.app.program import factory_tables
from factoryos.app.simulation import run_simulation
from factoryos.assess.city import (
    FactorySpec,
    city,
    demand_per_year,
    plant_data,
    synthetic_answers,
    template_of,
)
from factoryos.assess.density import Density, robot_density
from factoryos.assess.gains import DayFigures
from factoryos.assess.maturity import load_model
from factoryos.assess.scoring import Assessment, RequirementScore, Source, assess
from factoryos.model.loader import validate_plant
from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.registry import Registry

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
PERIOD_STARTS = {
    "baseline": dt.datetime(2023, 1, 2, tzinfo=SHANGHAI),  # Mondays, plant-local midnight
    "current": dt.datetime(2025, 1, 6, tzinfo=SHANGHAI),
}
BATCH = 50  # factories per registry write


@dataclass(frozen=True, slots=True)
class FactoryOutcome:
    spec: FactorySpec
    assessment: Assessment
    density: Density
    days: dict[str, list[DayFigures]]


def simulate_factory(spec: FactorySpec, days: float) -> FactoryOutcome:
    """Twin runs of the factory before and after its upgrade (``days`` each), its daily figures,
    its assessment from synthetic answers, and its robot density after the upgrade."""
    # one DuckDB thread: the sweep already runs a process per core (see DuckDBStore)
    store = DuckDBStore(":memory:", threads=1)
    figures: dict[str, list[DayFigures]] = {}
    try:
        for period, start in PERIOD_STARTS.items():
            data = plant_data(spec, upgraded=period == "current")
            plant = validate_plant(data, f"{spec.name} ({period})")
            run_simulation(
                plant,
                days=days,
                seed=spec.seed,
                demand_per_year=demand_per_year(data),
                start=start,
                store=store,
                processes=1,
            )
            window = (start, start + dt.timedelta(days=days))
            figures[period] = daily_figures(store, plant, window, period)
    finally:
        store.close()
    model = load_model()
    requirements = model.requirements
    scores = {
        rid: RequirementScore(requirements[rid], score, Source.SELF_ASSESSMENT, "generated")
        for rid, score in synthetic_answers(spec, model).items()
    }
    return FactoryOutcome(
        spec, assess(model, template_of(spec).type, scores), robot_density(plant), figures
    )


def sweep(
    specs: Sequence[FactorySpec],
    days: float,
    *,
    workers: int = 1,
    ray_address: str | None = None,
) -> Iterator[FactoryOutcome]:
    """Every factory's outcome, in the order they finish."""
    if ray_address is not None:
        yield from _ray_map(specs, days, workers, ray_address)
    elif workers <= 1:
        for spec in specs:
            yield simulate_factory(spec, days)
    else:
        with ProcessPoolExecutor(workers) as pool:
            futures = [pool.submit(simulate_factory, spec, days) for spec in specs]
            for future in as_completed(futures):
                yield future.result()


def _ray_map(
    specs: Sequence[FactorySpec], days: float, workers: int, address: str
) -> Iterator[FactoryOutcome]:
    import ray  # only the sweep needs Ray: importing it costs seconds

    if not ray.is_initialized():
        if address == "local":
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    task = ray.remote(simulate_factory)
    pending = [task.remote(spec, days) for spec in specs]
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        yield ray.get(done[0])


def generate(
    registry: Registry,
    factories: int,
    seed: int,
    *,
    days: float = 28.0,
    workers: int = 1,
    ray_address: str | None = None,
    on_done: Callable[[], None] | None = None,
) -> int:
    """Build the city, run it and load it into ``registry``; returns the factories loaded."""
    specs = city(factories, seed)
    batch: list[dict[str, pa.Table]] = []
    loaded = 0
    for outcome in sweep(specs, days, workers=workers, ray_address=ray_address):
        batch.append(_tables(outcome))
        if len(batch) >= BATCH:
            loaded += _flush(registry, batch)
        if on_done is not None:
            on_done()
    return loaded + _flush(registry, batch)


def _tables(o: FactoryOutcome) -> dict[str, pa.Table]:
    info: dict[str, Any] = {
        "factory_id": f"f{o.spec.index:04d}/main",
        "name": o.spec.name,
        "district": o.spec.district,
        "industry": o.spec.industry,
        "certification_year": o.spec.certification_year,
        "public_key": None,
        "source": "generated",
    }
    return factory_tables(info, o.assessment, o.density, o.days)


def _flush(registry: Registry, batch: list[dict[str, pa.Table]]) -> int:
    if not batch:
        return 0
    registry.put({name: pa.concat_tables([b[name] for b in batch]) for name in batch[0]})
    n = len(batch)
    batch.clear()
    return n
