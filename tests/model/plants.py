"""Plants and helpers shared by the plant-model tests: a tiny valid plant and ways to break it."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MINI = (REPO / "tests" / "fixtures" / "mini_plant.yaml").read_text(encoding="utf-8")
"""The tiny valid plant of tests/fixtures (two CNC units and a bench, one shift)."""
ROBOT_FACTORY = REPO / "examples" / "robot_factory.yaml"


def line_with(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based number of the line holding the ``occurrence``-th ``needle`` in ``text``."""
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not in text")


def replaced(old: str, new: str, text: str = MINI) -> str:
    """``text`` with exactly one ``old`` replaced, so a typo in a test cannot pass silently."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)
