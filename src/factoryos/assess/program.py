"""The programme view across many factories: targets with progress, rankings by district and
industry, robot density by group, and the award shortlist with its reasons."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from factoryos.assess.density import Density, total_density
from factoryos.assess.gains import Gain
from factoryos.assess.maturity import Text, read_yaml
from factoryos.model.errors import AssessmentError


@dataclass(frozen=True, slots=True)
class FactoryRecord:
    factory_id: str
    name: str
    district: str
    industry: str
    certification_year: int | None
    level: int
    total_score: float
    density: Density
    gains: dict[str, Gain]


@dataclass(frozen=True, slots=True)
class Target:
    id: str
    kind: str  # new_in_year | new_between | total_by_year | share_at_level
    year: int
    text: Text
    count: int = 0
    share: float = 0.0
    min_level: int = 0
    from_year: int = 0


@dataclass(frozen=True, slots=True)
class AwardRule:
    min_level: int
    productivity_gain_low_pct: float
    energy_change_high_pct: float
    size: int


@dataclass(frozen=True, slots=True)
class Programme:
    source: str
    targets: tuple[Target, ...]
    award: AwardRule


@dataclass(frozen=True, slots=True)
class Progress:
    target: Target
    actual: float  # a count, or a share for share_at_level
    goal: float

    @property
    def met(self) -> bool:
        return self.actual >= self.goal


@dataclass(frozen=True, slots=True)
class GroupRow:
    group: str
    factories: int
    mean_level: float
    mean_total: float
    share_level_3_plus: float
    median_productivity_pct: float | None
    median_energy_pct: float | None
    density: Density


@dataclass(frozen=True, slots=True)
class Nominee:
    record: FactoryRecord
    reasons: tuple[str, ...]


@cache
def load_programme(path: str | None = None) -> Programme:
    """The shipped Shanghai programme, or a programme's own file of the same shape."""
    if path is None:
        text = (resources.files("factoryos.assess") / "data" / "programme.yaml").read_text("utf-8")
        data, file = YAML(typ="safe").load(text), "programme.yaml"
    else:
        data, _ = read_yaml(Path(path))
        file = path
    try:
        targets = tuple(_target(t) for t in data["targets"])
        award = AwardRule(**dict(data["award"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise AssessmentError(f"not a programme file: {exc!r}", file=file) from exc
    return Programme(str(data.get("source", file)), targets, award)


def _target(t: Any) -> Target:
    fields = {k: v for k, v in dict(t).items() if k not in ("zh", "en")}
    return Target(text=Text(str(t["zh"]), str(t["en"])), **fields)


def progress(records: Sequence[FactoryRecord], programme: Programme) -> list[Progress]:
    out = []
    for t in programme.targets:
        years = [r.certification_year for r in records if r.certification_year is not None]
        if t.kind == "new_in_year":
            out.append(Progress(t, sum(1 for y in years if y == t.year), t.count))
        elif t.kind == "new_between":
            out.append(Progress(t, sum(1 for y in years if t.from_year <= y <= t.year), t.count))
        elif t.kind == "total_by_year":
            out.append(Progress(t, sum(1 for y in years if y <= t.year), t.count))
        elif t.kind == "share_at_level":
            cohort = [r for r in records if r.certification_year == t.year]
            upper = sum(1 for r in cohort if r.level >= t.min_level)
            out.append(Progress(t, upper / len(cohort) if cohort else 0.0, t.share))
        else:
            raise AssessmentError(f"unknown target kind {t.kind!r}", item=t.id)
    return out


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def rankings(
    records: Sequence[FactoryRecord], key: Callable[[FactoryRecord], str]
) -> list[GroupRow]:
    """One row per group (district, industry...), best mean total score first."""
    groups: dict[str, list[FactoryRecord]] = defaultdict(list)
    for r in records:
        groups[key(r)].append(r)
    rows = []
    for name, members in groups.items():
        rows.append(
            GroupRow(
                group=name,
                factories=len(members),
                mean_level=statistics.fmean(r.level for r in members),
                mean_total=statistics.fmean(r.total_score for r in members),
                share_level_3_plus=sum(1 for r in members if r.level >= 3) / len(members),
                median_productivity_pct=_median(
                    _changes(members, "value_added_per_labour_hour_cny")
                ),
                median_energy_pct=_median(_changes(members, "energy_per_10k_cny_value_added_kwh")),
                density=total_density(r.density for r in members),
            )
        )
    return sorted(rows, key=lambda g: (-g.mean_total, g.group))


def _changes(records: Sequence[FactoryRecord], metric: str) -> list[float]:
    out = []
    for r in records:
        g = r.gains.get(metric)
        if g is not None and g.change_pct is not None:
            out.append(g.change_pct)
    return out


def shortlist(records: Sequence[FactoryRecord], year: int, rule: AwardRule) -> list[Nominee]:
    """Factories certified by ``year`` that meet every rule, best total score first, with why."""
    nominees = []
    for r in records:
        if r.certification_year is None or r.certification_year > year or r.level < rule.min_level:
            continue
        prod = r.gains.get("value_added_per_labour_hour_cny")
        energy = r.gains.get("energy_per_10k_cny_value_added_kwh")
        if prod is None or prod.low_pct is None or prod.low_pct <= rule.productivity_gain_low_pct:
            continue
        if (
            energy is None
            or energy.high_pct is None
            or energy.high_pct >= rule.energy_change_high_pct
        ):
            continue
        reasons = [
            f"level {r.level} (total {r.total_score:.2f}) >= {rule.min_level}",
            f"productivity {prod.change_pct:+.1f} % [{prod.low_pct:+.1f}, {prod.high_pct:+.1f}]",
            f"energy per 10k CNY VA {energy.change_pct:+.1f} % "
            f"[{energy.low_pct:+.1f}, {energy.high_pct:+.1f}]",
        ]
        per = r.density.per_10k
        if per is not None and per >= 383:
            reasons.append(f"robot density {per:.0f} >= 383 (Shanghai key industries)")
        nominees.append(Nominee(r, tuple(reasons)))
    nominees.sort(key=lambda n: (-n.record.total_score, n.record.factory_id))
    return nominees[: rule.size]
