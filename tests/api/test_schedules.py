"""Plans over HTTP: an order book planned in the background, read, Gantt, dispatch, repair."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from factoryos.app.service import Service
from tests.api.conftest import ROOT, auth


@pytest.fixture(scope="module")
def plan(client: TestClient, tokens: dict[str, str], service: Service) -> str:
    body = {"orders_csv": (ROOT / "examples" / "orders_small.csv").read_text(), "time_limit_s": 3}
    r = client.post("/api/v1/sites/jiading/schedules", json=body, headers=auth(tokens, "pia"))
    assert r.status_code == 202, r.text
    job = service.jobs.wait(r.json()["id"], 120)
    assert job is not None and job.status == "done", job
    assert job.result is not None
    return str(job.result["plan"])


def test_plan_reads_back_with_gantt_and_dispatch(
    client: TestClient, tokens: dict[str, str], plan: str
) -> None:
    h = auth(tokens, "vic")
    doc = client.get(f"/api/v1/sites/jiading/schedules/{plan}", headers=h).json()
    assert doc["status"] == "done" and doc["operations"]
    gantt = client.get(f"/api/v1/sites/jiading/schedules/{plan}/gantt", headers=h).json()
    assert len(gantt["bars"]) == len(doc["operations"])
    assert not any(b["moved"] for b in gantt["bars"])
    first = min(doc["operations"], key=lambda o: o["start"])
    local = dt.datetime.fromisoformat(first["start"]).astimezone(ZoneInfo("Asia/Shanghai"))
    shift = "early" if dt.time(8) <= local.time() < dt.time(16, 30) else "late"
    day = local.date() if local.time() >= dt.time(1) else local.date() - dt.timedelta(days=1)
    rows = client.get(
        f"/api/v1/sites/jiading/schedules/{plan}/dispatch",
        params={
            "equipment": first["equipment_id"],
            "unit": first["unit_index"],
            "day": day.isoformat(),
            "shift": shift,
        },
        headers=h,
    ).json()
    assert first in rows
    assert rows == sorted(rows, key=lambda o: o["start"])


def test_dispatch_of_unknown_shift_is_422(
    client: TestClient, tokens: dict[str, str], plan: str
) -> None:
    r = client.get(
        f"/api/v1/sites/jiading/schedules/{plan}/dispatch",
        params={"equipment": "hmc", "day": "2026-03-04", "shift": "night"},
        headers=auth(tokens, "vic"),
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["shift"] and r.json()["detail"][0]["input"] == "night"


def test_unknown_objective_is_422(client: TestClient, tokens: dict[str, str]) -> None:
    body = {"orders_csv": "order,product,quantity,release,due\n", "objective": "cheapest"}
    r = client.post("/api/v1/sites/jiading/schedules", json=body, headers=auth(tokens, "pia"))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["objective"]
    assert r.json()["detail"][0]["input"] == "cheapest"


def test_repair_moves_operations_off_a_down_unit(
    client: TestClient, tokens: dict[str, str], service: Service, plan: str
) -> None:
    ops = client.get(f"/api/v1/sites/jiading/schedules/{plan}", headers=auth(tokens, "vic")).json()
    now = dt.datetime.fromisoformat("2026-03-04T08:00+08:00")
    victim = min(
        (o for o in ops["operations"] if dt.datetime.fromisoformat(o["start"]) >= now),
        key=lambda o: o["start"],
    )
    lo, hi = now, dt.datetime.fromisoformat(victim["end"])
    body = {
        "now": now.isoformat(),
        "down": [
            {
                "equipment": victim["equipment_id"],
                "unit": victim["unit_index"],
                "start": lo.isoformat(),
                "end": hi.isoformat(),
            }
        ],
        "time_limit_s": 3,
    }
    r = client.post(
        f"/api/v1/sites/jiading/schedules/{plan}/repair", json=body, headers=auth(tokens, "pia")
    )
    assert r.status_code == 202, r.text
    job = service.jobs.wait(r.json()["id"], 120)
    assert job is not None and job.status == "done", job
    child = job.result["plan"] if job.result else ""
    gantt = client.get(
        f"/api/v1/sites/jiading/schedules/{child}/gantt", headers=auth(tokens, "vic")
    ).json()
    assert gantt["parent"] == plan
    unit = f"{victim['equipment_id']}/{victim['unit_index']}"
    assert (
        not [  # nothing runs on the down unit while it is down
            b
            for b in gantt["bars"]
            if b["unit"] == unit
            and dt.datetime.fromisoformat(b["start"]) < hi
            and dt.datetime.fromisoformat(b["end"]) > lo
        ]
    )
    [moved] = [
        b
        for b in gantt["bars"]
        if (b["order"], b["operation"]) == (victim["order_id"], victim["operation_id"])
    ]
    assert moved["moved"]
