"""docs/model.md is generated from the model and stays in step with it."""

from __future__ import annotations

import re
from pathlib import Path

from factoryos.model.plant import Plant
from factoryos.model.reference import EXAMPLES, _example_documents, main, render
from factoryos.model.reference import model_classes as classes

from .plants import REPO

DOC = REPO / "docs" / "model.md"


def test_docs_model_md_is_the_generated_reference() -> None:
    # On failure: python -m factoryos.model.reference --write docs/model.md
    assert DOC.read_text(encoding="utf-8") == render(_example_documents(EXAMPLES))
    assert main(["--check", str(DOC)]) == 0


def test_check_fails_on_a_drifted_file(tmp_path: Path) -> None:
    stale = tmp_path / "model.md"
    stale.write_text(DOC.read_text(encoding="utf-8").replace("| `calendar` |", "| `cal` |"))
    assert main(["--check", str(stale)]) == 1
    assert main(["--write", str(stale)]) == 0
    assert main(["--check", str(stale)]) == 0


def test_every_field_has_a_meaning_and_an_example() -> None:
    # A new field needs a docstring (or a note in reference_notes.NOTES) and, until an example
    # plant uses it, an example in reference_notes.EXAMPLES.
    text = DOC.read_text(encoding="utf-8")
    for cls in classes(Plant):
        section = text.split(f"\n## {cls.__name__}\n", 1)[1].split("\n## ", 1)[0]
        rows = [r for r in section.splitlines() if r.startswith("| `")]
        assert len(rows) == len(cls.model_fields)
        for row in rows:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]
            key, type_, _, _, meaning, example = cells
            key = key.strip("`")
            assert meaning, f"{cls.__name__}.{key} has no meaning"
            # a field that holds models links to their section, which has the examples
            assert example or "](#" in type_, f"{cls.__name__}.{key} has no example"


def test_the_per_line_calendar_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    line_section = text.split("## Line\n", 1)[1].split("\n## ", 1)[0]
    row = next(r for r in line_section.splitlines() if r.startswith("| `calendar` |"))
    assert "default_calendar" in row and row.rstrip(" |").endswith("`")  # with an example
