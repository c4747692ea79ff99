"""Live updates across processes: an ingester of its own writes to PostgreSQL, and the server
pushes its state changes within 2 s of their commit, and drops the cached answers they touch."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from factoryos.app.hub import LiveMessage
from factoryos.app.service import Service, ServiceSettings
from factoryos.model import load_plant
from factoryos.store.postgres_store import PostgresStore
from factoryos.store.users import DuckDBUserStore
from tests.api.conftest import PLANT_A
from tests.pg import drop_schemas, fresh_schema_url, pg_unavailable

pytestmark = pytest.mark.skipif(pg_unavailable() is not None, reason=str(pg_unavailable()))

WRITER = """
import datetime as dt, sys, time
from factoryos.model import MachineState, StateChange
from factoryos.store.postgres_store import PostgresStore
url, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
at = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
with PostgresStore(url) as store:
    for i in range(n):
        event = StateChange(f"other-{i}", at + dt.timedelta(minutes=i), path, MachineState.FAULT)
        store.append([event])
        print(event.event_id, time.time(), flush=True)
        time.sleep(0.2)
"""


@pytest.fixture
def service() -> Iterator[Service]:
    url = fresh_schema_url()
    store = PostgresStore(url, upgrade=True)
    settings = ServiceSettings((PLANT_A,), db=url)
    svc = Service(settings, store=store, users=DuckDBUserStore(":memory:"))
    svc.start()
    try:
        yield svc
    finally:
        svc.stop()
        store.close()
        drop_schemas()


def test_another_process_s_events_reach_the_live_stream_within_2_s(service: Service) -> None:
    assert service.hearing_others(10.0)
    unit = load_plant(PLANT_A).work_units[0].path
    heard: dict[str, float] = {}
    done = threading.Event()

    def deliver(message: LiveMessage) -> None:
        if message.kind == "state" and message.data["path"] == unit:
            heard[message.data["since"]] = time.time()
            if len(heard) == 3:
                done.set()

    unsubscribe = service.hub.subscribe(frozenset({"jiading"}), deliver)
    seq = service.changes.seq
    try:
        out = subprocess.run(
            [sys.executable, "-c", WRITER, service.settings.db, unit, "3"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        assert done.wait(5.0), f"heard {len(heard)} of 3"
    finally:
        unsubscribe()
    committed = [float(line.split()[1]) for line in out.stdout.splitlines()]
    at = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
    arrived = [heard[(at + dt.timedelta(minutes=i)).isoformat()] for i in range(3)]
    lags = [a - c for a, c in zip(arrived, committed, strict=True)]
    assert max(lags) < 2.0, lags
    # a cached answer over March 2 is gone, one over March 1 would have stayed
    assert service.changes.touched_since(seq, at + dt.timedelta(seconds=1))
    assert not service.changes.touched_since(seq, at)
