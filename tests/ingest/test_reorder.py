"""Sparkplug 3.0 reordering (section 5.9): a message ahead of its turn is held until the missing
ones come (then all are taken in seq order) or the reorder timeout passes (then it is a gap: dead
letters and a rebirth request). A held message's token joins a batch only when it is taken, so
it is acknowledged only after the batch that stores it is committed."""

from __future__ import annotations

import json
from pathlib import Path

from factoryos.app.ingesting import make_commit
from factoryos.ingest.host import MAX_AHEAD
from factoryos.ingest.mapping import load_mapping_text
from factoryos.ingest.pipeline import Pipeline, Rebirth
from factoryos.model import load_plant
from factoryos.store.deadletters import DuckDBDeadLetterStore
from factoryos.store.duckdb_store import DuckDBStore
from tests.ingest.edge import MAPPING, METRICS
from tests.ingest.test_faults import GOOD, NOW_MS, _birth, _data

ROOT = Path(__file__).resolve().parents[2]
DDATA = GOOD.format("DDATA") + "/hmc.1"
NODE = Rebirth("jiading", "machining.cnc_machining")
TIMEOUT_MS = 2000


class Rig:
    """A pipeline over a DuckDB store, fed by hand; tokens are the message numbers."""

    def __init__(self, tmp_path: Path, session: dict[str, str] | None = None) -> None:
        plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
        self.mapping = load_mapping_text(MAPPING + f"reorder_timeout_s: {TIMEOUT_MS / 1000}\n")
        self.store = DuckDBStore(tmp_path / "plant.duckdb")
        self.letters = DuckDBDeadLetterStore(tmp_path / "letters.duckdb")
        parsed = {k: json.loads(v) for k, v in (session or {}).items()}
        self.pipeline = Pipeline(self.mapping, frozenset(u.path for u in plant.work_units), parsed)
        self.acked: list[object] = []

    def send(self, topic: str, data: bytes, token: object, at_ms: int = NOW_MS) -> Rebirth | None:
        return self.pipeline.sparkplug(topic, data, at_ms, token)

    def commit(self) -> dict[str, str]:
        """Commit the batch, then acknowledge its tokens (as the MQTT ingester does)."""
        batch = self.pipeline.take()
        session = self.pipeline.session()
        done = make_commit(self.store, self.letters)(batch, session)
        self.pipeline.committed(batch, done.inserted, done.duplicates, done.letters)
        self.acked += batch.tokens
        return session

    def values(self) -> list[float]:
        rows = self.store.events().to_pylist()
        return sorted({r["value"] for r in rows if r["sensor"] == "m0"})


def _born(rig: Rig) -> None:
    for n, (topic, data) in enumerate(_birth(GOOD, "hmc.1")):
        rig.send(topic, data, f"birth{n}")


def test_out_of_order_messages_are_held_then_taken_in_seq_order(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    _born(rig)
    rig.send(DDATA, _data(2, 0.0), 2)
    assert rig.send(DDATA, _data(4, 2.0), 4) is None  # ahead: held, no rebirth
    assert rig.send(DDATA, _data(5, 3.0), 5) is None
    rig.commit()
    assert rig.acked == ["birth0", "birth1", 2]  # 4 and 5 are not acknowledged while held
    assert rig.values() == [0.0]
    rig.send(DDATA, _data(3, 1.0), 3, NOW_MS + TIMEOUT_MS - 1)  # fills the gap in time
    assert rig.pipeline.expire(NOW_MS + 10 * TIMEOUT_MS) == []
    rig.commit()
    assert rig.acked[3:] == [3, 4, 5]
    assert rig.values() == [0.0, 1.0, 2.0, 3.0]
    assert rig.letters.count() == 0
    assert rig.pipeline.counts.reconciles(), rig.pipeline.counts.line()


def test_a_gap_past_the_timeout_asks_for_a_rebirth_then_data_is_stored(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    _born(rig)
    rig.send(DDATA, _data(2, 0.0), 2)
    rig.send(DDATA, _data(4, 2.0), 4)  # 3 is lost
    assert rig.pipeline.expire(NOW_MS + TIMEOUT_MS - 1) == []
    assert rig.pipeline.expire(NOW_MS + TIMEOUT_MS) == [NODE]
    assert rig.send(DDATA, _data(5, 3.0), 5) == NODE  # the session waits for the rebirth
    for n, (topic, data) in enumerate(_birth(GOOD, "hmc.1")):  # the edge node answers
        assert rig.send(topic, data, f"rebirth{n}") is None
    rig.send(DDATA, _data(2, 4.0), 6)
    rig.commit()
    assert rig.acked == ["birth0", "birth1", 2, 4, 5, "rebirth0", "rebirth1", 6]
    assert rig.values() == [0.0, 4.0]
    reasons = sorted(d.reason for d in rig.letters.letters())
    assert reasons == [
        "DDATA after the seq gap at 3, before the edge node's rebirth; rebirth requested",
        "seq gap: expected 3, got 4; it did not come within the reorder timeout of 2 s; "
        "rebirth requested",
    ]
    assert rig.pipeline.counts.reconciles(), rig.pipeline.counts.line()


def test_a_crash_while_messages_are_held_loses_nothing_and_stores_once(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    _born(rig)
    rig.send(DDATA, _data(2, 0.0), 2)
    rig.send(DDATA, _data(4, 2.0), 4)
    session = rig.commit()  # the held 4 is neither stored nor acknowledged: then a crash
    rig.store.close()
    rig.letters.close()
    again = Rig(tmp_path, session)
    # the broker sends the unacknowledged 4 again (DUP), then 3 and 5 come
    again.pipeline.sparkplug(DDATA, _data(4, 2.0), NOW_MS, 4, dup=True)
    again.send(DDATA, _data(3, 1.0), 3)
    again.send(DDATA, _data(5, 3.0), 5)
    again.commit()
    assert again.values() == [0.0, 1.0, 2.0, 3.0]
    assert again.store.count() == 4 * len(METRICS)  # each value once
    assert again.letters.count() == 0


def test_a_gap_wider_than_the_seq_ring_allows_is_declared_at_once(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    _born(rig)
    held = MAX_AHEAD - 1
    rebirths = [rig.send(DDATA, _data(3 + n, float(n)), n) for n in range(held)]
    assert rebirths == [None] * held  # seq 3 .. 2 + held wait for 2
    assert rig.pipeline.host.held() == held
    assert rig.send(DDATA, _data(2 + MAX_AHEAD, 100.0), "last") == NODE
    rig.commit()
    assert rig.store.count() == 0
    assert rig.letters.count() == MAX_AHEAD
    assert rig.pipeline.host.held() == 0


def test_a_new_birth_ends_the_wait_of_the_old_session(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    _born(rig)
    rig.send(DDATA, _data(3, 1.0), 3)
    _born(rig)
    rig.send(DDATA, _data(2, 5.0), "new")
    rig.commit()
    assert rig.values() == [5.0]
    [letter] = rig.letters.letters()
    assert letter.reason == "seq gap: expected 2, got 3; a new NBIRTH came first"
