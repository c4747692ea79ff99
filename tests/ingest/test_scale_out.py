"""Scale-out: two ingesters split a plant by Sparkplug group and write to one PostgreSQL; one is
killed with SIGKILL mid-stream and restarted; every value is stored once."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from factoryos.store.postgres_store import PostgresStore
from tests.ingest.conftest import PlantBroker, wait_online
from tests.ingest.edge import METRICS, EdgeNode, mapping
from tests.ingest.test_exactly_once import Ingester
from tests.pg import drop_schemas, fresh_schema_url, pg_unavailable

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_two_ingesters_one_postgres_one_killed(broker: PlantBroker, tmp_path: Path) -> None:
    if (why := pg_unavailable()) is not None:
        pytest.skip(why)
    url = fresh_schema_url()
    try:
        PostgresStore(url, upgrade=True).close()
        cells = {"cellA": "hmc.1", "cellB": "hmc.2"}
        ingesters = {
            group: Ingester(tmp_path, broker, mapping(group, f"host-{group}"), url, group)
            for group in cells
        }
        for ingester in ingesters.values():
            ingester.start()
        wait_online(broker.port, {f"host-{group}" for group in cells})
        edges = [
            EdgeNode(broker.port, 2000, 0.004, group, device) for group, device in cells.items()
        ]
        for edge in edges:
            edge.start()
        victim = ingesters["cellB"]
        victim.wait_ingesting()
        time.sleep(0.5)
        victim.signal(signal.SIGKILL)
        victim.start()
        for edge in edges:
            edge.join()
        victim.wait_ingesting()  # the restarted one took its backlog
        time.sleep(4)
        for ingester in ingesters.values():
            ingester.signal(signal.SIGTERM)
        with PostgresStore(url) as store:
            stored = store.count()
        if stored < 2 * 2000 * len(METRICS):  # the restarted one may still have had a backlog
            victim.start()
            victim.wait_ingesting()
            time.sleep(4)
            victim.signal(signal.SIGTERM)
            with PostgresStore(url) as store:
                stored = store.count()
        assert stored == 2 * 2000 * len(METRICS)
        assert all(i.dead_letters() == 0 for i in ingesters.values())
    finally:
        drop_schemas()
