"""The registry loads a batch of signed documents, keeps the bad ones aside with their reason."""

from __future__ import annotations

import json
from pathlib import Path

from factoryos.app.assess import assess_plant
from factoryos.app.assess_export import build_document
from factoryos.app.program import load_documents, open_registry, program_view
from factoryos.assess.exchange import new_private_key_pem, sign
from factoryos.model.plant import Plant
from factoryos.store.duckdb_store import DuckDBStore
from tests.assess.conftest import START


def test_a_batch_with_bad_documents(
    mini_store: DuckDBStore, mini_plant: Plant, tmp_path: Path
) -> None:
    import datetime as dt

    mid, end = START + dt.timedelta(days=14), START + dt.timedelta(days=28)
    result = assess_plant(mini_store, mini_plant, baseline=(START, mid), current=(mid, end))
    key = new_private_key_pem()
    doc = sign(build_document(result, district="Jiading", industry="machinery", year=2024), key)
    good = tmp_path / "good.json"
    good.write_text(doc.model_dump_json(by_alias=True), encoding="utf-8")
    raw = json.loads(good.read_text(encoding="utf-8"))
    raw["assessment"]["total_score"] = 4.9
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(raw), encoding="utf-8")
    raw = json.loads(good.read_text(encoding="utf-8"))
    raw["version"] = 0
    old = tmp_path / "old.json"
    old.write_text(json.dumps(raw), encoding="utf-8")
    other_key = tmp_path / "other_key.json"
    other_key.write_text(
        sign(build_document(result), new_private_key_pem()).model_dump_json(by_alias=True),
        encoding="utf-8",
    )

    registry = open_registry(tmp_path / "programme.duckdb")
    try:
        outcome = load_documents(registry, [tampered, good, old, good, other_key])
        assert outcome.loaded == ["acme/plant1", "acme/plant1"]  # the same document twice
        assert registry.count() == 1  # idempotent
        reasons = dict(outcome.rejected)
        assert "bad signature" in reasons[str(tampered)]
        assert "version 0 is not" in reasons[str(old)]
        assert "another key than 'acme/plant1'" in reasons[str(other_key)]
        assert registry.table("rejected").num_rows == 3

        view = program_view(registry, 2025, resamples=200)
        [rec] = view.records
        assert rec.district == "Jiading" and rec.certification_year == 2024
        assert rec.gains["oee"].change_pct is not None
        assert rec.gains["oee"].change_pct == result.gains[-1].change_pct  # type: ignore[index]
        assert [g.group for g in view.by_industry] == ["machinery"]
    finally:
        registry.close()
