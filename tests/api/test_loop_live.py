"""End to end with the virtual plant (issue 17, item 5): the robot plant's twin runs live
(accelerated), a breakdown is injected on the plan's bottleneck unit, and within the time goal a
repaired, twin-checked plan is in force on the API and its dispatch lists are on the Mosquitto
on loopback (a unique topic prefix), none of which uses the unit during its downtime.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from factoryos.api import create_app
from factoryos.app.live_loop import LoopPolicy, LoopSettings
from factoryos.app.service import Service, ServiceSettings
from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.users import DuckDBUserStore
from tests.api.conftest import PASSWORD, PLANT_A

pytestmark = pytest.mark.integration

SITE = "jiading"
BROKER = ("127.0.0.1", 1883)
TWIN_AT = dt.datetime.fromisoformat("2026-03-03T10:00:00+08:00")  # a working Tuesday morning
BOOK = Path(__file__).resolve().parents[2] / "examples" / "orders_small.csv"
GOAL_S = 15.0  # issue 17: p99 < 15 s from the down event to the dispatch list published
DOWN_H = 4.0


def _overlaps(op: dict[str, Any], start: dt.datetime, end: dt.datetime) -> bool:
    s, e = dt.datetime.fromisoformat(op["start"]), dt.datetime.fromisoformat(op["end"])
    return s < end and e > start


def test_a_breakdown_on_the_bottleneck_is_repaired_checked_and_dispatched(tmp_path: Path) -> None:
    prefix = f"test-loop-{uuid.uuid4().hex[:8]}"
    received: dict[str, list[dict[str, Any]]] = defaultdict(list)
    lock = threading.Lock()

    def on_message(_c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        with lock:
            received[message.topic].append({**json.loads(message.payload), "_at": time.time()})

    cells = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=prefix)
    cells.on_message = on_message
    cells.connect(*BROKER)
    cells.subscribe(f"{prefix}/#", qos=1)
    cells.loop_start()
    settings = ServiceSettings(
        (PLANT_A,),
        db=":memory:",
        twin=True,
        speed=60.0,
        twin_at=TWIN_AT,
        orders=BOOK,
        plan_time_limit_s=3.0,
        work_dir=tmp_path / "work",
        loop=LoopSettings(
            LoopPolicy.AUTO,
            f"mqtt://{BROKER[0]}:{BROKER[1]}",
            prefix,
            time_limit_s=3.0,
            replications=3,
            check_due_within_h=14 * 24.0,
        ),
    )
    service = Service(settings, store=DuckDBStore(":memory:"), users=DuckDBUserStore(":memory:"))
    service.accounts.add("vic", PASSWORD)
    service.accounts.grant("vic", "viewer", SITE)
    try:
        with TestClient(create_app(settings, service=service)) as client:
            (job,) = service.jobs.list(SITE, "schedule")
            done = service.jobs.wait(job.id, 120.0)
            assert done is not None and done.status == "done", done
            token = client.post(
                "/api/v1/auth/token", data={"username": "vic", "password": PASSWORD}
            ).json()["access_token"]
            who = {"Authorization": f"Bearer {token}"}
            base = f"/api/v1/sites/{SITE}"
            parent = client.get(f"{base}/plans/current", headers=who).json()
            now = service.now(SITE)
            # the bottleneck: the unit with the most planned hours still ahead
            load: dict[tuple[str, int], float] = defaultdict(float)
            for op in parent["operations"]:
                s = max(dt.datetime.fromisoformat(op["start"]), now)
                e = dt.datetime.fromisoformat(op["end"])
                if e > s:
                    load[(op["equipment_id"], int(op["unit_index"]))] += (e - s).total_seconds()
            equipment, index = max(load, key=lambda k: load[k])
            (unit,) = [
                w
                for w in service.sites[SITE].plant.work_units
                if (w.equipment.id, w.unit) == (equipment, index)
            ]
            injected = time.time()
            service.twins[SITE].inject_outage(unit.path, DOWN_H * 3600.0)

            proposal = None
            while time.time() - injected < 60.0 and proposal is None:
                for p in client.get(f"{base}/loop/events", headers=who).json():
                    ours = any(t["kind"] == "down" and unit.path in t["why"] for t in p["triggers"])
                    if ours and p["status"] in ("adopted", "failed"):
                        proposal = p
                time.sleep(0.1)
            assert proposal is not None, "no repair published within 60 s"
            assert proposal["status"] == "adopted", proposal["error"]
            assert proposal["latency_s"] < GOAL_S
            down = next(t["down"] for t in proposal["triggers"] if unit.path in t["why"])
            start = dt.datetime.fromisoformat(down["start"])
            end = dt.datetime.fromisoformat(down["end"])
            assert (down["equipment"], down["unit"]) == (equipment, index)
            assert end - start > dt.timedelta(0)
            # checked in the twin: on-time probabilities before and after, per order
            assert proposal["summary"]["orders_checked"] == len(proposal["orders"]) > 0
            for o in proposal["orders"]:
                assert 0.0 <= o["on_time_after"] <= 1.0
            # the API: the repaired plan is in force, and it keeps the unit free while down
            current = client.get(f"{base}/plans/current", headers=who).json()
            assert current["id"] == proposal["plan"] and current["parent"] == parent["id"]
            on_unit = [
                op
                for op in current["operations"]
                if (op["equipment_id"], int(op["unit_index"])) == (equipment, index)
            ]
            planned_before = [op for op in on_unit if _overlaps(op, start, end)]
            # only work already running when the unit broke may still overlap (it is frozen)
            assert all(dt.datetime.fromisoformat(op["start"]) < start for op in planned_before)
            moved_off = [m for m in proposal["moves"] if m["old_unit"] == f"{equipment}/{index}"]
            was_planned = [
                op
                for op in parent["operations"]
                if (op["equipment_id"], int(op["unit_index"])) == (equipment, index)
                and _overlaps(op, start, end)
                and dt.datetime.fromisoformat(op["start"]) >= start
            ]
            assert moved_off or not was_planned
            # MQTT: the down unit's dispatch list, from this proposal, on its own topic
            topic = f"{prefix}/{SITE}/dispatch/" + unit.path.removeprefix(
                service.sites[SITE].plant.root_path + "/"
            )
            deadline = time.time() + 5.0
            while time.time() < deadline:
                with lock:
                    mine = [m for m in received[topic] if m["proposal"] == proposal["id"]]
                if mine:
                    break
                time.sleep(0.05)
            assert mine, f"nothing on {topic}"
            assert mine[0]["plan"] == proposal["plan"] and mine[0]["unit"] == unit.path
            assert mine[0]["_at"] - injected < GOAL_S + 1.0  # + the twin's flush and a slice
            for op in mine[0]["operations"]:
                assert (
                    not _overlaps(op, start, end) or dt.datetime.fromisoformat(op["start"]) < start
                )
            with lock:
                units_told = {
                    t
                    for t, ms in received.items()
                    if any(m["proposal"] == proposal["id"] for m in ms)
                }
            assert len(units_told) == len(service.sites[SITE].plant.work_units)
    finally:
        cells.loop_stop()
        cells.disconnect()
        # retained messages under the unique prefix: cleared so the broker does not keep them
        cleaner = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{prefix}-clean")
        cleaner.connect(*BROKER)
        cleaner.loop_start()
        for topic in list(received):
            cleaner.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        cleaner.loop_stop()
        cleaner.disconnect()
