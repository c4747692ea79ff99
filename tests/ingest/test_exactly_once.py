"""Exactly once through faults: the ingester killed with SIGKILL mid-stream five times, and the
broker restarted mid-stream; afterwards every published value is stored once, nothing is lost,
nothing is a dead letter."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.ingest.conftest import PlantBroker, wait_online
from tests.ingest.edge import MAPPING, METRICS, EdgeNode

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.slow]


class Ingester:
    def __init__(
        self,
        tmp_path: Path,
        broker: PlantBroker,
        mapping: str = MAPPING,
        db: str | None = None,
        name: str = "ingester",
    ) -> None:
        self.mapping = tmp_path / f"{name}.yaml"
        self.mapping.write_text(mapping)
        self.db = tmp_path / "plant.duckdb"
        self.url = db or str(self.db)
        self.letters = str(tmp_path / f"{name}.letters.duckdb")
        self.broker = broker
        self.log_path = tmp_path / f"{name}.log"
        self.log = self.log_path.open("ab")
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("ingester_process.py")),
                str(self.mapping),
                str(ROOT / "examples" / "robot_factory.yaml"),
                self.url,
                self.broker.url,
                self.letters,
            ],
            stdout=self.log,
            stderr=self.log,
            cwd=ROOT,
        )

    def kill(self) -> None:
        """Leave no process behind when a test fails."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def wait_ingesting(self) -> None:
        """Until the current process has committed a batch (bounded)."""
        deadline = time.monotonic() + 60
        while self.log_path.read_text().count("ingesting") < self.starts:
            assert time.monotonic() < deadline, self.log_path.read_text()
            time.sleep(0.05)

    def signal(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        self.process.wait(60)
        assert sig == signal.SIGKILL or self.process.returncode == 0, self.process.returncode

    def stored(self) -> tuple[int, int]:
        """(sample events, distinct ids) in the store, and no dead letters."""
        con = duckdb.connect(str(self.db), read_only=True)
        try:
            row = con.execute(
                "SELECT count(*), count(DISTINCT event_id) FROM (SELECT event_id FROM "
                "sample_events UNION ALL SELECT event_id FROM other_events WHERE kind = 'sample')"
            ).fetchone()
        finally:
            con.close()
        assert row is not None
        return int(row[0]), int(row[1])

    def dead_letters(self) -> int:
        con = duckdb.connect(self.letters, read_only=True)
        try:
            row = con.execute("SELECT count(*) FROM dead_letters").fetchone()
        finally:
            con.close()
        return int(row[0]) if row else 0

    def finish(self, expected: int) -> int:
        """Stop gracefully until everything queued was stored (bounded); the stored count."""
        for _ in range(6):
            time.sleep(4)
            self.signal(signal.SIGTERM)
            stored, distinct = self.stored()
            assert stored == distinct
            if stored >= expected:
                return stored
            self.start()
        return self.stored()[0]


def test_sigkill_five_times_mid_stream(
    broker: PlantBroker, tmp_path: Path, spawned: list[Ingester]
) -> None:
    ingester = Ingester(tmp_path, broker)
    spawned.append(ingester)
    ingester.start()
    wait_online(broker.port, {"factoryos"})  # the first start makes the persistent session
    # the stream runs until the fifth kill (bounded: 30,000 messages): on a loaded machine five
    # restarts of the ingester may take longer than any fixed stream
    edge = EdgeNode(broker.port, messages=30_000, every_s=0.004)
    edge.start()
    rng = random.Random(14)
    for _ in range(5):
        ingester.wait_ingesting()
        time.sleep(rng.uniform(0.2, 1.0))
        ingester.signal(signal.SIGKILL)
        ingester.start()
    assert edge.thread.is_alive(), "the stream ended before the fifth kill"
    time.sleep(0.5)  # a little stream after the last restart too
    edge.stop()
    edge.join()
    expected = edge.sent * len(METRICS)
    assert edge.sent > 0
    assert ingester.finish(expected) == expected
    assert ingester.dead_letters() == 0


def test_broker_restart_mid_stream(
    broker: PlantBroker, tmp_path: Path, spawned: list[Ingester]
) -> None:
    ingester = Ingester(tmp_path, broker)
    spawned.append(ingester)
    ingester.start()
    wait_online(broker.port, {"factoryos"})
    edge = EdgeNode(broker.port, messages=1500, every_s=0.004)
    edge.start()
    time.sleep(2)
    broker.stop()
    time.sleep(0.5)
    broker.start()
    edge.join()
    expected = 1500 * len(METRICS)
    assert ingester.finish(expected) == expected
    assert ingester.dead_letters() == 0
