"""A service over two sites (the robot plant as ``jiading`` and a copy as ``pudong``), two
simulated days of each in one in-memory store, and users with different roles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from factoryos.api import create_app
from factoryos.app.accounts import Accounts
from factoryos.app.service import Service, ServiceSettings
from factoryos.app.simulation import run_simulation
from factoryos.model import load_plant
from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.users import DuckDBUserStore

ROOT = Path(__file__).resolve().parents[2]
PLANT_A = ROOT / "examples" / "robot_factory.yaml"
SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY0 = dt.datetime(2026, 3, 2, tzinfo=SHANGHAI)  # a Monday
PASSWORD = "correct horse"

USERS = {
    "ada": [("admin", "jiading")],
    "vic": [("viewer", "jiading")],
    "pia": [("planner", "jiading")],
    "bob": [("engineer", "pudong")],
    "ola": [("program_officer", "*")],
}


def _plant_b(tmp: Path) -> Path:
    text = PLANT_A.read_text(encoding="utf-8").replace("  id: jiading\n", "  id: pudong\n", 1)
    path = tmp / "pudong.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("api")
    plant_b = _plant_b(tmp)
    store = DuckDBStore(":memory:")
    for path in (PLANT_A, plant_b):
        run_simulation(load_plant(path), days=2, seed=1, start=DAY0, store=store)
    settings = ServiceSettings((PLANT_A, plant_b), db=":memory:", work_dir=tmp / "work")
    svc = Service(settings, store=store, users=DuckDBUserStore(":memory:"))
    accounts: Accounts = svc.accounts
    for name, grants in USERS.items():
        accounts.add(name, PASSWORD)
        for role, site in grants:
            accounts.grant(name, role, site)
    yield svc
    svc.stop()


@pytest.fixture(scope="session")
def client(service: Service) -> Iterator[TestClient]:
    with TestClient(create_app(service.settings, service=service)) as c:
        yield c


@pytest.fixture(scope="session")
def tokens(client: TestClient) -> dict[str, str]:
    out = {}
    for name in USERS:
        r = client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        out[name] = r.json()["access_token"]
    return out


def auth(tokens: dict[str, str], name: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {tokens[name]}"}
