"""Lifetime distributions fitted by maximum likelihood to censored data, chosen by AIC.

Three families, the ones the plant model can express (:mod:`factoryos.model.distributions`):
exponential (random failures), Weibull (wear-out or infant mortality) and lognormal (typical of
repair times). lifelines fits each by maximum likelihood with right-censored observations, the
family with the lowest AIC is chosen, and every parameter comes with a Wald confidence interval
from the inverse Hessian. The mean's interval is the delta method on log(mean), so it stays
positive. Fits run in hours: the optimiser's default start values are scaled for numbers near 1.

Goodness of fit is the largest distance between the fitted CDF and the Kaplan-Meier estimate at
the observed failure times (the Kolmogorov-Smirnov statistic when nothing is censored).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
from lifelines import ExponentialFitter, KaplanMeierFitter, LogNormalFitter, WeibullFitter
from lifelines.exceptions import ConvergenceError, StatisticalWarning
from scipy.special import ndtr
from scipy.stats import norm

from factoryos.model.distributions import Exponential, Lognormal, Weibull
from factoryos.model.errors import ReliabilityError
from factoryos.reliability.lifetimes import Lifetimes

__all__ = [
    "Family",
    "FitResult",
    "FittedModel",
    "Parameter",
    "fit_family",
    "fit_lifetimes",
]

HOUR_S = 3600.0
MIN_EVENTS = 3
"""Fewer observed failures than this and there is nothing to fit."""


class Family(StrEnum):
    EXPONENTIAL = "exponential"
    WEIBULL = "weibull"
    LOGNORMAL = "lognormal"


@dataclass(frozen=True, slots=True)
class Parameter:
    """A fitted parameter with its confidence interval (durations in seconds)."""

    name: str
    value: float
    lower: float
    upper: float

    def covers(self, truth: float) -> bool:
        return self.lower <= truth <= self.upper


@dataclass(frozen=True, slots=True)
class FittedModel:
    family: Family
    parameters: tuple[Parameter, ...]
    mean: Parameter
    log_likelihood: float
    aic: float
    ks_distance: float

    def parameter(self, name: str) -> Parameter:
        return next(p for p in self.parameters if p.name == name)

    def distribution(self) -> Exponential | Weibull | Lognormal:
        """The plant model's distribution with the fitted values (what the twin draws from)."""
        if self.family is Family.EXPONENTIAL:
            return Exponential(dist="exponential", mean=self.mean.value)
        if self.family is Family.WEIBULL:
            return Weibull(
                dist="weibull",
                shape=self.parameter("shape").value,
                scale=self.parameter("scale_s").value,
            )
        return Lognormal(
            dist="lognormal", mean=self.mean.value, sigma=self.parameter("sigma").value
        )

    def cdf(self, t_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return _cdf(self.family, {p.name: p.value for p in self.parameters}, t_s)


@dataclass(frozen=True, slots=True)
class FitResult:
    """All candidate fits of one set of lifetimes, best (lowest AIC) first."""

    data: Lifetimes
    candidates: tuple[FittedModel, ...]
    km_times_s: npt.NDArray[np.float64]
    km_cdf: npt.NDArray[np.float64]

    @property
    def best(self) -> FittedModel:
        return self.candidates[0]

    def of(self, family: Family) -> FittedModel:
        return next(c for c in self.candidates if c.family is family)


def _cdf(
    family: Family, values: dict[str, float], t_s: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    t = np.maximum(np.asarray(t_s, dtype=np.float64), 1e-12)
    if family is Family.EXPONENTIAL:
        return np.asarray(1.0 - np.exp(-t / values["mean_s"]))
    if family is Family.WEIBULL:
        return np.asarray(1.0 - np.exp(-((t / values["scale_s"]) ** values["shape"])))
    return np.asarray(ndtr((np.log(t / HOUR_S) - values["mu_log_h"]) / values["sigma"]))


# How each family's lifelines parameters become ours: (lifelines name, our name, scale to ours).
_PARAMETERS: dict[Family, tuple[tuple[str, str, float], ...]] = {
    Family.EXPONENTIAL: (("lambda_", "mean_s", HOUR_S),),
    Family.WEIBULL: (("lambda_", "scale_s", HOUR_S), ("rho_", "shape", 1.0)),
    Family.LOGNORMAL: (("mu_", "mu_log_h", 1.0), ("sigma_", "sigma", 1.0)),
}


def _log_mean_h(family: Family, p: npt.NDArray[np.float64]) -> float:
    """log of the mean in hours from lifelines' parameter vector (in their order)."""
    if family is Family.EXPONENTIAL:
        return math.log(p[0])
    if family is Family.WEIBULL:
        return math.log(p[0]) + math.lgamma(1.0 + 1.0 / p[1])
    return float(p[0] + p[1] ** 2 / 2.0)


def _mean_interval(family: Family, fitter: Any, z: float) -> Parameter:
    """Mean with a delta-method interval on log(mean) (numerical gradient)."""
    names = [lifelines_name for lifelines_name, _, _ in _PARAMETERS[family]]
    p = np.array([float(getattr(fitter, n)) for n in names])
    cov = np.asarray(fitter.variance_matrix_.loc[names, names], dtype=np.float64)
    grad = np.zeros_like(p)
    for i in range(p.size):
        h = 1e-6 * max(abs(p[i]), 1e-3)
        up, down = p.copy(), p.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (_log_mean_h(family, up) - _log_mean_h(family, down)) / (2 * h)
    se = math.sqrt(max(float(grad @ cov @ grad), 0.0))
    log_mean = _log_mean_h(family, p)
    return Parameter(
        "mean_s",
        math.exp(log_mean) * HOUR_S,
        math.exp(log_mean - z * se) * HOUR_S,
        math.exp(log_mean + z * se) * HOUR_S,
    )


_FITTERS: dict[Family, Callable[..., Any]] = {
    Family.EXPONENTIAL: ExponentialFitter,
    Family.WEIBULL: WeibullFitter,
    Family.LOGNORMAL: LogNormalFitter,
}


def _kaplan_meier(
    data: Lifetimes,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(failure times, KM CDF just after, KM CDF just before) at the observed failure times."""
    km = KaplanMeierFitter().fit(data.durations_s, data.observed)
    table = km.event_table
    times = np.asarray(table.index, dtype=np.float64)
    survival = np.asarray(km.survival_function_at_times(times), dtype=np.float64)
    before = np.concatenate([[1.0], survival[:-1]])
    failed = np.asarray(table["observed"], dtype=np.float64) > 0
    return times[failed], 1.0 - survival[failed], 1.0 - before[failed]


def fit_family(data: Lifetimes, family: Family, confidence: float = 0.95) -> FittedModel:
    """One family fitted by maximum likelihood to (possibly censored) lifetimes."""
    if data.events < MIN_EVENTS:
        raise ReliabilityError(
            f"{data.events} observed failure(s): at least {MIN_EVENTS} are needed for a fit"
        )
    alpha = 1.0 - confidence
    z = float(norm.ppf(1.0 - alpha / 2.0))
    fitter = _FITTERS[family](alpha=alpha)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            fitter.fit(data.durations_s / HOUR_S, event_observed=data.observed)
    except ConvergenceError as exc:
        raise ReliabilityError(f"the {family.value} fit did not converge: {exc}") from exc
    summary = fitter.summary  # columns: coef, se(coef), coef lower x%, coef upper x%, ...
    parameters = []
    for theirs, ours, scale in _PARAMETERS[family]:
        value, _, lower, upper = (float(v) for v in summary.loc[theirs].iloc[:4])
        parameters.append(Parameter(ours, value * scale, lower * scale, upper * scale))
    values = {p.name: p.value for p in parameters}
    times, after, before = _kaplan_meier(data)
    fitted = _cdf(family, values, times)
    ks = float(max(np.max(np.abs(after - fitted)), np.max(np.abs(before - fitted))))
    # lifelines' log-likelihood is of durations in hours: shift it to seconds (densities scale
    # by 1/3600 per observed failure) so it is comparable with any other fit of the same data.
    log_likelihood = float(fitter.log_likelihood_) - data.events * math.log(HOUR_S)
    return FittedModel(
        family=family,
        parameters=tuple(parameters),
        mean=_mean_interval(family, fitter, z),
        log_likelihood=log_likelihood,
        aic=2.0 * len(parameters) - 2.0 * log_likelihood,
        ks_distance=ks,
    )


def fit_lifetimes(
    data: Lifetimes,
    families: tuple[Family, ...] = tuple(Family),
    confidence: float = 0.95,
) -> FitResult:
    """Every family in ``families`` fitted; the lowest AIC first. A family that does not
    converge is left out; if none converges, ReliabilityError."""
    fits, failures = [], []
    for family in families:
        try:
            fits.append(fit_family(data, family, confidence))
        except ReliabilityError as exc:
            failures.append(str(exc))
    if not fits:
        raise ReliabilityError("; ".join(failures))
    times, after, _ = _kaplan_meier(data)
    return FitResult(data, tuple(sorted(fits, key=lambda f: f.aic)), times, after)
