"""Twin runs and scenario comparisons as background jobs, read back with progress and result."""

from __future__ import annotations

from fastapi.testclient import TestClient
from ruamel.yaml import YAML

from factoryos.app.service import Service
from tests.api.conftest import ROOT, auth


def test_twin_run_job_reports_figures_and_bottleneck(
    client: TestClient, tokens: dict[str, str], service: Service
) -> None:
    h = auth(tokens, "bob")
    r = client.post(
        "/api/v1/sites/pudong/twin-runs", json={"days": 2, "replications": 2}, headers=h
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert service.jobs.wait(job_id, 120) is not None
    doc = client.get(f"/api/v1/sites/pudong/jobs/{job_id}", headers=h).json()
    assert doc["status"] == "done" and doc["progress"] == 1.0
    result = doc["result"]
    assert result["summary"]["finished"]["n"] == 2
    assert result["bottleneck"] in {p["equipment"] for p in result["pools"]}
    # the job is the other site's business
    assert (
        client.get(f"/api/v1/sites/jiading/jobs/{job_id}", headers=auth(tokens, "ada")).status_code
        == 404
    )


def test_comparison_job_pairs_base_and_scenario(
    client: TestClient, tokens: dict[str, str], service: Service
) -> None:
    scenario = YAML(typ="safe").load(
        (ROOT / "examples" / "scenarios" / "one_shift.yaml").read_text()
    )
    scenario.pop("description")
    h = auth(tokens, "bob")
    body = {"scenario": scenario, "days": 30, "replications": 2}
    r = client.post("/api/v1/sites/pudong/comparisons", json=body, headers=h)
    assert r.status_code == 202, r.text
    job = service.jobs.wait(r.json()["id"], 180)
    assert job is not None and job.status == "done", job
    assert job.result is not None
    rows = {row["name"]: row for row in job.result["rows"]}
    # one shift instead of two: fewer robots finished in the same days
    assert rows["finished"]["scenario"]["mean"] < rows["finished"]["base"]["mean"]


def test_bad_scenario_is_422(client: TestClient, tokens: dict[str, str]) -> None:
    body = {"scenario": {"areas": "not a list"}, "days": 1}
    r = client.post("/api/v1/sites/pudong/comparisons", json=body, headers=auth(tokens, "bob"))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["scenario"]
