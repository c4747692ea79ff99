"""Random durations of the plant model: failures, repairs and performance losses.

The model only describes a distribution and knows its mean (for static capacity checks); drawing
samples is the digital twin's job, with its own random streams.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, field_validator, model_validator

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


class Gamma(_Distribution):
    """Gamma by its shape k and mean (scale = mean / k): k = 1 is exponential, larger k less
    spread (sums of k exponential phases, typical of minor stops and manual work)."""

    dist: Literal["gamma"]
    """`gamma`."""
    shape: PositiveFloat
    """Shape k (1: exponential; larger: less spread)."""
    mean_s: DurationS = Field(alias="mean", gt=0)
    """Mean duration."""

    @property
    def scale_s(self) -> float:
        return self.mean_s / self.shape

    @property
    def mean(self) -> float:
        return self.mean_s


class Empirical(_Distribution):
    """Durations observed in the plant (from an event log): draws pick one of ``values`` with
    equal probability (the empirical distribution function, no smoothing)."""

    dist: Literal["empirical"]
    """`empirical`."""
    values_s: tuple[DurationS, ...] = Field(alias="values", min_length=1)
    """Observed durations; each is drawn with equal probability."""

    @model_validator(mode="after")
    def _positive(self) -> Empirical:
        if any(v <= 0 for v in self.values_s):
            raise ValueError("every observed duration must be > 0")
        return self

    @property
    def mean(self) -> float:
        return sum(self.values_s) / len(self.values_s)


Distribution = Annotated[
    Exponential | Weibull | Lognormal | Gamma | Empirical | Fixed, Field(discriminator="dist")
]


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


class MinorStops(BaseModel):
    """Short stops while running (ISO 22400: a performance loss, not downtime): a feeder splice,
    a jam, a pick error. ``time_between`` counts running time, ``duration`` is each stop."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_between: Distribution
    """Running time between two minor stops of a unit."""
    duration: Distribution
    """Length of one minor stop."""

    @property
    def time_share(self) -> float:
        """Expected stop time per second of running."""
        return self.duration.mean / self.time_between.mean


class UniformShare(_Distribution):
    """A speed loss that varies from cycle to cycle, uniformly between ``low`` and ``high``
    (shares of the planned rate: 0.02-0.10)."""

    dist: Literal["uniform"]
    """`uniform`."""
    low: float = Field(ge=0.0, lt=1.0)
    """Smallest share lost in a cycle."""
    high: float = Field(ge=0.0, lt=1.0)
    """Largest share lost in a cycle."""

    @model_validator(mode="after")
    def _ordered(self) -> UniformShare:
        if self.high <= self.low:
            raise ValueError(f"high ({self.high}) must be above low ({self.low})")
        return self

    @property
    def time_factor(self) -> float:
        """E[1 / (1 - X)], X uniform on [low, high]: ln((1 - low) / (1 - high)) / (high - low)."""
        return math.log((1.0 - self.low) / (1.0 - self.high)) / (self.high - self.low)


class EmpiricalShare(_Distribution):
    """Speed losses observed cycle by cycle (shares of the planned rate, e.g. measured cycle
    times over planned ones): each cycle draws one of ``values`` with equal probability."""

    dist: Literal["empirical"]
    """`empirical`."""
    values: tuple[float, ...] = Field(min_length=1)
    """Observed shares (each 0 <= share < 1)."""

    @model_validator(mode="after")
    def _shares(self) -> EmpiricalShare:
        bad = [v for v in self.values if not 0.0 <= v < 1.0]
        if bad:
            raise ValueError(f"a share lost is 0 <= share < 1, got {bad[0]}")
        return self

    @property
    def time_factor(self) -> float:
        """The mean of 1 / (1 - share) over the observations."""
        return sum(1.0 / (1.0 - v) for v in self.values) / len(self.values)


SpeedLoss = Annotated[UniformShare | EmpiricalShare, Field(discriminator="dist")]


class PerformanceLoss(BaseModel):
    """What makes a running unit slower than its planned run times (ISO 22400 effectiveness <
    1): minor stops, and ``speed_loss``, the share of the planned rate lost (0.05: a cycle
    planned at 60 s takes 60 / 0.95 = 63.2 s), fixed or drawn per cycle from a distribution."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    minor_stops: MinorStops | None = None
    """Short stops while running; none: no minor stops."""
    speed_loss: float | SpeedLoss = Field(default=0.0)
    """Share of the planned rate lost while running (0.05: 5 % slower), or a distribution of it
    drawn for every cycle (`{dist: uniform, low: 0.02, high: 0.08}`, `{dist: empirical, values:
    [...]}`)."""

    @field_validator("speed_loss")
    @classmethod
    def _a_share(cls, value: float | SpeedLoss) -> float | SpeedLoss:
        if isinstance(value, float | int) and not 0.0 <= value < 1.0:
            raise ValueError(f"a share lost is 0 <= share < 1, got {value}")
        return value

    @property
    def speed_time_factor(self) -> float:
        """Expected run time per second of planned run time from the speed loss alone."""
        if isinstance(self.speed_loss, UniformShare | EmpiricalShare):
            return self.speed_loss.time_factor
        return 1.0 / (1.0 - self.speed_loss)

    @property
    def time_factor(self) -> float:
        """Expected time on a unit per second of planned run time (>= 1)."""
        stops = self.minor_stops.time_share if self.minor_stops is not None else 0.0
        return (1.0 + stops) * self.speed_time_factor
