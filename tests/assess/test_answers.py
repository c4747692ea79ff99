"""The answers file: good files load, bad ones name file, line and item."""

from __future__ import annotations

from pathlib import Path

import pytest

from factoryos.assess.answers import load_answers
from factoryos.assess.maturity import ManufacturingType, load_model
from factoryos.assess.scoring import Source
from factoryos.model.errors import AssessmentError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "answers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_long_and_short_forms(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "type: process\nanswers:\n"
        "  organisation_strategy.L1.1: {score: 1, evidence: [https://x/plan.pdf], note: plan}\n"
        "  data.L3.1: 0.8\n",
    )
    answers = load_answers(path, load_model())
    assert answers.kind is ManufacturingType.PROCESS
    first = answers.scores["organisation_strategy.L1.1"]
    assert (first.score, first.evidence, first.detail) == (1.0, ("https://x/plan.pdf",), "plan")
    assert first.source is Source.SELF_ASSESSMENT
    assert answers.scores["data.L3.1"].score == 0.8


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "answers:\n  data.L1.1: 1\n  data.L9.1: 1\n",
            r"answers\.yaml:3: data\.L9\.1: unknown requirement",
        ),
        ("answers:\n  data.L1.1: 0.7\n", r"answers\.yaml:2: data\.L1\.1: score 0\.7 is not one of"),
        ("answers:\n  data.L1.1: {score: yes}\n", r":2: data\.L1\.1: score 'yes' is not one of"),
        ("type: chemical\n", r"answers\.yaml:1: type: type 'chemical' is neither"),
        (
            "type: process\nanswers:\n  product_design.L1.1: 1\n",
            r":3: product_design\.L1\.1: sub-domain 'product_design' is not assessed",
        ),
        (
            "answers:\n  data.L1.1: {score: 1, proof: x}\n",
            r":2: data\.L1\.1: unknown field 'proof'",
        ),
        ("answers: [1, 2]\n", r":1: answers: answers must map"),
        ("answers:\n  - : [\n", r"answers\.yaml.*not YAML"),
    ],
)
def test_bad_answers_name_file_line_and_item(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(AssessmentError, match=message):
        load_answers(write(tmp_path, text), load_model())
