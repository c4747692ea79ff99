"""The live loop over HTTP: a rush order held for approval (roles), and the loop switched off.

The service plans a small book made relative to the wall clock (no twin: the site's clock is
the wall clock), so that the rush order's repair and the twin check work on the future.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from factoryos.api import create_app
from factoryos.app.hub import Hub
from factoryos.app.live_loop import LiveLoop, LoopPolicy, LoopSettings, LoopSite
from factoryos.app.loop_records import INTERRUPTED, proposal_doc, proposal_of
from factoryos.app.loop_repair import Proposal, Trigger
from factoryos.app.plans import DownSpan
from factoryos.app.service import Service, ServiceSettings
from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.records import DuckDBRecordStore
from factoryos.store.users import DuckDBUserStore
from tests.api.conftest import PASSWORD, PLANT_A, auth

SITE = "jiading"
HEADER = "order,product,quantity,release,due,weight"


def _book(at: dt.datetime) -> str:
    rows = [HEADER]
    for k, (product, qty) in enumerate((("sr6", 3), ("sa400", 2), ("sr6", 2))):
        due = at + dt.timedelta(days=2 + k)
        rows.append(f"SO-{k + 1},{product},{qty},{at.isoformat()},{due.isoformat()},1")
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def loop_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Service]]:
    tmp = tmp_path_factory.mktemp("loop")
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    book = tmp / "orders.csv"
    book.write_text(_book(now), encoding="utf-8")
    settings = ServiceSettings(
        (PLANT_A,),
        db=":memory:",
        work_dir=tmp / "work",
        orders=book,
        plan_time_limit_s=2.0,
        loop=LoopSettings(LoopPolicy.APPROVAL, time_limit_s=2.0, replications=2),
    )
    service = Service(
        settings,
        store=DuckDBStore(":memory:"),
        users=DuckDBUserStore(":memory:"),
        records=DuckDBRecordStore(tmp / "records.duckdb"),
    )
    for name, role in (("pia", "planner"), ("vic", "viewer")):
        service.accounts.add(name, PASSWORD)
        service.accounts.grant(name, role, SITE)
    with TestClient(create_app(settings, service=service)) as client:
        (job,) = service.jobs.list(SITE, "schedule")
        done = service.jobs.wait(job.id, 120.0)
        assert done is not None and done.status == "done", done
        yield client, service


def _token(client: TestClient, name: str) -> dict[str, Any]:
    r = client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _wait_status(client: TestClient, who: dict[str, Any], status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90.0
    while time.monotonic() < deadline:
        items = client.get(f"/api/v1/sites/{SITE}/loop/events", headers=who).json()
        if items and items[0]["status"] in (status, "failed"):
            assert items[0]["status"] == status, items[0]
            return client.get(
                f"/api/v1/sites/{SITE}/loop/proposals/{items[0]['id']}", headers=who
            ).json()
        time.sleep(0.2)
    raise AssertionError(f"no proposal {status} within 90 s")


def test_a_rush_order_is_repaired_checked_and_held_until_a_planner_approves(
    loop_client: tuple[TestClient, Service],
) -> None:
    client, service = loop_client
    planner, viewer = _token(client, "pia"), _token(client, "vic")
    base = f"/api/v1/sites/{SITE}"
    state = client.get(f"{base}/loop", headers=viewer).json()
    assert state["policy"] == "approval" and state["held"] == []
    parent = state["plan"]
    assert parent is not None
    at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    rush = f"{HEADER}\nRUSH-1,sr6,1,{at.isoformat()},{(at + dt.timedelta(days=1)).isoformat()},9\n"
    r = client.post(f"{base}/loop/rush", json={"orders_csv": rush}, headers=viewer)
    assert r.status_code == 403
    r = client.post(f"{base}/loop/rush", json={"orders_csv": rush}, headers=planner)
    assert r.status_code == 202, r.text
    held = _wait_status(client, planner, "held")
    assert held["parent"] == parent and held["triggers"][0]["kind"] == "rush"
    assert "RUSH-1" in held["triggers"][0]["why"]
    new_ops = [m for m in held["moves"] if m["order_id"] == "RUSH-1"]
    assert new_ops and all(m["reason"].startswith("new order") for m in new_ops)
    by_order = {o["order_id"]: o for o in held["orders"]}
    assert by_order["RUSH-1"]["on_time_before"] is None  # not in the plan before
    assert 0.0 <= by_order["RUSH-1"]["on_time_after"] <= 1.0
    assert held["summary"]["orders_checked"] == len(held["orders"]) >= 2
    # held: the plan in force is still the parent, the dispatch lists are the parent's
    assert client.get(f"{base}/plans/current", headers=viewer).json()["id"] == parent
    approve = f"{base}/loop/proposals/{held['id']}/approve"
    assert client.post(approve, headers=viewer).status_code == 403
    r = client.post(approve, headers=planner)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "adopted" and r.json()["decided_by"] == "pia"
    current = client.get(f"{base}/plans/current", headers=viewer).json()
    assert current["id"] == held["plan"] and current["parent"] == parent
    lists = client.get(f"{base}/dispatch", headers=viewer).json()
    assert lists["plan"] == held["plan"]
    planned = {o["order_id"] for ops in lists["units"].values() for o in ops}
    assert "RUSH-1" in planned
    assert client.post(approve, headers=planner).status_code == 409  # decided already
    assert service.loop is not None and service.loop.current(SITE) == held["plan"]
    # a restarted server (a new loop over the same records and plans) knows all of it
    assert isinstance(service.records, DuckDBRecordStore)
    again = LiveLoop(
        service.settings.loop,
        {SITE: LoopSite(service.sites[SITE].plant, service.plans[SITE])},
        service.now,
        Hub(),
        DuckDBRecordStore(service.records.path),
    )
    assert [p.to_json() for p in again.proposals(SITE)] == [
        p.to_json() for p in service.loop.proposals(SITE)
    ]
    assert again.proposal(SITE, held["id"]).to_json()["decided_by"] == "pia"
    assert again.current(SITE) == held["plan"]  # the adopted plan stays in force
    # a proposal held when the server stopped is approved by the next one (here: back to the
    # parent plan, the one plan on disk besides the adopted one)
    was_held = dataclasses.replace(
        again.proposal(SITE, held["id"]),
        status="held",
        parent=held["plan"],
        plan=parent,
        decided_by="",
        id="0123456789ab",
    )
    service.records.put_proposal(SITE, was_held.id, at, proposal_doc(was_held))
    third = LiveLoop(
        service.settings.loop,
        {SITE: LoopSite(service.sites[SITE].plant, service.plans[SITE])},
        service.now,
        Hub(),
        DuckDBRecordStore(service.records.path),
    )
    assert third.proposal(SITE, was_held.id).status == "held"
    decided = third.decide(SITE, was_held.id, approve=True, by="pia")
    assert decided.status == "adopted" and third.current(SITE) == parent


def test_a_scrap_report_names_a_planned_step(loop_client: tuple[TestClient, Service]) -> None:
    client, _ = loop_client
    planner = _token(client, "pia")
    r = client.post(
        f"/api/v1/sites/{SITE}/loop/scrap",
        json={"order_id": "SO-1", "step": "no_such_step"},
        headers=planner,
    )
    assert r.status_code == 422
    assert "steps of SO-1 in the plan" in r.text


def test_the_loop_routes_say_when_the_loop_is_off(
    client: TestClient, tokens: dict[str, str]
) -> None:
    r = client.get("/api/v1/sites/jiading/loop", headers=auth(tokens, "ada"))
    assert r.status_code == 409
    assert "--loop auto" in r.json()["detail"]


def test_dispatch_lists_leave_out_what_ended(tmp_path: Path) -> None:
    from factoryos.app.loop_dispatch import dispatch_lists
    from factoryos.model import load_plant

    plant = load_plant(PLANT_A)
    t = dt.datetime(2026, 3, 3, 2, tzinfo=dt.UTC)
    unit = plant.work_units[0]
    ops = [
        {
            "order_id": f"SO-{k}",
            "product": "sr6",
            "operation_id": "x",
            "equipment_id": unit.equipment.id,
            "unit_index": unit.unit,
            "start": (t + dt.timedelta(hours=2 * k)).isoformat(),
            "end": (t + dt.timedelta(hours=2 * k + 1)).isoformat(),
        }
        for k in (2, 0, 1)
    ]
    lists = dispatch_lists(plant, ops, t + dt.timedelta(hours=1, minutes=30))
    assert [o["order_id"] for o in lists[unit.path]] == ["SO-1", "SO-2"]
    assert len(lists) == len(plant.work_units)


def test_a_stored_proposal_comes_back_as_it_was_and_a_running_one_interrupted() -> None:
    t = dt.datetime(2026, 3, 3, 2, tzinfo=dt.UTC)
    down = DownSpan("hmc", 1, t, t + dt.timedelta(hours=2))
    triggers = (
        Trigger(SITE, "down", "hmc/1 down", 1_800_000_000.25, down=down),
        Trigger(SITE, "scrap", "SO-1 scrapped", 1_800_000_001.5, scrap=("SO-1", "painting")),
        Trigger(SITE, "rush", "rush", 1_800_000_002.0, rush_csv=f"{HEADER}\nR-1,sr6,1,a,b,1\n"),
    )
    held = Proposal(
        SITE,
        triggers,
        "plan-a",
        t,
        plan="plan-b",
        status="adopted",
        moves=({"order_id": "SO-1", "reason": "moved"},),
        orders=({"order_id": "SO-1", "on_time_before": 0.5, "on_time_after": 1.0},),
        summary={"orders_checked": 1},
        repair_s=1.25,
        check_s=2.5,
        published_at=1_800_000_005.125,
        decided_by="pia",
    )
    back = proposal_of(json.loads(json.dumps(proposal_doc(held))))
    assert back == held  # every field, triggers' times heard and rush rows included
    assert back.latency_s == held.latency_s
    running = Proposal(SITE, triggers[:1], "plan-a", t)
    back = proposal_of(json.loads(json.dumps(proposal_doc(running))))
    assert (back.status, back.error) == ("interrupted", INTERRUPTED)
