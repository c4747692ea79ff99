"""Failure models from history: read the stored state events, fit per pool and per unit.

The state events of a window are split by work unit, turned into times between failures and times
to repair (:mod:`factoryos.reliability.lifetimes`, right-censored at the window end and, when
maintenance renews, at planned maintenance), pooled per equipment entry of the model (its units
are identical by the model's own assumption) and fitted (:mod:`factoryos.reliability.fitting`).
A unit with enough failures of its own also gets its own fit, in the pool's chosen family, so a
maintenance lead sees which unit is worse than its siblings.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from factoryos.model import Plant
from factoryos.model.distributions import FailureModel
from factoryos.model.errors import ReliabilityError
from factoryos.model.events import EventKind
from factoryos.model.states import MachineState
from factoryos.reliability.fitting import FitResult, FittedModel, fit_family, fit_lifetimes
from factoryos.reliability.lifetimes import (
    Lifetimes,
    MaintenancePolicy,
    UnitHistory,
    unit_lifetimes,
)
from factoryos.store.protocol import EventStore

__all__ = [
    "FailureFit",
    "PoolFit",
    "UnitFit",
    "fit_failures",
    "fit_histories",
    "stored_window",
]

Progress = Callable[[float], None]


@dataclass(frozen=True, slots=True)
class UnitFit:
    """One unit's own fits (in its pool's chosen families), when it has enough failures."""

    path: str
    tbf: FittedModel
    ttr: FittedModel | None


@dataclass(frozen=True, slots=True)
class PoolFit:
    """An equipment pool: its lifetimes, fits (None with too few failures) and unit fits."""

    area_id: str
    line_id: str
    equipment_id: str
    modelled: FailureModel | None
    tbf_data: Lifetimes
    ttr_data: Lifetimes
    tbf: FitResult | None
    ttr: FitResult | None
    units: tuple[UnitFit, ...]

    @property
    def fitted(self) -> FailureModel | None:
        """The failure model the fits give, for the twin; None unless both were fitted."""
        if self.tbf is None or self.ttr is None:
            return None
        return FailureModel(
            time_between_failures=self.tbf.best.distribution(),
            time_to_repair=self.ttr.best.distribution(),
        )


@dataclass(frozen=True, slots=True)
class FailureFit:
    start: dt.datetime
    end: dt.datetime
    policy: MaintenancePolicy
    age_known_at_start: bool
    state_events: int
    unknown_paths: tuple[str, ...]  # state events of paths the plant model does not have
    pools: tuple[PoolFit, ...]
    min_failures: int


def stored_window(
    store: EventStore, start: dt.datetime | None, end: dt.datetime | None, purpose: str
) -> tuple[dt.datetime, dt.datetime]:
    """[start, end), each defaulting to the store's first event and just after its last one;
    ReliabilityError naming ``purpose`` when the store is empty."""
    span = store.time_range()
    if span is None:
        raise ReliabilityError(f"the event store is empty: {purpose}")
    return start or span[0], end or span[1] + dt.timedelta(microseconds=1)


def _histories(table: pa.Table, start: dt.datetime) -> list[UnitHistory]:
    """State events (ordered by ts) split by path, times in seconds from ``start``."""
    if table.num_rows == 0:
        return []
    micros = table.column("ts").cast(pa.int64()).to_numpy()
    times = (micros - int(start.timestamp() * 1e6)) / 1e6
    paths = np.asarray(table.column("path").to_pylist(), dtype=object)
    states = table.column("state").to_pylist()
    order = np.argsort(paths, kind="stable")  # by path, keeping time order inside each
    histories: list[UnitHistory] = []
    sorted_paths = paths[order]
    cuts = np.flatnonzero(sorted_paths[1:] != sorted_paths[:-1]) + 1
    for chunk in np.split(order, cuts):
        histories.append(
            UnitHistory(
                str(paths[chunk[0]]),
                times[chunk].tolist(),
                [MachineState(states[i]) for i in chunk],
            )
        )
    return histories


def _fit_or_none(data: Lifetimes, min_failures: int, confidence: float) -> FitResult | None:
    if data.events < min_failures:
        return None
    try:
        return fit_lifetimes(data, confidence=confidence)
    except ReliabilityError:
        return None


def _unit_fit(
    path: str,
    tbf: Lifetimes,
    ttr: Lifetimes,
    pool_tbf: FitResult,
    pool_ttr: FitResult | None,
    confidence: float,
) -> UnitFit | None:
    try:
        own_tbf = fit_family(tbf, pool_tbf.best.family, confidence)
    except ReliabilityError:
        return None
    own_ttr = None
    if pool_ttr is not None:
        try:
            own_ttr = fit_family(ttr, pool_ttr.best.family, confidence)
        except ReliabilityError:
            own_ttr = None
    return UnitFit(path, own_tbf, own_ttr)


def fit_histories(
    plant: Plant,
    histories: list[UnitHistory],
    window_s: float,
    *,
    age_known_at_start: bool,
    policy: MaintenancePolicy = MaintenancePolicy.PAUSES,
    min_failures: int = 10,
    confidence: float = 0.95,
    on_progress: Progress | None = None,
) -> tuple[tuple[PoolFit, ...], tuple[str, ...]]:
    """Pool and unit fits from unit histories; (pools in model order, unknown paths)."""
    by_path = plant.work_unit_by_path
    per_unit: dict[str, list[tuple[str, Lifetimes, Lifetimes]]] = defaultdict(list)
    unknown = []
    for history in histories:
        unit = by_path.get(history.path)
        if unit is None:
            unknown.append(history.path)
            continue
        lifetimes = unit_lifetimes(
            history, window_s, age_known_at_start=age_known_at_start, policy=policy
        )
        per_unit[unit.equipment.id].append((history.path, *lifetimes))
    pools = []
    items = list(plant.equipment_items())
    for done, (area, line, equipment) in enumerate(items, start=1):
        units = per_unit.get(equipment.id, [])
        tbf_data = Lifetimes.concat([t for _, t, _ in units])
        ttr_data = Lifetimes.concat([r for _, _, r in units])
        tbf = _fit_or_none(tbf_data, min_failures, confidence)
        ttr = _fit_or_none(ttr_data, min_failures, confidence)
        unit_fits: list[UnitFit] = []
        if tbf is not None and len(units) > 1:
            for path, t, r in units:
                if t.events >= min_failures:
                    fit = _unit_fit(path, t, r, tbf, ttr, confidence)
                    if fit is not None:
                        unit_fits.append(fit)
        pools.append(
            PoolFit(
                area.id,
                line.id,
                equipment.id,
                equipment.failure,
                tbf_data,
                ttr_data,
                tbf,
                ttr,
                tuple(unit_fits),
            )
        )
        if on_progress is not None:
            on_progress(done / len(items))
    return tuple(pools), tuple(unknown)


def fit_failures(
    store: EventStore,
    plant: Plant,
    start: dt.datetime,
    end: dt.datetime,
    *,
    policy: MaintenancePolicy = MaintenancePolicy.PAUSES,
    min_failures: int = 10,
    confidence: float = 0.95,
    on_progress: Progress | None = None,
) -> FailureFit:
    """Fit failure models of every pool of ``plant`` from the state events in [start, end).

    The operating time before a unit's first failure is used only when the store's history
    begins inside the window (the units' ages are known there: new units, or a twin's run)."""
    if end <= start:
        raise ReliabilityError(f"empty window: {start.isoformat()} .. {end.isoformat()}")
    if min_failures < 3:
        raise ReliabilityError(f"min_failures must be at least 3, got {min_failures}")
    table = store.events(start, end, node=plant.root_path, kinds=[EventKind.STATE])
    span = store.time_range()
    age_known = span is not None and span[0] >= start
    pools, unknown = fit_histories(
        plant,
        _histories(table, start),
        (end - start).total_seconds(),
        age_known_at_start=age_known,
        policy=policy,
        min_failures=min_failures,
        confidence=confidence,
        on_progress=on_progress,
    )
    return FailureFit(start, end, policy, age_known, table.num_rows, unknown, pools, min_failures)
