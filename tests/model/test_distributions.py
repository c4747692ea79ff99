"""Failure and repair distributions: their means are what the capacity check relies on."""

from __future__ import annotations

import math

import pytest
from pydantic import TypeAdapter, ValidationError
from scipy import stats

from factoryos.model import Exponential, FailureModel, Fixed, Lognormal, Weibull
from factoryos.model.distributions import Distribution

DIST = TypeAdapter(Distribution)


@pytest.mark.parametrize(
    ("shape", "scale_h"), [(0.7, 50.0), (1.0, 100.0), (1.5, 300.0), (3.2, 8.0)]
)
def test_weibull_mean_matches_scipy(shape: float, scale_h: float) -> None:
    dist = DIST.validate_python({"dist": "weibull", "shape": shape, "scale": f"{scale_h} h"})
    assert isinstance(dist, Weibull)
    expected = stats.weibull_min(c=shape, scale=scale_h * 3600).mean()
    assert dist.mean == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("mean_h", "sigma"), [(2.0, 0.5), (0.75, 0.6), (10.0, 1.2)])
def test_lognormal_is_parametrised_by_its_mean(mean_h: float, sigma: float) -> None:
    dist = DIST.validate_python({"dist": "lognormal", "mean": f"{mean_h} h", "sigma": sigma})
    assert isinstance(dist, Lognormal)
    scipy_mean = stats.lognorm(s=sigma, scale=math.exp(dist.mu)).mean()
    assert scipy_mean == pytest.approx(mean_h * 3600, rel=1e-12)
    assert dist.mean == mean_h * 3600


def test_exponential_and_fixed_means() -> None:
    exp = DIST.validate_python({"dist": "exponential", "mean": "400 h"})
    assert isinstance(exp, Exponential)
    assert exp.mean == stats.expon(scale=400 * 3600).mean()
    fixed = DIST.validate_python({"dist": "fixed", "value": "30 min"})
    assert isinstance(fixed, Fixed)
    assert fixed.mean == 1800.0


def test_inherent_availability() -> None:
    model = FailureModel.model_validate(
        {
            "time_between_failures": {"dist": "fixed", "value": "99 h"},
            "time_to_repair": {"dist": "exponential", "mean": "1 h"},
        }
    )
    assert model.availability == pytest.approx(0.99)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"dist": "beta", "mean": "1 h"}, "does not match any of the expected tags"),
        ({"dist": "weibull", "shape": 0, "scale": "1 h"}, "greater than 0"),
        ({"dist": "weibull", "shape": 1.5, "scale": "0 h"}, "greater than 0"),
        ({"dist": "lognormal", "mean": "2 kW", "sigma": 0.5}, "unit mismatch"),
        ({"dist": "exponential", "mean": "-1 h"}, "negative duration"),
        ({"dist": "exponential", "mean": "1 h", "rate": 2}, "Extra inputs"),
    ],
)
def test_bad_distributions(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DIST.validate_python(data)


def test_gamma_and_empirical_know_their_means() -> None:
    from factoryos.model import Empirical, Gamma, PerformanceLoss

    gamma = Gamma.model_validate({"dist": "gamma", "shape": 2, "mean": "90 s"})
    assert (gamma.mean, gamma.scale_s) == (90.0, 45.0)
    empirical = Empirical.model_validate({"dist": "empirical", "values": ["30 s", "90 s"]})
    assert empirical.mean == 60.0
    with pytest.raises(ValueError, match="at least 1 item"):
        Empirical.model_validate({"dist": "empirical", "values": []})
    loss = PerformanceLoss.model_validate(
        {
            "minor_stops": {
                "time_between": {"dist": "exponential", "mean": "20 min"},
                "duration": {"dist": "fixed", "value": "1 min"},
            },
            "speed_loss": 0.05,
        }
    )
    # 1 min of stop per 20 min of running, and 5 % slower: 1.05 / 0.95
    assert loss.time_factor == pytest.approx(1.05 / 0.95)


def test_a_speed_loss_drawn_per_cycle_knows_its_expected_time_factor() -> None:
    from factoryos.model import PerformanceLoss

    uniform = PerformanceLoss.model_validate(
        {"speed_loss": {"dist": "uniform", "low": 0.0, "high": 0.2}}
    )
    # E[1 / (1 - X)] for X ~ U(0, 0.2) = ln(1 / 0.8) / 0.2, above 1 / (1 - E[X]) (Jensen)
    assert uniform.time_factor == pytest.approx(math.log(1.25) / 0.2)
    assert uniform.time_factor > 1.0 / 0.9
    observed = PerformanceLoss.model_validate(
        {"speed_loss": {"dist": "empirical", "values": [0.0, 0.5]}}
    )
    assert observed.time_factor == pytest.approx((1.0 + 2.0) / 2)
    for bad, message in (
        ({"dist": "uniform", "low": 0.1, "high": 0.05}, "must be above low"),
        ({"dist": "empirical", "values": [0.1, 1.0]}, "0 <= share < 1, got 1.0"),
        (1.5, "0 <= share < 1, got 1.5"),
    ):
        with pytest.raises(ValueError, match=message):
            PerformanceLoss.model_validate({"speed_loss": bad})
