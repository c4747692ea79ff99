"""The programme view as the service serves it: the registry file read (read only) when it has
changed since the last refresh, and JSON-ready answers for the programme officer's routes.

A refresh over 1,000 factories recomputes every factory's gains (bootstrap intervals), ~10 s: one
refresh per (registry file version, award year) is kept, and callers asking at the same moment
wait for the one computation (a lock) rather than each starting their own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factoryos.app.program import ProgramView, program_view
from factoryos.assess.density import REFERENCES, Density
from factoryos.assess.gains import METRICS, Gain
from factoryos.assess.maturity import load_model
from factoryos.assess.program import FactoryRecord, GroupRow, Nominee
from factoryos.model.errors import ParameterError
from factoryos.store.registry import Registry

KEEP = 4  # refreshes kept (award years asked for)


@dataclass(frozen=True, slots=True)
class Filters:
    district: str | None = None
    industry: str | None = None
    level: int | None = None

    def keep(self, r: FactoryRecord) -> bool:
        return (
            (self.district is None or r.district == self.district)
            and (self.industry is None or r.industry == self.industry)
            and (self.level is None or r.level == self.level)
        )


class ProgramRegistry:
    """The programme registry file behind the programme officer's routes."""

    def __init__(self, path: Path, programme_file: str | None = None) -> None:
        if not path.is_file():
            raise ParameterError(
                "registry",
                str(path),
                "no programme registry there: make one with 'factoryos program generate' or "
                "'factoryos program load'",
            )
        self.path = path
        self.programme_file = programme_file
        self._lock = threading.Lock()
        self._views: dict[tuple[int, int, int], ProgramView] = {}

    def _version(self) -> tuple[int, int]:
        st = self.path.stat()
        return st.st_mtime_ns, st.st_size

    def view(self, award_year: int) -> ProgramView:
        """The programme view for ``award_year``, refreshed when the file has changed."""
        with self._lock:
            key = (*self._version(), award_year)
            found = self._views.get(key)
            if found is None:
                registry = Registry(self.path, read_only=True)
                try:
                    found = program_view(registry, award_year, self.programme_file)
                finally:
                    registry.close()
                if len(self._views) >= KEEP:
                    self._views.pop(next(iter(self._views)))
                self._views[key] = found
            return found

    def scores(self, factory_id: str) -> list[dict[str, Any]]:
        """A factory's sub-domain scores per level, as the registry holds them."""
        with self._lock:
            registry = Registry(self.path, read_only=True)
            try:
                table = registry.table("scores")
            finally:
                registry.close()
        return [r for r in table.to_pylist() if r["factory_id"] == factory_id]


# -- JSON ----------------------------------------------------------------------------------------


def density_json(d: Density) -> dict[str, Any]:
    return {
        "robots": d.robots,
        "employees": d.employees,
        "assumed_axes": d.assumed_axes,
        "per_10k": d.per_10k,
    }


def references_json() -> list[dict[str, Any]]:
    return [
        {"name_en": r.name.en, "name_zh": r.name.zh, "per_10k": r.per_10k, "source": r.source}
        for r in REFERENCES
    ]


def gain_json(g: Gain) -> dict[str, Any]:
    m = g.metric
    return {
        "metric": m.id,
        "name_en": m.name.en,
        "name_zh": m.name.zh,
        "baseline": g.baseline,
        "current": g.current,
        "change_pct": g.change_pct,
        "low_pct": g.low_pct,
        "high_pct": g.high_pct,
        "programme_reported_pct": m.programme_pct,
        "improved": g.improved,
    }


def record_json(r: FactoryRecord, *, gains: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "factory_id": r.factory_id,
        "name": r.name,
        "district": r.district,
        "industry": r.industry,
        "certification_year": r.certification_year,
        "level": r.level,
        "total_score": r.total_score,
        "density": density_json(r.density),
    }
    if gains:
        out["gains"] = [gain_json(r.gains[m.id]) for m in METRICS if m.id in r.gains]
    else:
        out["change_pct"] = {k: g.change_pct for k, g in r.gains.items()}
    return out


