"""Cached answers follow the store: a stored event drops exactly the answers it can change, and
what comes back is still the CLI's figure; polls with If-None-Match or If-Modified-Since are
304 while nothing changed."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from factoryos.api import create_app
from factoryos.app.kpi_json import report_to_json
from factoryos.app.kpis import kpi_report
from factoryos.app.service import Service, ServiceSettings
from factoryos.app.simulation import run_simulation
from factoryos.kpi.report import GroupBy
from factoryos.model import MachineState, StateChange, load_plant
from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.users import DuckDBUserStore
from tests.api.conftest import DAY0, PASSWORD, PLANT_A

URL = "/api/v1/sites/jiading/kpis"
LINE = "final_assembly/arm_assembly"
DAY = {"node": LINE, "from": "2026-03-02", "to": "2026-03-03", "by": "shift"}


@pytest.fixture
def live() -> Iterator[tuple[Service, TestClient, dict[str, str]]]:
    """A service of its own (its store changes): one day of the robot plant."""
    store = DuckDBStore(":memory:")
    run_simulation(load_plant(PLANT_A), days=1, seed=3, start=DAY0, store=store)
    settings = ServiceSettings((PLANT_A,), db=":memory:")
    service = Service(settings, store=store, users=DuckDBUserStore(":memory:"))
    service.accounts.add("vic", PASSWORD)
    service.accounts.grant("vic", "viewer", "jiading")
    with TestClient(create_app(settings, service=service)) as client:
        r = client.post("/api/v1/auth/token", data={"username": "vic", "password": PASSWORD})
        yield service, client, {"Authorization": f"Bearer {r.json()['access_token']}"}


def _cli(service: Service) -> dict[str, Any]:
    plant = service.sites["jiading"].plant
    return report_to_json(
        kpi_report(
            service.store,
            plant,
            start=DAY0.astimezone(dt.UTC),
            end=(DAY0 + dt.timedelta(days=1)).astimezone(dt.UTC),
            node=f"{plant.root_path}/{LINE}",
            by=GroupBy.SHIFT,
        )
    )


def _fault(service: Service, at: dt.datetime, n: int) -> None:
    """A unit of the line breaks down at ``at``, stored and told as the live writers do."""
    plant = service.sites["jiading"].plant
    unit = next(u.path for u in plant.work_units if f"/{LINE}/" in u.path)
    event = StateChange(f"test-fault-{n}", at, unit, MachineState.FAULT, reason="jam")
    service.store.append([event])
    service.stored([event])


def test_a_stored_event_changes_the_answer_only_where_it_can(
    live: tuple[Service, TestClient, dict[str, str]],
) -> None:
    service, client, headers = live
    first = client.get(URL, params=DAY, headers=headers)
    assert first.status_code == 200 and first.json() == _cli(service)

    _fault(service, DAY0 + dt.timedelta(days=2), 1)  # after the window: the answer holds
    again = client.get(URL, params=DAY, headers={**headers, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304

    _fault(service, DAY0 + dt.timedelta(hours=10), 2)  # inside it: recomputed, the CLI's figure
    changed = client.get(
        URL, params=DAY, headers={**headers, "If-None-Match": first.headers["ETag"]}
    )
    assert changed.status_code == 200
    assert changed.headers["ETag"] != first.headers["ETag"]
    assert changed.json() == _cli(service) != first.json()


def test_if_modified_since_is_304_until_a_change(
    live: tuple[Service, TestClient, dict[str, str]],
) -> None:
    service, client, headers = live
    client.get(URL, params=DAY, headers=headers)
    time.sleep(1.05)  # Last-Modified is whole seconds, never in the future: let one pass
    first = client.get(URL, params=DAY, headers=headers)
    stamp = first.headers["Last-Modified"]
    assert parsedate_to_datetime(stamp).timestamp() <= time.time()
    polled = client.get(URL, params=DAY, headers={**headers, "If-Modified-Since": stamp})
    assert polled.status_code == 304
    assert polled.headers["Last-Modified"] == stamp

    _fault(service, DAY0 + dt.timedelta(hours=10), 3)
    after = client.get(URL, params=DAY, headers={**headers, "If-Modified-Since": stamp})
    assert after.status_code == 200 and after.json() == _cli(service)
    # units' live states depend on every event: polled the same way
    units = client.get("/api/v1/sites/jiading/units", headers=headers)
    tag = units.headers["ETag"]
    same = client.get("/api/v1/sites/jiading/units", headers={**headers, "If-None-Match": tag})
    assert same.status_code == 304
    _fault(service, DAY0 + dt.timedelta(hours=11), 4)
    moved = client.get("/api/v1/sites/jiading/units", headers={**headers, "If-None-Match": tag})
    assert moved.status_code == 200
