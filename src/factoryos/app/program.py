"""The programme registry's use cases: load signed KPI documents (a bad one is kept aside with its
reason while the others load), and refresh the programme view from the registry."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from factoryos.assess.density import Density
from factoryos.assess.exchange import KpiDocument, read_document
from factoryos.assess.gains import Columns, DayFigures, columns_of_fields, measure_gains_many
from factoryos.assess.program import (
    FactoryRecord,
    GroupRow,
    Nominee,
    Programme,
    Progress,
    load_programme,
    progress,
    rankings,
    shortlist,
)
from factoryos.assess.scoring import Assessment
from factoryos.model.errors import AssessmentError
from factoryos.store.registry import SCHEMAS, Registry

_DAY_FIELDS = [f.name for f in dataclasses.fields(DayFigures)]


def factory_tables(
    info: dict[str, Any],
    assessment: Assessment,
    density: Density,
    days: dict[str, list[DayFigures]],
) -> dict[str, pa.Table]:
    """The registry rows of one factory (``info``: id, name, district, industry, year, key)."""
    fid = info["factory_id"]
    row = {
        **info,
        "type": assessment.kind.value,
        "level": assessment.level,
        "total_score": assessment.total,
        **dataclasses.asdict(density),
    }
    scores = [
        {"factory_id": fid, "level": lv.level, "sub_domain": s.sub_domain, "score": s.score}
        for lv in assessment.levels
        for s in lv.sub_domains
    ]
    day_rows = [
        {"factory_id": fid, "period": period, **dataclasses.asdict(d)}
        for period, rows in days.items()
        for d in rows
    ]
    return {
        "factories": pa.Table.from_pylist([row], SCHEMAS["factories"]),
        "scores": pa.Table.from_pylist(scores, SCHEMAS["scores"]),
        "days": pa.Table.from_pylist(day_rows, SCHEMAS["days"]),
    }


def document_tables(doc: KpiDocument) -> dict[str, pa.Table]:
    f, a, d = doc.factory, doc.assessment, doc.robot_density
    fid = f.id
    row = {
        "factory_id": fid,
        "name": f.name,
        "district": f.district,
        "industry": f.industry,
        "certification_year": f.certification_year,
        "type": a.type,
        "level": a.level,
        "total_score": a.total_score,
        "robots": d.robots,
        "employees": d.employees,
        "assumed_axes": d.assumed_axes,
        "public_key": doc.signature.public_key if doc.signature else None,
        "source": "document",
    }
    scores = [
        {"factory_id": fid, "level": int(level[1:]), "sub_domain": sub, "score": score}
        for level, subs in a.sub_domain_scores.items()
        for sub, score in subs.items()
    ]
    days = [{"factory_id": fid, **day.model_dump()} for day in doc.days]
    return {
        "factories": pa.Table.from_pylist([row], SCHEMAS["factories"]),
        "scores": pa.Table.from_pylist(scores, SCHEMAS["scores"]),
        "days": pa.Table.from_pylist(days, SCHEMAS["days"]),
    }


@dataclass(frozen=True, slots=True)
class LoadOutcome:
    loaded: list[str]  # factory ids
    rejected: list[tuple[str, str]]  # (file, reason)


def load_documents(registry: Registry, files: Iterable[Path]) -> LoadOutcome:
    """Verify and load each document; a bad one is recorded in the registry with its reason."""
    loaded, rejected = [], []
    for file in files:
        try:
            try:
                text = file.read_bytes()
            except OSError as exc:
                raise AssessmentError(f"cannot read: {exc.strerror}", file=str(file)) from exc
            doc = read_document(text, str(file))
            known = registry.public_key(doc.factory.id)
            signer = doc.signature.public_key if doc.signature else None
            if known is not None and known != signer:
                raise AssessmentError(
                    f"signed with another key than {doc.factory.id!r}'s registered one",
                    file=str(file),
                    item="signature",
                )
        except AssessmentError as exc:
            registry.reject(str(file), str(exc))
            rejected.append((str(file), str(exc)))
            continue
        registry.put(document_tables(doc))
        loaded.append(doc.factory.id)
    return LoadOutcome(loaded, rejected)


@dataclass(frozen=True, slots=True)
class ProgramView:
    records: list[FactoryRecord]
    progress: list[Progress]
    by_district: list[GroupRow]
    by_industry: list[GroupRow]
    shortlist: list[Nominee]
    award_year: int
    programme: Programme


def records(registry: Registry, resamples: int = 2000) -> list[FactoryRecord]:
    """Every factory with its gains recomputed from its stored days (bootstrap intervals)."""
    periods = _columns_by_factory(registry.table("days"))
    factories = registry.table("factories").to_pylist()
    with_days = [
        f["factory_id"]
        for f in factories
        if ("baseline" in periods.get(f["factory_id"], {}))
        and ("current" in periods.get(f["factory_id"], {}))
    ]
    measured = measure_gains_many(
        [(periods[f]["baseline"], periods[f]["current"]) for f in with_days], resamples
    )
    gains = {f: {g.metric.id: g for g in row} for f, row in zip(with_days, measured, strict=True)}
    return [
        FactoryRecord(
            factory_id=row["factory_id"],
            name=row["name"],
            district=row["district"],
            industry=row["industry"],
            certification_year=row["certification_year"],
            level=row["level"],
            total_score=row["total_score"],
            density=Density(row["robots"], row["employees"], row["assumed_axes"]),
            gains=gains.get(row["factory_id"], {}),
        )
        for row in factories
    ]


def _columns_by_factory(table: pa.Table) -> dict[str, dict[str, Columns]]:
    """Metric columns per factory and period (the table is sorted by factory, period, day)."""
    out: dict[str, dict[str, Columns]] = defaultdict(dict)
    if table.num_rows == 0:
        return out
    ids = table["factory_id"].to_numpy(zero_copy_only=False)
    periods = table["period"].to_numpy(zero_copy_only=False)
    fields = {n: table[n].to_numpy() for n in _DAY_FIELDS if n != "day"}
    bounds = np.flatnonzero((ids[1:] != ids[:-1]) | (periods[1:] != periods[:-1])) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(ids)], strict=True):
        out[ids[lo]][periods[lo]] = columns_of_fields({n: v[lo:hi] for n, v in fields.items()})
    return out


def program_view(
    registry: Registry,
    award_year: int,
    programme_file: str | None = None,
    resamples: int = 2000,
) -> ProgramView:
    programme = load_programme(programme_file)
    recs = records(registry, resamples)
    return ProgramView(
        records=recs,
        progress=progress(recs, programme),
        by_district=rankings(recs, lambda r: r.district or "?"),
        by_industry=rankings(recs, lambda r: r.industry or "?"),
        shortlist=shortlist(recs, award_year, programme.award),
        award_year=award_year,
        programme=programme,
    )


def open_registry(path: str | Path) -> Registry:
    """The programme registry at ``path`` (a DuckDB file, created when missing)."""
    return Registry(path)
