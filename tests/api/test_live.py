"""The live twin stores its events in small batches and tells the hub; the hub fans out by site."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence

from factoryos.app.hub import Hub, LiveMessage
from factoryos.app.live_twin import LiveTwin
from factoryos.app.queries import Window, kpis_json
from factoryos.kpi.report import GroupBy
from factoryos.model import Event, StateChange, load_plant
from factoryos.store.duckdb_store import DuckDBStore
from tests.api.conftest import PLANT_A, SHANGHAI


def test_live_twin_catches_up_then_runs_paced_and_stops() -> None:
    plant = load_plant(PLANT_A)
    store = DuckDBStore(":memory:")
    heard: list[Sequence[Event]] = []
    at = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
    twin = LiveTwin(plant, store, speed=3600.0, days=2, now=at, on_stored=heard.append)
    assert twin.start_at == dt.datetime(2026, 3, 2, tzinfo=SHANGHAI)
    twin.start()
    time.sleep(1.5)
    twin.stop()
    assert not twin.running and twin.error is None
    # caught up to 10:00 at once, then about an hour of twin time per wall second
    assert at + dt.timedelta(minutes=30) < twin.now < at + dt.timedelta(hours=4)
    span = store.time_range()
    assert span is not None and span[1] <= twin.now
    assert twin.stored == store.count() == sum(len(b) for b in heard)
    assert len(heard) >= 3  # the catch-up batch, then small batches
    assert any(isinstance(e, StateChange) for batch in heard for e in batch)


def test_restarted_live_twin_rewrites_nothing() -> None:
    plant = load_plant(PLANT_A)
    store = DuckDBStore(":memory:")
    at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
    for _ in range(2):
        twin = LiveTwin(plant, store, speed=1.0, days=1, now=at)
        twin.start()
        time.sleep(0.3)
        twin.stop()
    assert twin.stored == 0 and store.count() > 0


def test_hub_delivers_only_the_subscribed_sites() -> None:
    hub = Hub()
    got_a: list[LiveMessage] = []
    got_ab: list[LiveMessage] = []
    stop_a = hub.subscribe(frozenset({"a"}), got_a.append)
    hub.subscribe(frozenset({"a", "b"}), got_ab.append)
    hub.publish(LiveMessage("a", "state", {}))
    hub.publish(LiveMessage("b", "state", {}))
    stop_a()
    hub.publish(LiveMessage("a", "kpi", {}))
    assert [m.site for m in got_a] == ["a"]
    assert [(m.site, m.kind) for m in got_ab] == [("a", "state"), ("b", "state"), ("a", "kpi")]
    assert hub.listening("b") and not hub.listening("c")


def test_kpis_of_a_window_past_the_twins_clock_stop_at_the_clock() -> None:
    plant = load_plant(PLANT_A)
    store = DuckDBStore(":memory:")
    at = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
    twin = LiveTwin(plant, store, speed=60.0, days=1, now=at)
    twin.start()
    time.sleep(0.5)
    twin.stop()
    day = Window.parse(plant, None, "2026-03-02", "2026-03-03")
    cut = day.until(twin.now)
    assert cut.start == day.start and cut.end == twin.now
    assert day.until(dt.datetime(2026, 3, 4, tzinfo=SHANGHAI)) == day  # a past day stays whole
    full = kpis_json(store, plant, day, GroupBy.TOTAL)["total"]["time_elements_s"]
    now = kpis_json(store, plant, cut, GroupBy.TOTAL)["total"]["time_elements_s"]
    elapsed_s = (twin.now - at.replace(hour=0)).total_seconds()
    units = len(plant.work_units)
    # the last states do not run on to midnight: no more time than has passed, far less than
    # the uncut day credits to the afternoon shift that has not happened
    assert 0 < now["apt"] <= elapsed_s * units
    assert now["pbt"] < full["pbt"]
