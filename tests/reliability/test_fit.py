"""Known answers: the twin runs a plant with known failure models, the fit gets them back.

The twin draws times between failures from Weibull(1.5, 40 h) in operating time and repairs from
lognormal(mean 3 h, sigma 0.6); its state events go to a store; ``fit_failures`` reads them back.
The intervals are 99 % intervals, so that four parameters are all covered with high probability
whatever the twin's random streams become (at 95 % each, all four hold only ~81 % of the time).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from factoryos.app.fit import FailureFit, fit_failures
from factoryos.app.fit_overlay import overlay_text
from factoryos.app.simulation import load_plant_and_scenario, run_simulation
from factoryos.model import Plant
from factoryos.model.distributions import Weibull
from factoryos.reliability.fitting import Family, fit_family
from factoryos.reliability.lifetimes import Lifetimes
from factoryos.store.duckdb_store import DuckDBStore
from tests.reliability.plants import (
    RELIABILITY_PLANT,
    TRUE_SCALE_H,
    TRUE_SHAPE,
    TRUE_TTR_MEAN_H,
    TRUE_TTR_SIGMA,
    reliability_plant,
    with_units,
)

H = 3600.0
START = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)


def twin_fit(plant: Plant, days: float, seed: int, *, min_failures: int = 10) -> FailureFit:
    """The twin runs ``plant`` busy (demand 1.3 x capacity), the fit reads its events back."""
    units = plant.equipment_by_id["mill"].units
    with DuckDBStore(":memory:") as store:
        run_simulation(
            plant,
            days=days,
            seed=seed,
            demand_per_year=units * 8760 * 1.3,
            start=START,
            store=store,
            processes=1,
        )
        return fit_failures(
            store,
            plant,
            START,
            START + dt.timedelta(days=days),
            min_failures=min_failures,
            confidence=0.99,
        )


@pytest.fixture(scope="module")
def long_run() -> FailureFit:
    return twin_fit(reliability_plant(), days=120, seed=3)


def test_the_twins_weibull_and_lognormal_are_fitted_back(long_run: FailureFit) -> None:
    [pool] = long_run.pools
    assert long_run.age_known_at_start
    assert pool.tbf is not None and pool.ttr is not None
    assert pool.tbf_data.events > 200
    tbf = pool.tbf.best
    assert tbf.family is Family.WEIBULL  # chosen by AIC over exponential and lognormal
    assert tbf.parameter("shape").covers(TRUE_SHAPE)
    assert tbf.parameter("scale_s").covers(TRUE_SCALE_H * H)
    assert tbf.mean.covers(TRUE_SCALE_H * H * math.gamma(1 + 1 / TRUE_SHAPE))
    ttr = pool.ttr.best
    assert ttr.family is Family.LOGNORMAL
    assert ttr.parameter("sigma").covers(TRUE_TTR_SIGMA)
    assert ttr.mean.covers(TRUE_TTR_MEAN_H * H)
    assert tbf.ks_distance < 0.1 and ttr.ks_distance < 0.1
    # every unit of the pool has enough failures for its own fit, in the pool's family
    assert len(pool.units) == 4
    assert all(u.tbf.family is Family.WEIBULL for u in pool.units)


def test_the_overlay_calibrates_the_twin(long_run: FailureFit, tmp_path: Path) -> None:
    [pool] = long_run.pools
    assert pool.tbf is not None
    (tmp_path / "plant.yaml").write_text(RELIABILITY_PLANT, encoding="utf-8")
    (tmp_path / "fitted.yaml").write_text(overlay_text(long_run), encoding="utf-8")
    calibrated = load_plant_and_scenario(tmp_path / "plant.yaml", tmp_path / "fitted.yaml")
    failure = calibrated.equipment_by_id["mill"].failure
    assert failure is not None
    fitted = pool.tbf.best
    assert isinstance(failure.time_between_failures, Weibull)
    assert failure.time_between_failures.shape == pytest.approx(
        fitted.parameter("shape").value, rel=1e-3
    )
    assert failure.time_between_failures.scale_s == pytest.approx(
        fitted.parameter("scale_s").value, rel=1e-4
    )
    assert "TBF weibull" in (tmp_path / "fitted.yaml").read_text(encoding="utf-8")


def test_a_fitted_distribution_replaces_the_modelled_one_whole() -> None:
    """A fitted lognormal over a modelled Weibull keeps none of the Weibull's fields."""
    overlay = {
        "areas": [
            {
                "id": "shop",
                "lines": [
                    {
                        "id": "cells",
                        "equipment": [
                            {
                                "id": "mill",
                                "failure": {
                                    "time_between_failures": {
                                        "dist": "exponential",
                                        "mean": "30 h",
                                    }
                                },
                            }
                        ],
                    }
                ],
            }
        ]
    }
    failure = reliability_plant(overlay).equipment_by_id["mill"].failure
    assert failure is not None
    assert failure.time_between_failures.mean == 30 * H
    assert failure.time_to_repair.mean == TRUE_TTR_MEAN_H * H  # the sibling is kept


def test_ignoring_censoring_is_biased_and_censored_likelihood_is_not() -> None:
    """80 units watched for 3 days (~1.6 failures each): most last lifetimes are cut by the
    window's end. Dropping them, or counting them as failures, leaves only the short lifetimes
    and the scale's interval misses the truth; the censored fit covers it."""
    fit = twin_fit(with_units(80), days=3, seed=3)
    data = fit.pools[0].tbf_data
    assert data.censored > 0.3 * data.n
    truth = TRUE_SCALE_H * H
    censored = fit_family(data, Family.WEIBULL, confidence=0.99)
    dropped = fit_family(data.without_censored(), Family.WEIBULL, confidence=0.99)
    as_failures = fit_family(
        Lifetimes(data.durations_s, data.observed | True), Family.WEIBULL, confidence=0.99
    )
    assert censored.parameter("scale_s").covers(truth)
    assert dropped.parameter("scale_s").upper < truth
    assert as_failures.parameter("scale_s").upper < truth
