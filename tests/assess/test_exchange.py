"""The signed KPI exchange document: round trip, tampering, wrong version, the schema in docs/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factoryos.app.assess import assess_plant
from factoryos.app.assess_export import build_document
from factoryos.assess.exchange import json_schema, new_private_key_pem, read_document, sign
from factoryos.model.errors import AssessmentError
from factoryos.model.plant import Plant
from factoryos.store.duckdb_store import DuckDBStore

DOCS = Path(__file__).parents[2] / "docs"


@pytest.fixture(scope="module")
def signed(mini_store: DuckDBStore, mini_plant: Plant) -> str:
    doc = build_document(assess_plant(mini_store, mini_plant), district="Jiading", year=2024)
    return sign(doc, new_private_key_pem()).model_dump_json(by_alias=True)


def test_a_signed_document_reads_back(signed: str) -> None:
    doc = read_document(signed, "a.json")
    assert doc.factory.id == "acme/plant1"
    assert doc.factory.district == "Jiading"
    assert len(doc.assessment.level_scores) == 5


def test_a_changed_figure_breaks_the_signature(signed: str) -> None:
    raw = json.loads(signed)
    raw["assessment"]["level"] = 5
    with pytest.raises(AssessmentError, match=r"a\.json: signature: bad signature"):
        read_document(json.dumps(raw), "a.json")


def test_another_schema_version_is_refused_by_name(signed: str) -> None:
    raw = json.loads(signed)
    raw["version"] = 2
    with pytest.raises(AssessmentError, match=r"b\.json: version: .* version 2 is not"):
        read_document(json.dumps(raw), "b.json")


def test_a_malformed_document_names_the_field(signed: str) -> None:
    raw = json.loads(signed)
    raw["robot_density"]["robots"] = -1
    with pytest.raises(AssessmentError, match=r"c\.json: robot_density\.robots: "):
        read_document(json.dumps(raw), "c.json")


def test_the_documented_schema_is_the_code_schema() -> None:
    on_disk = json.loads((DOCS / "kpi-exchange.schema.json").read_text(encoding="utf-8"))
    assert on_disk == json_schema()


def test_the_documented_example_verifies() -> None:
    text = (DOCS / "kpi-exchange.example.json").read_text(encoding="utf-8")
    doc = read_document(text, "kpi-exchange.example.json")
    assert doc.factory.district == "Jiading"
    assert doc.gains is not None and len(doc.gains) == 5
