"""Confidence intervals over independent replications (Student t, exact for integer df).

Only numpy and the stdlib are allowed in ``simulate``, so the t quantile is computed here: the
two-sided t distribution function has a finite trigonometric form for integer degrees of freedom
(Abramowitz & Stegun 26.7.3-4), inverted by bisection. Tests check it against SciPy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

__all__ = ["Interval", "mean_interval", "student_t_quantile"]


def _t_two_sided(t: float, df: int) -> float:
    """P(|T| <= t) for Student's t with ``df`` degrees of freedom (A&S 26.7.3, 26.7.4)."""
    theta = math.atan(t / math.sqrt(df))
    sin, cos2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2 == 1:
        total, term = 0.0, math.cos(theta)
        if df > 1:
            total = term
            for k in range(3, df - 1, 2):
                term *= cos2 * (k - 1) / k
                total += term
        return 2.0 / math.pi * (theta + sin * total)
    total, term = 1.0, 1.0
    for k in range(2, df - 1, 2):
        term *= cos2 * (k - 1) / k
        total += term
    return sin * total


def student_t_quantile(confidence: float, df: int) -> float:
    """The t value with P(|T| <= t) = ``confidence`` (0.95 -> 2.262 for df = 9)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    if df < 1:
        raise ValueError(f"df must be >= 1, got {df!r}")
    if df > 2000:  # within 1e-4 of the normal quantile; the finite sum grows with df
        return NormalDist().inv_cdf(0.5 + confidence / 2.0)
    low, high = 0.0, 1.0
    while _t_two_sided(high, df) < confidence:
        high *= 2.0
    for _ in range(100):
        mid = (low + high) / 2.0
        if _t_two_sided(mid, df) < confidence:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


@dataclass(frozen=True, slots=True)
class Interval:
    """Mean of ``n`` replications and the half width of its ``confidence`` interval."""

    mean: float
    half_width: float
    n: int
    confidence: float = 0.95

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.mean:.4g} ± {self.half_width:.2g}"


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean and t-interval of independent, identically distributed observations."""
    n = len(values)
    if n == 0:
        raise ValueError("no observations")
    mean = math.fsum(values) / n
    if n == 1:
        return Interval(mean, math.inf, 1, confidence)
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    half = student_t_quantile(confidence, n - 1) * math.sqrt(variance / n)
    return Interval(mean, half, n, confidence)
