"""A plant's own assessment as JSON for its site's users: level, level and sub-domain scores
(the radar), every requirement with where its score came from, the gaps to the next level, gains
when both periods are given, and robot density against the published figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from factoryos.app.assess import PlantAssessment, Window, assess_plant
from factoryos.app.program_serving import density_json, gain_json, references_json
from factoryos.assess.maturity import load_model
from factoryos.model.plant import Plant
from factoryos.store.protocol import EventStore


def site_assessment_json(
    store: EventStore,
    plant: Plant,
    answers: Path | None,
    window: Window | None = None,
    baseline: Window | None = None,
    current: Window | None = None,
) -> dict[str, Any]:
    result = assess_plant(
        store, plant, answers=answers, window=window, baseline=baseline, current=current
    )
    return assessment_json(result, window)


def assessment_json(result: PlantAssessment, window: Window | None) -> dict[str, Any]:
    a = result.assessment
    model = load_model()
    names = {s.id: s.name for s in model.sub_domains}

    def sub(sid: str) -> dict[str, str]:
        name = names[sid]
        return {"sub_domain": sid, "name_en": name.en, "name_zh": name.zh}

    return {
        "node": result.plant.root_path,
        "window": None if window is None else [window[0].isoformat(), window[1].isoformat()],
        "answers_file": None if result.answers_file is None else Path(result.answers_file).name,
        "type": a.kind.value,
        "level": a.level,
        "total_score": a.total,
        "weights_source": a.weights_source,
        "levels": [
            {
                "level": lv.level,
                "score": lv.score,
                "counts": lv.counts,
                "sub_domains": [
                    {**sub(s.sub_domain), "score": s.score, "weight": s.weight}
                    for s in lv.sub_domains
                ],
            }
            for lv in a.levels
        ],
        "requirements": [
            {
                "id": r.requirement.id,
                "level": r.requirement.level,
                **sub(r.requirement.sub_domain),
                "text_en": r.requirement.text.en,
                "text_zh": r.requirement.text.zh,
                "score": r.score,
                "source": r.source.value,
                "detail": r.detail,
                "evidence": list(r.evidence),
                "self_score": r.self_score,
            }
            for r in a.requirements
        ],
        "gaps": [
            {"id": g.score.requirement.id, "score": g.score.score, "level_points": g.level_points}
            for g in a.gaps
        ],
        "gains": None if result.gains is None else [gain_json(g) for g in result.gains],
        "density": density_json(result.density),
        "references": references_json(),
    }
