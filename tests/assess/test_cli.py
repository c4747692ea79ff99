"""``factoryos assess`` and ``factoryos program`` as a person runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from factoryos.app.assess_report import cjk_font
from factoryos.cli.main import app
from factoryos.store.duckdb_store import DuckDBStore

FIXTURES = Path(__file__).parents[1] / "fixtures"
runner = CliRunner(env={"COLUMNS": "200"})


def test_assess_prints_level_gaps_gains_density(mini_store: DuckDBStore, tmp_path: Path) -> None:
    mini_store_path = _copy(mini_store, tmp_path / "events.duckdb")
    answers = tmp_path / "a.yaml"
    answers.write_text("answers:\n  organisation_strategy.L1.1: 1\n", encoding="utf-8")
    html, pdf = tmp_path / "r.html", tmp_path / "r.pdf"
    result = runner.invoke(
        app,
        [
            "assess", str(FIXTURES / "mini_plant.yaml"), "--db", mini_store_path,
            "--answers", str(answers), "--baseline", "2026-03-02..2026-03-16",
            "--current", "2026-03-16..2026-03-30", "--report", str(html), "--pdf", str(pdf),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "level 0" in result.output  # most requirements unanswered
    assert "Gaps to level 1" in result.output
    assert "Measured gains" in result.output and "+50.0 %" in result.output
    assert "Robot density: 0 industrial robots / 10 employees" in result.output
    page = html.read_text(encoding="utf-8")
    assert "<script src=" not in page  # Plotly inlined: opens offline
    assert pdf.read_bytes().startswith(b"%PDF")


def test_assess_zh_pdf(mini_store: DuckDBStore, tmp_path: Path) -> None:
    if cjk_font() is None:
        pytest.skip("no CJK font installed (scripts/setup.sh installs fonts-noto-cjk)")
    path = _copy(mini_store, tmp_path / "events.duckdb")
    pdf = tmp_path / "r.pdf"
    plant = str(FIXTURES / "mini_plant.yaml")
    result = runner.invoke(
        app, ["assess", plant, "--db", path, "--pdf", str(pdf), "--lang", "zh-CN"]
    )
    assert result.exit_code == 0, result.output
    assert pdf.stat().st_size > 10_000


def test_bad_answers_and_windows_are_one_line_errors(
    mini_store: DuckDBStore, tmp_path: Path
) -> None:
    path = _copy(mini_store, tmp_path / "events.duckdb")
    answers = tmp_path / "a.yaml"
    answers.write_text("answers:\n  data.L1.1: 0.7\n", encoding="utf-8")
    plant = str(FIXTURES / "mini_plant.yaml")
    result = runner.invoke(app, ["assess", plant, "--db", path, "--answers", str(answers)])
    assert result.exit_code == 1
    assert "a.yaml:2: data.L1.1: score 0.7 is not one of 1, 0.8, 0.5, 0" in result.output
    result = runner.invoke(
        app, ["assess", plant, "--db", path, "--baseline", "2025-01-01..2025-01-08",
              "--current", "2026-03-02..2026-03-09"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "baseline: the baseline window" in result.output and "holds no events" in result.output
    assert "Traceback" not in result.output


def test_export_keygen_load_view(mini_store: DuckDBStore, tmp_path: Path) -> None:
    path = _copy(mini_store, tmp_path / "events.duckdb")
    key, doc, reg = tmp_path / "k.pem", tmp_path / "doc.json", tmp_path / "p.duckdb"
    assert runner.invoke(app, ["program", "keygen", str(key)]).exit_code == 0
    result = runner.invoke(
        app,
        ["assess", "export", str(FIXTURES / "mini_plant.yaml"), "--db", path, "--key", str(key),
         "--out", str(doc), "--district", "Minhang", "--year", "2024",
         "--baseline", "2026-03-02..2026-03-16", "--current", "2026-03-16..2026-03-30"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.json"
    bad.write_text(doc.read_text(encoding="utf-8").replace('"Minhang"', '"Pudong"'), "utf-8")
    result = runner.invoke(app, ["program", "load", str(doc), str(bad), "--registry", str(reg)])
    assert result.exit_code == 2  # something was kept aside
    assert "loaded 1: acme/plant1" in result.output
    assert "kept aside" in result.output and "bad signature" in result.output
    html = tmp_path / "p.html"
    result = runner.invoke(app, ["program", "view", "--registry", str(reg), "--report", str(html)])
    assert result.exit_code == 0, result.output
    assert "Minhang" in result.output
    assert "70 new smart factories in 2024" in result.output
    assert html.exists()


def _copy(store: DuckDBStore, path: Path) -> str:
    """A file copy of the shared store (a CLI run opens its own connection)."""
    table = store.events()
    copy = DuckDBStore(str(path))
    copy.append(table)
    copy.close()
    return str(path)
