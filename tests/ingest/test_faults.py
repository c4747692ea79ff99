"""Bad input: 1,000 faulty messages each become a dead letter with a reason while the good stream
keeps storing; a dead letter replayed after the mapping is fixed is stored exactly once."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

from factoryos.app.ingesting import make_commit
from factoryos.ingest import sparkplug_b_pb2 as pb
from factoryos.ingest.mapping import load_mapping_text
from factoryos.ingest.pipeline import Pipeline
from factoryos.ingest.sparkplug import BDSEQ_METRIC, DataType, Metric, Payload, encode
from factoryos.model import load_plant
from factoryos.store.deadletters import DuckDBDeadLetterStore
from factoryos.store.duckdb_store import DuckDBStore
from tests.ingest.edge import MAPPING, METRICS

ROOT = Path(__file__).resolve().parents[2]
GOOD = "spBv1.0/jiading/{}/machining.cnc_machining"
FUZZ = "spBv1.0/jiading/{}/fuzz.node"
JSON_RULE = """  - mqtt: {topic: "lab/{unit}/temp", value: "$.t", timestamp: "$.ts"}
    path: "step_robotics/jiading/machining/cnc_machining/{unit}"
    kind: sample
    sensor: temp
"""
NOW_MS = 1_780_000_000_000


def _birth(topic: str, device: str) -> list[tuple[str, bytes]]:
    node = Payload(NOW_MS, 0, (Metric(BDSEQ_METRIC, None, None, DataType.UINT64, 1),))
    metrics = tuple(
        Metric(m, i + 1, None, DataType.DOUBLE, None, True) for i, m in enumerate(METRICS)
    )
    return [
        (topic.format("NBIRTH"), encode(node)),
        (topic.format("DBIRTH") + f"/{device}", encode(Payload(NOW_MS, 1, metrics))),
    ]


def _data(seq: int, value: float, alias: int = 1) -> bytes:
    ts = NOW_MS + int(value)
    metrics = tuple(
        Metric(None, alias + i, ts, DataType.DOUBLE, value) for i in range(len(METRICS))
    )
    return encode(Payload(NOW_MS, seq, metrics))


def _wrong_type(seq: int) -> bytes:
    message = pb.Payload(timestamp=NOW_MS, seq=seq)
    metric = message.metrics.add(alias=1, timestamp=NOW_MS, datatype=DataType.DOUBLE)
    metric.string_value = f"not a double {seq}"
    return message.SerializeToString()


def _fuzz(n: int, rng: random.Random, good_bytes: bytes) -> list[tuple[str, bytes, bool]]:
    """(topic, payload, needs a fresh birth of the fuzz node first)."""
    kind = n % 10
    ddata = FUZZ.format("DDATA") + "/d"
    if kind == 0:
        return [(ddata, bytes([n % 256]) + rng.randbytes(rng.randint(1, 200)), False)]
    if kind == 1:
        return [(ddata, good_bytes[: rng.randint(1, len(good_bytes) - 1)] + bytes([n % 7]), False)]
    if kind == 2:
        return [(ddata, _wrong_type(2), True)]
    if kind == 3:
        return [(ddata, _data(2, n, alias=900 + n), True)]
    if kind == 4:
        return [(f"spBv1.0/jiading/DDATA/never.born{n}/d", _data(0, n), False)]
    if kind == 5:
        return [(ddata, _data(9, n), True)]  # expected seq 2
    if kind == 6:
        return [(ddata, bytes([n % 256]) * (300 * 1024), False)]
    if kind == 7:
        return [(f"lab/hmc.{n}/temp", b'{"t": 1, "ts": "\xff\xfe' + str(n).encode() + b'"}', False)]
    if kind == 8:
        doc = {"t": n, "ts": f"2026-05-0{1 + n % 9}T08:00:00"}  # no zone
        return [("lab/hmc.1/temp", json.dumps(doc).encode(), False)]
    doc = {"t": n, "ts": "2100-01-01T00:00:00+08:00"}
    return [("lab/hmc.1/temp", json.dumps(doc).encode(), False)]


def test_a_thousand_faults_are_dead_letters_and_the_good_stream_stores(tmp_path: Path) -> None:
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    mapping = load_mapping_text(MAPPING + JSON_RULE)
    store = DuckDBStore(tmp_path / "plant.duckdb")
    letters = DuckDBDeadLetterStore(tmp_path / "letters.duckdb")
    commit = make_commit(store, letters)
    pipeline = Pipeline(mapping, frozenset(u.path for u in plant.work_units))
    rng = random.Random(22400)

    def send(topic: str, data: bytes) -> None:
        if topic.startswith("spBv1.0/"):
            pipeline.sparkplug(topic, data, NOW_MS, None)
        else:
            pipeline.mqtt_json(topic, data, NOW_MS, None)

    for topic, data in _birth(GOOD, "hmc.1"):
        send(topic, data)
    fuzz_payloads = []
    for n in range(1000):
        good = _data((2 + n) % 256, float(n))  # the good stream: one DDATA between two faults
        send(GOOD.format("DDATA") + "/hmc.1", good)
        for topic, data, born in _fuzz(n, rng, good):
            if born:
                for t, d in _birth(FUZZ, "d"):
                    send(t, d)
            send(topic, data)
            fuzz_payloads.append(data)
        if n % 100 == 99:
            # a seq gap waits for the reorder timeout before it is one (the last is still held)
            assert pipeline.expire(NOW_MS + 1000 * int(mapping.reorder_timeout_s) - 1) == []
            pipeline.expire(NOW_MS + 1000 * int(mapping.reorder_timeout_s))
            batch = pipeline.take()
            done = commit(batch, pipeline.session())
            pipeline.committed(batch, done.inserted, done.duplicates, done.letters)
    stored = store.count()
    dead = letters.letters(limit=10_000)
    assert stored == 1000 * len(METRICS)
    by_payload = {d.payload: d.reason for d in dead}
    missing = [p[:20] for p in fuzz_payloads if p not in by_payload]
    assert not missing
    assert all(d.reason for d in dead)
    reasons = " | ".join(sorted({d.reason.split(":")[0][:30] for d in dead}))
    for expected in (
        "not a Sparkplug B payload",
        "unknown alias",
        "needs double_value",
        "seq gap",
        "before the edge node",
        "over 262,144",
        "not UTF-8",
        "has no time zone",
        "lies in the future",
    ):
        assert expected in " | ".join(d.reason for d in dead), (expected, reasons)
    assert pipeline.counts.reconciles(), pipeline.counts.line()


def test_replay_after_fixing_the_mapping_stores_exactly_once(tmp_path: Path) -> None:
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    units = frozenset(u.path for u in plant.work_units)
    store = DuckDBStore(tmp_path / "plant.duckdb")
    letters = DuckDBDeadLetterStore(tmp_path / "letters.duckdb")
    commit = make_commit(store, letters)
    wrong = load_mapping_text(JSON_RULE.replace("$.t", "$.temperature").join(["sources:\n", ""]))
    pipeline = Pipeline(wrong, units)
    for n in range(20):
        doc = {"t": 20.0 + n, "ts": NOW_MS + n}
        pipeline.mqtt_json("lab/hmc.1/temp", json.dumps(doc).encode(), NOW_MS, None)
    batch = pipeline.take()
    commit(batch, pipeline.session())
    assert store.count() == 0 and letters.count() == 20

    fixed = load_mapping_text("sources:\n" + JSON_RULE)
    for _ in range(2):  # a second replay finds nothing pending
        replayer = Pipeline(fixed, units)
        done = [d.letter_id for d in letters.letters() if replayer.replay(d, NOW_MS)]
        result = store.append(replayer.take().table())
        letters.mark_replayed(done, dt.datetime.now(dt.UTC))
    assert store.count() == 20
    assert letters.count() == 0 and letters.count(replayed=True) == 20
    assert result.inserted == 0
    values = sorted(store.events().column("value").to_pylist())
    assert values == [20.0 + n for n in range(20)]


def test_a_second_copy_of_each_message_is_a_duplicate_not_a_gap(tmp_path: Path) -> None:
    """A session with two overlapping subscriptions receives every message twice."""
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    store = DuckDBStore(tmp_path / "plant.duckdb")
    letters = DuckDBDeadLetterStore(tmp_path / "letters.duckdb")
    pipeline = Pipeline(load_mapping_text(MAPPING), frozenset(u.path for u in plant.work_units))
    messages = [*_birth(GOOD, "hmc.1")]
    messages += [(GOOD.format("DDATA") + "/hmc.1", _data(2 + n, float(n))) for n in range(50)]
    for topic, data in messages:
        for _ in range(2):
            pipeline.sparkplug(topic, data, NOW_MS, None)
    batch = pipeline.take()
    done = make_commit(store, letters)(batch, pipeline.session())
    assert (done.inserted, done.duplicates, done.letters) == (500, 500, 0)
