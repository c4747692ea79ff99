"""Measured gains: a baseline period against a current period, from daily figures.

Each figure is a ratio of sums over a period's days (never a mean of daily ratios), and its change
in % comes with a 95 % percentile bootstrap interval: the days of each period are resampled with
replacement, independently, and the ratio of sums recomputed. Beside each change stands the
average the Shanghai programme reports for its smart factories (standards.md 7.4; seed
shared/seeds/000: productivity +50 %, operating cost -30 %, energy per unit of value added -13.8 %).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from factoryos.assess.maturity import Text
from factoryos.model.errors import AssessmentError


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One plant-local day's sums: the numerators and denominators of the gain metrics."""

    day: dt.date
    value_added_cny: float
    good_units: float
    labour_h: float
    operating_cost_cny: float
    energy_kwh: float
    oee_good_run_s: float  # PRI x GQ summed (ISO 22400 OEE numerator)
    pbt_s: float  # planned busy time (OEE denominator)


@dataclass(frozen=True, slots=True)
class Metric:
    id: str
    name: Text
    numerator: str
    denominator: str
    scale: float  # denominator divided by this (10,000 CNY of value added)
    better: int  # +1: higher is better, -1: lower is better
    programme_pct: float | None  # what the programme reports on average


METRICS: tuple[Metric, ...] = (
    Metric(
        "value_added_per_labour_hour_cny",
        Text("人均小时增加值", "Value added per labour hour"),
        "value_added_cny",
        "labour_h",
        1.0,
        +1,
        50.0,
    ),
    Metric(
        "good_units_per_labour_hour",
        Text("人均小时合格品数", "Good units per labour hour"),
        "good_units",
        "labour_h",
        1.0,
        +1,
        50.0,
    ),
    Metric(
        "operating_cost_per_good_unit_cny",
        Text("单位合格品运营成本", "Operating cost per good unit"),
        "operating_cost_cny",
        "good_units",
        1.0,
        -1,
        -30.0,
    ),
    Metric(
        "energy_per_10k_cny_value_added_kwh",
        Text("万元增加值能耗", "Energy per 10,000 CNY value added"),
        "energy_kwh",
        "value_added_cny",
        10_000.0,
        -1,
        -13.8,
    ),
    Metric("oee", Text("设备综合效率", "OEE"), "oee_good_run_s", "pbt_s", 1.0, +1, None),
)
SCALES = np.array([m.scale for m in METRICS])


@dataclass(frozen=True, slots=True)
class Gain:
    metric: Metric
    baseline: float | None
    current: float | None
    change_pct: float | None
    low_pct: float | None  # 95 % bootstrap interval of the change
    high_pct: float | None

    @property
    def improved(self) -> bool | None:
        if self.change_pct is None:
            return None
        return self.change_pct * self.metric.better > 0


Columns = tuple[np.ndarray, np.ndarray]
"""A period's numerators and (scaled) denominators: one row per day, one column per metric."""


def measure_gains(
    baseline: Sequence[DayFigures],
    current: Sequence[DayFigures],
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[Gain, ...]:
    """Every metric's change from ``baseline`` to ``current`` with its bootstrap interval."""
    if not baseline:
        raise AssessmentError("the baseline window holds no production days", item="baseline")
    if not current:
        raise AssessmentError("the current window holds no production days", item="current")
    [gains] = measure_gains_many([(columns(baseline), columns(current))], resamples, seed)
    return gains


def measure_gains_many(
    pairs: Sequence[tuple[Columns, Columns]], resamples: int = 2000, seed: int = 0
) -> list[tuple[Gain, ...]]:
    """Gains of many factories (baseline, current columns each) in few matrix products.

    A resample is a count per day (multinomial), so ``counts @ columns`` gives every metric's
    resampled sums at once. Periods of equal length share one counts matrix (it depends only on
    the number of days and the seed) and one product over all their columns side by side: a
    thousand small products are memory-bound, one wide product runs at BLAS speed (the programme
    view over 1,000 factories x a year of days refreshes in seconds, bench/program.py).
    """
    sums: dict[tuple[int, int], np.ndarray] = {}
    for which in (0, 1):
        by_length: dict[int, list[int]] = {}
        for i, pair in enumerate(pairs):
            by_length.setdefault(len(pair[which][0]), []).append(i)
        for n, members in by_length.items():
            wide = np.hstack([np.hstack(pairs[i][which]) for i in members])
            product = _resample_counts(n, resamples, seed + which) @ wide
            width = 2 * len(METRICS)
            for k, i in enumerate(members):
                sums[(i, which)] = product[:, k * width : (k + 1) * width]
    out = []
    m = len(METRICS)
    for i, ((num_b, den_b), (num_c, den_c)) in enumerate(pairs):
        boot_b, boot_c = sums[(i, 0)], sums[(i, 1)]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (boot_c[:, :m] / boot_c[:, m:]) / (boot_b[:, :m] / boot_b[:, m:])
        gains = []
        for j, metric in enumerate(METRICS):
            base = _ratio(num_b[:, j].sum(), den_b[:, j].sum())
            cur = _ratio(num_c[:, j].sum(), den_c[:, j].sum())
            if base is None or cur is None or base == 0:
                gains.append(Gain(metric, base, cur, None, None, None))
                continue
            change = (ratio[:, j] - 1.0) * 100.0
            change = change[np.isfinite(change)]
            low = float(np.percentile(change, 2.5)) if change.size else None
            high = float(np.percentile(change, 97.5)) if change.size else None
            gains.append(Gain(metric, base, cur, (cur / base - 1.0) * 100.0, low, high))
        out.append(tuple(gains))
    return out


@lru_cache(maxsize=64)
def _resample_counts(days: int, resamples: int, seed: int) -> np.ndarray:
    """How often each day is drawn in each resample (multinomial, one row per resample)."""
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(days, np.full(days, 1.0 / days), resamples).astype(float)
    counts.setflags(write=False)
    return counts


def columns(days: Sequence[DayFigures]) -> Columns:
    """A period's figures as metric columns (see :data:`Columns`)."""
    num = np.array([[getattr(d, m.numerator) for m in METRICS] for d in days], dtype=float)
    den = np.array([[getattr(d, m.denominator) for m in METRICS] for d in days], dtype=float)
    return num.reshape(-1, len(METRICS)), den.reshape(-1, len(METRICS)) / SCALES


def columns_of_fields(fields: dict[str, np.ndarray]) -> Columns:
    """Metric columns from arrays of DayFigures fields (one entry per day), without objects."""
    num = np.column_stack([fields[m.numerator] for m in METRICS]).astype(float)
    den = np.column_stack([fields[m.denominator] for m in METRICS]).astype(float)
    return num, den / SCALES


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den > 0 else None
