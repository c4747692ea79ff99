from __future__ import annotations

from pathlib import Path

import pytest

from factoryos.schedule import InstanceFormatError, load_instance, parse_fjsp, parse_jssp
from tests.schedule.conftest import FLEX_TWO, FT06


def test_jssp_parses_jobs_machines_and_durations() -> None:
    p = parse_jssp(FT06, name="ft06")
    assert (len(p.jobs), p.num_machines, p.num_operations) == (6, 6, 36)
    first = p.jobs[0].operations[0].alternatives
    assert [(a.machine, a.duration) for a in first] == [(2, 1)]
    assert not p.is_flexible


def test_fjsp_is_one_based_in_the_file_and_zero_based_inside() -> None:
    p = parse_fjsp(FLEX_TWO)
    alts = p.jobs[0].operations[0].alternatives
    assert [(a.machine, a.duration) for a in alts] == [(0, 3), (1, 5)]
    assert p.is_flexible


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("2 2\n0 3 1 2\n", None),  # a job line is missing
        ("1 2\n0 3 1\n", 2),  # odd number of values
        ("1 2\n0 3 5 2\n", 2),  # machine out of range
        ("1 2\n0 x 1 2\n", 2),  # not a number
    ],
)
def test_jssp_errors_name_the_line(text: str, line: int | None) -> None:
    with pytest.raises(InstanceFormatError) as info:
        parse_jssp(text, path="bad.txt")
    assert info.value.line == line
    assert "bad.txt" in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "1 2\n1 1 3 4\n",  # machine 3 of 2
        "1 2\n2 1 1 4\n",  # second operation missing
        "1 2\n1 1 1 4 9\n",  # trailing value
    ],
)
def test_fjsp_errors(text: str) -> None:
    with pytest.raises(InstanceFormatError):
        parse_fjsp(text)


def test_every_benchmark_file_parses(bench_root: Path) -> None:
    files = sorted(bench_root.glob("jssp/*.txt")) + sorted(bench_root.glob("fjsp/**/*.fjs"))
    assert files
    for f in files:
        p = load_instance(f)
        assert p.num_operations > 0, f
