"""Scoring per GB/T 39117: requirement scores -> sub-domain scores -> level scores -> level.

- a requirement is fully / mostly / partly / not met: 1 / 0.8 / 0.5 / 0;
- a sub-domain's score at a level is the mean of its requirement scores at that level;
- a level's score is the weighted sum of its sub-domain scores (weights renormalised over the
  applicable sub-domains that have requirements at that level);
- a level counts when its score is >= 0.8 and every lower level counts;
- the total score S maps to the level by the published thresholds (standards.md 7.2).

How S is built from the level scores is our reading, chosen so that the thresholds and the
"counts" rule always agree: with n the number of levels that count, every counted level below
the n-th contributes 1, the n-th its own score, and the first level that does not count its
score (S = s1 when n = 0; S = 4 + s5 when n = 5). So S lies in [n - 0.2, n + 0.8) and the
thresholds give back n. [verify against the text of GB/T 39117]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from factoryos.assess.maturity import LEVELS, ManufacturingType, MaturityModel, Requirement

PASS = 0.8
"""A level counts when its score reaches this (GB/T 39117)."""
LEVEL_OF_TOTAL: tuple[tuple[float, int], ...] = ((4.8, 5), (3.8, 4), (2.8, 3), (1.8, 2), (0.8, 1))
"""Published thresholds: the lowest total score S of each level, highest first."""
_EPS = 1e-9  # sums of 0.8s are not exact in binary; 0.8 reached up to rounding counts as 0.8


class Source(StrEnum):
    """Where a requirement's score came from."""

    PLATFORM = "platform"  # measured from the event store and the plant model
    SELF_ASSESSMENT = "self_assessment"  # the answers file
    UNANSWERED = "unanswered"  # neither: scored 0


@dataclass(frozen=True, slots=True)
class RequirementScore:
    """A requirement's score, its source and what backs it (measurement or evidence links)."""

    requirement: Requirement
    score: float
    source: Source
    detail: str = ""
    evidence: tuple[str, ...] = ()
    self_score: float | None = None  # the answers file's score when the platform overrode it


@dataclass(frozen=True, slots=True)
class SubDomainScore:
    sub_domain: str
    level: int
    score: float
    weight: float  # normalised within the level


@dataclass(frozen=True, slots=True)
class LevelScore:
    level: int
    score: float
    counts: bool
    sub_domains: tuple[SubDomainScore, ...]


@dataclass(frozen=True, slots=True)
class Gap:
    """A requirement of the next level not fully met, and what meeting it adds to that level."""

    score: RequirementScore
    level_points: float


@dataclass(frozen=True, slots=True)
class Assessment:
    kind: ManufacturingType
    levels: tuple[LevelScore, ...]
    total: float
    level: int  # 0: not even level 1
    requirements: tuple[RequirementScore, ...]
    gaps: tuple[Gap, ...]
    weights_source: str

    def level_score(self, level: int) -> LevelScore:
        return self.levels[level - 1]


def level_of_total(total: float) -> int:
    """The level the published thresholds give a total score S (0 below 0.8)."""
    return next((lv for low, lv in LEVEL_OF_TOTAL if total >= low - _EPS), 0)


def total_score(level_scores: Mapping[int, float]) -> float:
    """S from the five level scores (see the module docstring)."""
    n = counted_levels(level_scores)
    if n == 0:
        return level_scores[1]
    if n == len(LEVELS):
        return n - 1 + level_scores[n]
    return n - 1 + level_scores[n] + level_scores[n + 1]


def counted_levels(level_scores: Mapping[int, float]) -> int:
    """How many levels count: consecutive from level 1, each with a score >= 0.8."""
    n = 0
    for level in LEVELS:
        if level_scores[level] < PASS - _EPS:
            break
        n = level
    return n


def assess(
    model: MaturityModel, kind: ManufacturingType, scores: Mapping[str, RequirementScore]
) -> Assessment:
    """Score every level; requirements missing from ``scores`` count 0 as unanswered."""
    subs = model.applicable(kind)
    weights = model.weights[kind]
    every = tuple(
        scores.get(r.id) or RequirementScore(r, 0.0, Source.UNANSWERED)
        for s in subs
        for r in s.requirements
    )
    by_id = {s.requirement.id: s for s in every}
    levels: list[LevelScore] = []
    for level in LEVELS:
        present = [s for s in subs if s.at(level) and weights.get(s.id, 0.0) > 0]
        total_weight = sum(weights[s.id] for s in present)
        rows = tuple(
            SubDomainScore(
                s.id,
                level,
                sum(by_id[r.id].score for r in s.at(level)) / len(s.at(level)),
                weights[s.id] / total_weight,
            )
            for s in present
        )
        score = round(sum(r.score * r.weight for r in rows), 9)
        levels.append(LevelScore(level, score, False, rows))
    raw = {lv.level: lv.score for lv in levels}
    n = counted_levels(raw)
    levels = [LevelScore(v.level, v.score, v.level <= n, v.sub_domains) for v in levels]
    total = round(total_score(raw), 9)
    return Assessment(
        kind=kind,
        levels=tuple(levels),
        total=total,
        level=level_of_total(total),
        requirements=every,
        gaps=_gaps(levels, n, by_id, model) if n < len(LEVELS) else (),
        weights_source=model.weights_source,
    )


def _gaps(
    levels: list[LevelScore],
    n: int,
    by_id: Mapping[str, RequirementScore],
    model: MaturityModel,
) -> tuple[Gap, ...]:
    """Requirements of the first level that does not count, largest level-score gain first."""
    target = levels[n]
    subs = {s.id: s for s in model.sub_domains}
    gaps = []
    for row in target.sub_domains:
        reqs = subs[row.sub_domain].at(target.level)
        for r in reqs:
            score = by_id[r.id]
            if score.score < 1.0:
                gain = row.weight * (1.0 - score.score) / len(reqs)
                gaps.append(Gap(score, round(gain, 9)))
    return tuple(sorted(gaps, key=lambda g: (-g.level_points, g.score.requirement.id)))
