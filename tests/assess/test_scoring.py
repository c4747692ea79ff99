"""Known answers of GB/T 39117 scoring, computed by hand on the shipped model (equal weights)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factoryos.assess.maturity import ManufacturingType, load_model
from factoryos.assess.scoring import (
    RequirementScore,
    Source,
    assess,
    counted_levels,
    level_of_total,
    total_score,
)
from factoryos.model.errors import AssessmentError

D = ManufacturingType.DISCRETE


def scores(by_level: dict[int, float], **override: float) -> dict[str, RequirementScore]:
    """Every requirement at its level's score, with some ids overridden (dots as __)."""
    out = {}
    for rid, req in load_model().requirements.items():
        value = override.get(rid.replace(".", "__"), by_level.get(req.level, 0.0))
        out[rid] = RequirementScore(req, value, Source.SELF_ASSESSMENT)
    return out


def test_the_model_has_the_standard_structure() -> None:
    model = load_model()
    assert len(model.elements) == 4
    assert len(model.domains) == 12
    assert len(model.sub_domains) == 20
    assert [lv.level for lv in model.levels] == [1, 2, 3, 4, 5]
    assert all(s.at(level) for s in model.sub_domains for level in range(1, 6))
    assert len(model.applicable(ManufacturingType.PROCESS)) == 19


def test_three_levels_fully_met_is_level_3() -> None:
    result = assess(load_model(), D, scores({1: 1, 2: 1, 3: 1}))
    assert [lv.score for lv in result.levels] == [1, 1, 1, 0, 0]
    assert result.total == 3.0  # 2 + s3 (1) + s4 (0)
    assert result.level == 3


def test_exactly_0_8_counts() -> None:
    # L1 all 0.8 -> 20 x 0.8 / 20 = 0.8 (counts); L2 all 0.5 -> S = 0.8 + 0.5 = 1.3 -> L1
    result = assess(load_model(), D, scores({1: 0.8, 2: 0.5}))
    assert result.level_score(1).score == 0.8
    assert result.level_score(1).counts
    assert result.total == 1.3
    assert result.level == 1


def test_just_under_0_8_does_not_count() -> None:
    # one L1 requirement at 0.5 instead of 0.8: (19 x 0.8 + 0.5) / 20 = 0.785
    result = assess(load_model(), D, scores({1: 0.8, 2: 1}, data__L1__1=0.5))
    assert result.level_score(1).score == 0.785
    assert not result.level_score(1).counts
    assert not result.level_score(2).counts  # 1.0, but level 1 does not count
    assert result.total == 0.785
    assert result.level == 0


def test_a_high_level_met_while_a_lower_one_is_not() -> None:
    result = assess(load_model(), D, scores({1: 0.5, 2: 1, 3: 1, 4: 1, 5: 1}))
    assert result.level_score(1).score == 0.5
    assert [lv.counts for lv in result.levels] == [False] * 5
    assert result.total == 0.5
    assert result.level == 0
    assert all(g.score.requirement.level == 1 for g in result.gaps)


def test_sub_domain_mean_and_weighted_level_score() -> None:
    # L3: data has two requirements (1 and 0.5 -> mean 0.75), sales 0.8, 18 others 1:
    # (18 + 0.75 + 0.8) / 20 = 0.9775. L4 all 0.8 counts, L5 0.5: S = 3 + 0.8 + 0.5 = 4.3 -> L4.
    result = assess(
        load_model(),
        D,
        scores({1: 1, 2: 1, 3: 1, 4: 0.8, 5: 0.5}, data__L3__2=0.5, sales__L3__1=0.8),
    )
    data_l3 = next(s for s in result.level_score(3).sub_domains if s.sub_domain == "data")
    assert data_l3.score == 0.75
    assert data_l3.weight == 0.05
    assert result.level_score(3).score == 0.9775
    assert result.total == 4.3
    assert result.level == 4
    # gaps: every L5 requirement (20) at 0.5, each worth 1/20 x 0.5 = 0.025 of the L5 score
    assert len(result.gaps) == 20
    assert {g.level_points for g in result.gaps} == {0.025}


def test_all_met_is_level_5() -> None:
    result = assess(load_model(), D, scores({1: 1, 2: 1, 3: 1, 4: 1, 5: 1}))
    assert (result.total, result.level, result.gaps) == (5.0, 5, ())


def test_process_set_leaves_product_design_out() -> None:
    # 19 sub-domains; one L1 requirement at 0 -> 18 / 19
    result = assess(load_model(), ManufacturingType.PROCESS, scores({1: 1}, sales__L1__1=0.0))
    assert result.level_score(1).score == round(18 / 19, 9)
    assert "product_design" not in {s.sub_domain for s in result.level_score(1).sub_domains}


def test_unanswered_requirements_score_0() -> None:
    result = assess(load_model(), D, {})
    assert {r.source for r in result.requirements} == {Source.UNANSWERED}
    assert result.level == 0


@pytest.mark.parametrize(
    ("total", "level"),
    [
        (0.0, 0),
        (0.79, 0),
        (0.8, 1),
        (1.79, 1),
        (1.8, 2),
        (2.8, 3),
        (3.8, 4),
        (4.79, 4),
        (4.8, 5),
        (5, 5),
    ],
)
def test_published_thresholds(total: float, level: int) -> None:
    assert level_of_total(total) == level


@given(st.lists(st.floats(0, 1), min_size=5, max_size=5))
def test_thresholds_agree_with_the_counting_rule(values: list[float]) -> None:
    level_scores = dict(enumerate(values, start=1))
    assert level_of_total(total_score(level_scores)) == counted_levels(level_scores)


def test_a_programme_weights_file_overrides(tmp_path: Path) -> None:
    # data weighs 21 of 40: L1 with data 0 and the other 19 at 1 -> 19 / 40 = 0.475
    file = tmp_path / "w.yaml"
    file.write_text("source: programme X 2025\ndiscrete:\n  data: 21\n", encoding="utf-8")
    model = load_model().with_weights(file)
    result = assess(model, D, scores({1: 1}, data__L1__1=0.0))
    assert result.level_score(1).score == 0.475
    assert result.weights_source == "programme X 2025"


def test_a_bad_weights_file_names_file_line_and_item(tmp_path: Path) -> None:
    file = tmp_path / "w.yaml"
    file.write_text("discrete:\n  data: 1\n  dataa: 2\n", encoding="utf-8")
    with pytest.raises(AssessmentError, match=r"w\.yaml:3: dataa: unknown sub-domain"):
        load_model().with_weights(file)
