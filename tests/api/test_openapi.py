"""The checked-in OpenAPI document is the served one (regenerate:
``.venv/bin/python -m factoryos.api.openapi docs/openapi.json``)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from factoryos.api.openapi import document
from tests.api.conftest import ROOT


def test_checked_in_openapi_matches_the_app(client: TestClient) -> None:
    served = document(client.app)  # type: ignore[arg-type]
    checked_in = (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")
    assert served == checked_in, (
        "docs/openapi.json drifted: python -m factoryos.api.openapi docs/openapi.json"
    )
    assert client.get("/api/v1/openapi.json").json()["openapi"].startswith("3.1")
