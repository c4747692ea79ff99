"""Request and job bodies of the HTTP API (pydantic: validated, and documented in the OpenAPI)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from factoryos.app.jobs import Job


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlanRequest(_Body):
    orders_csv: str = Field(
        min_length=1,
        max_length=2_000_000,
        description="An order book CSV: order, product, quantity, release, due[, weight]",
    )
    objective: str = Field(
        default="weighted_tardiness",
        max_length=200,
        description="makespan, weighted_tardiness, combined, energy_cost, combined_energy or "
        "lex:NAME,NAME",
    )
    time_limit_s: float = Field(default=10.0, gt=0, le=600)


class DownRequest(_Body):
    equipment: str = Field(max_length=64)
    unit: int = Field(ge=1, le=1000)
    start: AwareDatetime
    end: AwareDatetime


class RepairRequest(_Body):
    now: AwareDatetime
    down: list[DownRequest] = Field(default_factory=list, max_length=100)
    objective: str = Field(default="weighted_tardiness", max_length=60)
    time_limit_s: float = Field(default=5.0, gt=0, le=600)


class TwinRunRequest(_Body):
    days: float = Field(default=7.0, gt=0, le=366)
    seed: int = Field(default=0, ge=0, le=2**31)
    replications: int = Field(default=2, ge=1, le=16)


class ComparisonRequest(_Body):
    scenario: dict[str, Any] = Field(
        description="A scenario overlay (what a scenario YAML file holds), patched over the plant"
    )
    days: float = Field(default=7.0, gt=0, le=366)
    seed: int = Field(default=0, ge=0, le=2**31)
    replications: int = Field(default=2, ge=2, le=16)


class JobOut(BaseModel):
    id: str
    kind: str
    site: str
    status: str
    progress: float
    created: dt.datetime
    result: dict[str, Any] | None = None
    error: str | None = None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            kind=job.kind,
            site=job.site,
            status=job.status,
            progress=job.progress,
            created=job.created,
            result=job.result,
            error=job.error,
        )