def factories_json(view: ProgramView, filters: Filters) -> dict[str, Any]:
    rows = [record_json(r) for r in view.records if filters.keep(r)]
    rows.sort(key=lambda r: (-r["total_score"], r["factory_id"]))
    return {
        "count": len(rows),
        "of": len(view.records),
        "districts": sorted({r.district for r in view.records}),
        "industries": sorted({r.industry for r in view.records}),
        "levels": _level_counts(view.records, filters),
        "factories": rows,
    }


def _level_counts(records: list[FactoryRecord], filters: Filters) -> dict[str, int]:
    counts = dict.fromkeys(range(6), 0)
    for r in records:
        if filters.keep(r):
            counts[r.level] += 1
    return {str(k): v for k, v in counts.items()}


def factory_json(
    view: ProgramView, scores: list[dict[str, Any]], factory_id: str
) -> dict[str, Any]:
    """One factory's record with its gains and sub-domain scores by level (names from the
    maturity model, so the radar can label them in either language)."""
    record = next((r for r in view.records if r.factory_id == factory_id), None)
    if record is None:
        raise KeyError(factory_id)
    model = load_model()
    names = {s.id: s.name for s in model.sub_domains}
    levels: dict[int, list[dict[str, Any]]] = {}
    for row in scores:
        name = names.get(row["sub_domain"])
        levels.setdefault(row["level"], []).append(
            {
                "sub_domain": row["sub_domain"],
                "name_en": name.en if name else row["sub_domain"],
                "name_zh": name.zh if name else row["sub_domain"],
                "score": row["score"],
            }
        )
    return {
        **record_json(record, gains=True),
        "sub_domain_scores": [
            {"level": lv, "sub_domains": subs} for lv, subs in sorted(levels.items())
        ],
        "references": references_json(),
    }


def targets_json(view: ProgramView) -> dict[str, Any]:
    return {
        "source": view.programme.source,
        "factories": len(view.records),
        "targets": [
            {
                "id": p.target.id,
                "kind": p.target.kind,
                "year": p.target.year,
                "text_en": p.target.text.en,
                "text_zh": p.target.text.zh,
                "actual": p.actual,
                "goal": p.goal,
                "share": p.target.kind == "share_at_level",
                "met": p.met,
            }
            for p in view.progress
        ],
    }


def group_json(g: GroupRow, rank: int) -> dict[str, Any]:
    return {
        "rank": rank,
        "group": g.group,
        "factories": g.factories,
        "mean_level": g.mean_level,
        "mean_total": g.mean_total,
        "share_level_3_plus": g.share_level_3_plus,
        "median_productivity_pct": g.median_productivity_pct,
        "median_energy_pct": g.median_energy_pct,
        "density": density_json(g.density),
    }


def rankings_json(view: ProgramView) -> dict[str, Any]:
    return {
        "by_district": [group_json(g, i) for i, g in enumerate(view.by_district, start=1)],
        "by_industry": [group_json(g, i) for i, g in enumerate(view.by_industry, start=1)],
    }


def shortlist_json(view: ProgramView) -> dict[str, Any]:
    rule = view.programme.award
    return {
        "award_year": view.award_year,
        "rule": {
            "min_level": rule.min_level,
            "productivity_gain_low_pct_above": rule.productivity_gain_low_pct,
            "energy_change_high_pct_below": rule.energy_change_high_pct,
            "size": rule.size,
        },
        "nominees": [_nominee(n, i) for i, n in enumerate(view.shortlist, start=1)],
    }


def _nominee(n: Nominee, rank: int) -> dict[str, Any]:
    return {"rank": rank, **record_json(n.record), "reasons": list(n.reasons)}


def density_view_json(view: ProgramView) -> dict[str, Any]:
    """Robot density of the whole registry, by industry and by district, against the references."""
    total = sum((r.density for r in view.records), Density(0, 0, 0))

    def rows(groups: list[GroupRow]) -> list[dict[str, Any]]:
        out = [
            {"group": g.group, "factories": g.factories, **density_json(g.density)} for g in groups
        ]
        return sorted(out, key=lambda r: -(r["per_10k"] or 0))

    return {
        "definition": "industrial robots (ISO 8373:2021: three or more programmable axes) per "
        "10,000 employees; a group's density is its robots over its employees",
        "total": density_json(total),
        "by_industry": rows(view.by_industry),
        "by_district": rows(view.by_district),
        "references": references_json(),
    }
