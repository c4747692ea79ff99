"""Random durations of the plant model: times between failures and times to repair.

The model only describes a distribution and knows its mean (for static capacity checks); drawing
samples is the digital twin's job, with its own random streams.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat

from factoryos.model.quantities import DurationS


class _Distribution(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Exponential(_Distribution):
    """Memoryless durations; ``mean`` is 1/rate."""

    dist: Literal["exponential"]
    mean_s: DurationS = Field(alias="mean", gt=0)

    @property
    def mean(self) -> float:
        return self.mean_s


class Weibull(_Distribution):
    """Weibull(shape k, scale lambda): wear-out failures when k > 1."""

    dist: Literal["weibull"]
    shape: PositiveFloat
    scale_s: DurationS = Field(alias="scale", gt=0)

    @property
    def mean(self) -> float:
        return self.scale_s * math.gamma(1.0 + 1.0 / self.shape)


class Lognormal(_Distribution):
    """Lognormal by its mean and the sigma of the underlying normal (typical of repair times)."""

    dist: Literal["lognormal"]
    mean_s: DurationS = Field(alias="mean", gt=0)
    sigma: PositiveFloat

    @property
    def mu(self) -> float:
        """The mu of the underlying normal that gives this mean."""
        return math.log(self.mean_s) - self.sigma**2 / 2.0

    @property
    def mean(self) -> float:
        return self.mean_s


class Fixed(_Distribution):
    """A deterministic duration, for tests and what-if studies."""

    dist: Literal["fixed"]
    value_s: DurationS = Field(alias="value", gt=0)

    @property
    def mean(self) -> float:
        return self.value_s


Distribution = Annotated[Exponential | Weibull | Lognormal | Fixed, Field(discriminator="dist")]


class FailureModel(BaseModel):
    """Time between failures (operating time, as ISO 22400 TBF) and time to repair of one unit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_between_failures: Distribution
    time_to_repair: Distribution

    @property
    def availability(self) -> float:
        """Inherent availability MTBF / (MTBF + MTTR) of one unit."""
        mtbf, mttr = self.time_between_failures.mean, self.time_to_repair.mean
        return mtbf / (mtbf + mttr)
