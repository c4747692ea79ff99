"""The maintenance risk view: units scored from stored samples by the AI4I classifier, the
threshold, a window placed in the plan in force; roles and site scoping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from factoryos.api import create_app
from factoryos.app.service import Service, ServiceSettings
from factoryos.model.events import SensorSample
from factoryos.reliability.risk import SENSORS
from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.users import DuckDBUserStore
from tests.reliability.plants import RELIABILITY_PLANT, reliability_plant

AI4I_SAMPLE = Path(__file__).resolve().parents[1] / "reliability" / "data" / "ai4i2020_sample.csv"
T0 = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
STRAINED = [300.0, 310.0, 1300.0, 65.0, 220.0, 0.0]  # worn tool under high torque
CALM = [300.0, 310.0, 1500.0, 40.0, 10.0, 0.0]
ORDERS = (
    "order,product,quantity,release,due\n"
    "SO-1,part,6,2026-03-02T00:00Z,2026-03-02T20:00Z\n"
    "SO-2,part,6,2026-03-02T00:00Z,2026-03-02T22:00Z\n"
)
PASSWORD = "correct horse"
USERS = {
    "mia": ("maintenance", "works"),
    "vic": ("viewer", "works"),
    "oli": ("maintenance", "other"),
}
FAST = {"horizon_h": 16, "step_h": 8, "duration_h": 4, "time_limit_s": 0.5}


def risk_service(tmp: Path) -> Service:
    """Sites ``works`` (mill 1 strained, mill 2 calm, mill 3 lacking sensors) and ``other``;
    users of both; the classifier's data is the shipped AI4I sample."""
    works = tmp / "works.yaml"
    works.write_text(RELIABILITY_PLANT, encoding="utf-8")
    other = tmp / "other.yaml"
    other.write_text(RELIABILITY_PLANT.replace("{id: works,", "{id: other,"), encoding="utf-8")
    store = DuckDBStore(":memory:")
    mill1, mill2, mill3 = (u.path for u in reliability_plant().work_units[:3])
    store.append(
        [
            SensorSample(f"{path}-{sensor}", T0, path, sensor, value)
            for path, values in ((mill1, STRAINED), (mill2, CALM))
            for sensor, value in zip(SENSORS, values, strict=True)
        ]
        + [SensorSample("m3", T0, mill3, "torque", 40.0)]  # mill 3 lacks sensors
    )
    settings = ServiceSettings(
        (works, other), db=":memory:", work_dir=tmp / "work", risk_data=AI4I_SAMPLE
    )
    svc = Service(settings, store=store, users=DuckDBUserStore(":memory:"))
    for name, (role, site) in USERS.items():
        svc.accounts.add(name, PASSWORD)
        svc.accounts.grant(name, role, site)
    return svc


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    svc = risk_service(tmp_path_factory.mktemp("risk"))
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def client(service: Service) -> Iterator[TestClient]:
    with TestClient(create_app(service.settings, service=service)) as c:
        yield c


def _auth(client: TestClient, name: str) -> dict[str, Any]:
    r = client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _ready(client: TestClient, headers: dict[str, Any], **params: Any) -> dict[str, Any]:
    """The answer once the classifier (trained in a thread on the first request) is ready."""
    first = client.get("/api/v1/sites/works/risk", params=params, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["model"]["status"] in ("training", "ready")
    client.app.state.risk_models.wait(60.0)  # type: ignore[attr-defined]
    r = client.get("/api/v1/sites/works/risk", params=params, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["model"]["status"] == "ready", body
    return body


def test_risky_unit_is_flagged_and_without_a_plan_the_answer_says_so(client: TestClient) -> None:
    body = _ready(client, _auth(client, "mia"), threshold=0.5, **FAST)
    units = body["units"]
    assert [u["path"].rsplit("/", 2)[-2:] for u in units] == [
        ["mill", "1"],
        ["mill", "2"],
        ["mill", "3"],
    ]
    assert units[0]["risk"] > 0.8 > 0.2 > units[1]["risk"]
    assert [u["above_threshold"] for u in units] == [True, False, False]
    assert units[2]["risk"] is None and "air_temperature" in units[2]["missing"]
    assert body["threshold"] == 0.5 and body["plan"] is None
    assert "no solved plan in force" in body["note"]
    assert units[0]["window"] is None


def test_a_window_is_placed_in_the_plan_in_force(client: TestClient, service: Service) -> None:
    plans = service.plans["works"]
    plan_id = plans.new(ORDERS, "weighted_tardiness")
    plans.solve(plan_id, 1.0, lambda _: None)
    headers = _auth(client, "mia")
    body = _ready(client, headers, threshold=0.5, **FAST)
    assert body["plan"] == plan_id
    risky = body["units"][0]
    window = risky["window"]
    assert window is not None and len(risky["candidates"]) == 2
    assert window == risky["candidates"][0]
    starts = {c["start"] for c in risky["candidates"]}
    assert starts == {(T0 + dt.timedelta(microseconds=1, hours=h)).isoformat() for h in (0, 8)}
    # cheapest first: tardiness added, then lost capacity
    keys = [(c["added_weighted_tardiness_h"], c["lost_capacity_h"]) for c in risky["candidates"]]
    assert keys == sorted(keys)
    assert all(c["lost_capacity_h"] >= 0 for c in risky["candidates"])
    assert body["units"][1]["window"] is None  # calm: no window
    # a lower threshold flags the calm unit too
    low = client.get(
        "/api/v1/sites/works/risk", params={**FAST, "threshold": 0.0}, headers=headers
    ).json()
    assert [u["above_threshold"] for u in low["units"]] == [True, True, False]


def test_roles_and_sites(client: TestClient) -> None:
    viewer = client.get("/api/v1/sites/works/risk", headers=_auth(client, "vic"))
    assert viewer.status_code == 403
    stranger = client.get("/api/v1/sites/works/risk", headers=_auth(client, "oli"))
    assert stranger.status_code == 404
    own = client.get("/api/v1/sites/other/risk", headers=_auth(client, "oli"))
    assert own.status_code == 200 and "works" not in own.text
    assert client.get("/api/v1/sites/works/risk").status_code == 401
