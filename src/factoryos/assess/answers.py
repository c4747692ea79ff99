"""A self-assessment answers file: per requirement a GB/T 39117 score and evidence links.

    type: discrete                 # or process (GB/T 39116 sub-domain set)
    answers:
      organisation_strategy.L1.1: {score: 1, evidence: [https://intranet/plan-2025.pdf]}
      data.L3.1: 0.8               # short form: the score alone

Unknown requirement ids and scores outside {1, 0.8, 0.5, 0} are errors that name the file, the
line and the item, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factoryos.assess.maturity import SCORES, ManufacturingType, MaturityModel, read_yaml
from factoryos.assess.scoring import RequirementScore, Source
from factoryos.model.errors import AssessmentError


@dataclass(frozen=True, slots=True)
class Answers:
    kind: ManufacturingType
    scores: dict[str, RequirementScore]
    file: str


def load_answers(path: str | Path, model: MaturityModel) -> Answers:
    """Read and check an answers file against ``model``."""
    data, lines = read_yaml(Path(path))
    return parse_answers(data, lines, str(path), model)


def parse_answers(data: Any, lines: Mapping[str, int], file: str, model: MaturityModel) -> Answers:
    if not isinstance(data, Mapping):
        raise AssessmentError("expected a mapping at the top", file=file, line=1)
    unknown = set(data) - {"type", "plant", "answers"}
    if unknown:
        key = sorted(unknown)[0]
        raise AssessmentError(
            "unknown key (expected type, plant, answers)", file=file, line=lines.get(key), item=key
        )
    raw_kind = data.get("type", ManufacturingType.DISCRETE.value)
    try:
        kind = ManufacturingType(raw_kind)
    except ValueError:
        raise AssessmentError(
            f"type {raw_kind!r} is neither 'discrete' nor 'process'",
            file=file,
            line=lines.get("type"),
            item="type",
        ) from None
    answers = data.get("answers") or {}
    if not isinstance(answers, Mapping):
        raise AssessmentError(
            "answers must map requirement ids to scores",
            file=file,
            line=lines.get("answers"),
            item="answers",
        )
    requirements = model.requirements
    excluded = model.excluded[kind]
    scores: dict[str, RequirementScore] = {}
    for req_id, answer in answers.items():
        line = lines.get(f"answers.{req_id}")
        requirement = requirements.get(str(req_id))
        if requirement is None:
            raise AssessmentError("unknown requirement", file=file, line=line, item=str(req_id))
        if requirement.sub_domain in excluded:
            raise AssessmentError(
                f"sub-domain {requirement.sub_domain!r} is not assessed for {kind.value} "
                "manufacturers",
                file=file,
                line=line,
                item=str(req_id),
            )
        score, evidence, note = _answer(answer, file, line, str(req_id))
        scores[requirement.id] = RequirementScore(
            requirement, score, Source.SELF_ASSESSMENT, note, evidence
        )
    return Answers(kind, scores, file)


def _answer(
    answer: Any, file: str, line: int | None, item: str
) -> tuple[float, tuple[str, ...], str]:
    if isinstance(answer, Mapping):
        extra = set(answer) - {"score", "evidence", "note"}
        if extra:
            raise AssessmentError(
                f"unknown field {sorted(extra)[0]!r} (expected score, evidence, note)",
                file=file,
                line=line,
                item=item,
            )
        raw, evidence, note = answer.get("score"), answer.get("evidence", ()), answer.get("note")
    else:
        raw, evidence, note = answer, (), None
    if isinstance(evidence, str):
        evidence = (evidence,)
    if isinstance(raw, bool) or not isinstance(raw, int | float) or float(raw) not in SCORES:
        raise AssessmentError(
            f"score {raw!r} is not one of 1, 0.8, 0.5, 0", file=file, line=line, item=item
        )
    if not all(isinstance(e, str) for e in evidence):
        raise AssessmentError("evidence must be links (strings)", file=file, line=line, item=item)
    return float(raw), tuple(evidence), str(note or "")
