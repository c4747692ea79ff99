"""Turn a plant's assessment into the signed KPI exchange document (and back into registry rows)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from factoryos.app.assess import PlantAssessment
from factoryos.assess.exchange import (
    AssessmentPart,
    DayPart,
    DensityPart,
    Factory,
    GainPart,
    KpiDocument,
    sign,
)
from factoryos.assess.gains import DayFigures
from factoryos.assess.scoring import Assessment
from factoryos.model.errors import AssessmentError


def assessment_part(a: Assessment) -> AssessmentPart:
    return AssessmentPart(
        type=a.kind.value,
        level=a.level,
        total_score=a.total,
        level_scores=[lv.score for lv in a.levels],
        sub_domain_scores={
            f"L{lv.level}": {s.sub_domain: s.score for s in lv.sub_domains} for lv in a.levels
        },
        weights_source=a.weights_source,
    )


def day_parts(days: dict[str, list[DayFigures]]) -> list[DayPart]:
    return [
        DayPart(period=period, **dataclasses.asdict(d))
        for period, rows in days.items()
        for d in rows
    ]


def build_document(
    result: PlantAssessment,
    *,
    name: str | None = None,
    district: str = "",
    industry: str = "",
    year: int | None = None,
) -> KpiDocument:
    plant = result.plant
    return KpiDocument(
        generated_at=dt.datetime.now(dt.UTC),
        factory=Factory(
            id=plant.root_path,
            name=name or plant.enterprise.name or plant.enterprise.id,
            district=district,
            industry=industry,
            certification_year=year,
        ),
        assessment=assessment_part(result.assessment),
        gains=None
        if result.gains is None
        else [
            GainPart(
                metric=g.metric.id,
                baseline=g.baseline,
                current=g.current,
                change_pct=g.change_pct,
                low_pct=g.low_pct,
                high_pct=g.high_pct,
            )
            for g in result.gains
        ],
        days=day_parts(result.days),
        robot_density=DensityPart(**dataclasses.asdict(result.density)),
    )


def export_document(
    result: PlantAssessment, key: Path, out: Path, **factory: object
) -> KpiDocument:
    """Build, sign with the Ed25519 key at ``key`` and write the document to ``out``."""
    try:
        pem = key.read_bytes()
    except OSError as exc:
        raise AssessmentError(f"cannot read: {exc.strerror}", file=str(key)) from exc
    doc = sign(build_document(result, **factory), pem)  # type: ignore[arg-type]
    out.write_text(doc.model_dump_json(by_alias=True, indent=2), encoding="utf-8")
    return doc
