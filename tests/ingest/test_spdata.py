"""The hot path for Sparkplug data messages makes what the general path makes: the same events
with the same ids, the same dead letters, counts and session, on a stream that mixes every
kind, names and aliases, nulls and the faults the hot path must hand over untouched."""

from __future__ import annotations

import json
import math
import random
from typing import Any

from factoryos.ingest import sparkplug_b_pb2 as pb
from factoryos.ingest.mapping import load_mapping_text
from factoryos.ingest.pipeline import Pipeline
from factoryos.ingest.sparkplug import BDSEQ_METRIC, DataType, Metric, Payload, encode
from factoryos.model.states import MachineState

NOW_MS = 1_780_000_000_000
G, N = "cell", "line.one"
DEVICES = ["d0", "d1", "d2", "off.plant"]
MAPPING = f"""host_id: spdata
max_future_s: 300
sources:
  - sparkplug: {{group: {G}, node: "+", device: "+", metric: state}}
    path: "p/{{node}}/{{device}}"
    kind: state
    values: factoryos
  - sparkplug: {{group: {G}, node: "+", device: "+", metric: good}}
    path: "p/{{node}}/{{device}}"
    kind: count
    field: good
    product_metric: product
    cumulative: true
    rollover: 65536
  - sparkplug: {{group: {G}, node: "+", device: "+", metric: kwh}}
    path: "p/{{node}}/{{device}}"
    kind: energy
    cumulative: true
  - sparkplug: {{group: {G}, node: "+", metric: temp}}
    path: "p/{{node}}"
    kind: sample
    sensor: temp
""" + "".join(
    f"""  - sparkplug: {{group: {G}, node: "+", device: "+", metric: m{i}}}
    path: "p/{{node}}/{{device}}"
    kind: sample
    sensor: m{i}
    unit: degC
"""
    for i in range(3)
)
# name -> datatype of each device's metrics; "level" (signed) and "reason" no rule names
TYPES = {
    "state": DataType.STRING,
    "reason": DataType.STRING,
    "product": DataType.STRING,
    "good": DataType.UINT32,
    "kwh": DataType.DOUBLE,
    "level": DataType.INT16,
    "m0": DataType.DOUBLE,
    "m1": DataType.FLOAT,
    "m2": DataType.INT32,
}
NAMES = list(TYPES)
STATES = [s.value for s in MachineState]


class Stream:
    """An edge node's messages, with the faults drawn from ``rng``."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seq = 0
        self.aliases: dict[str, dict[str, int]] = {}
        self.out: list[tuple[str, bytes]] = []
        self.sent: list[tuple[str, bytes]] = []  # data messages, to repeat some
        self.counter = 0

    def _topic(self, kind: str, device: str | None) -> str:
        return f"spBv1.0/{G}/{kind}/{N}" + (f"/{device}" if device else "")

    def _send(self, kind: str, device: str | None, payload: Payload) -> None:
        self.out.append((self._topic(kind, device), encode(payload)))
        self.seq = (self.seq + 1) % 256

    def node_birth(self) -> None:
        self.seq = 0
        self.sent = []  # repeats come from this session (an older seq may read as a gap)
        bdseq = Metric(BDSEQ_METRIC, None, None, DataType.UINT64, 1)
        temp = Metric("temp", 500, None, DataType.DOUBLE, None, True)
        self._send("NBIRTH", None, Payload(NOW_MS, 0, (bdseq, temp)))
        for device in DEVICES:
            self.device_birth(device)

    def device_birth(self, device: str) -> None:
        base = self.rng.randrange(1, 1000) * 16  # aliases move with every birth
        self.aliases[device] = {name: base + i for i, name in enumerate(NAMES)}
        metrics = tuple(
            Metric(name, base + i, None, TYPES[name], None, True) for i, name in enumerate(NAMES)
        )
        self._send("DBIRTH", device, Payload(NOW_MS, self.seq, metrics))

    @staticmethod
    def _m(name: str, alias: int | None, value: Any, ts: int | None = NOW_MS) -> Metric:
        datatype = DataType.DOUBLE if name == "temp" else TYPES[name]
        return Metric(None if alias else name, alias, ts, datatype, value, value is None)

    def _value(self, name: str, n: int) -> Any:
        if name == "state":
            return STATES[n % len(STATES)]
        if name in ("reason", "product"):
            return f"{name}{n % 3}"
        if name == "good":
            self.counter = (self.counter + self.rng.randrange(0, 5)) % 65536
            return self.counter
        if name in ("level", "m2"):
            return self.rng.randrange(-300, 300)
        return float(n) + self.rng.random()

    def data(self, n: int) -> None:
        rng = self.rng
        device = rng.choices(DEVICES, (10, 10, 10, 1))[0]  # a few for a unit the plant lacks
        ts = NOW_MS + n
        if rng.random() < 0.1:  # the edge node's own metric
            self._send("NDATA", None, Payload(ts, self.seq, (self._m("temp", 500, float(n)),)))
            return
        names = rng.sample(NAMES, rng.randrange(1, len(NAMES) + 1))
        metrics = []
        for name in names:
            alias = None if rng.random() < 0.2 else self.aliases[device][name]
            value = None if rng.random() < 0.05 else self._value(name, n)
            metrics.append(self._m(name, alias, value, None if rng.random() < 0.3 else ts))
        self._send("DDATA", device, Payload(ts, self.seq, tuple(metrics)))
        self.sent.append(self.out[-1])

    def fault(self, n: int) -> None:
        """One of the messages the hot path must leave to the general one."""
        rng = self.rng
        device = rng.choice(DEVICES[:3])
        alias = self.aliases[device]
        ts = NOW_MS + n
        kind = n % 13
        if kind == 0:  # not finite
            bad = (self._m("m0", alias["m0"], math.nan, ts),)
            self._send("DDATA", device, Payload(ts, self.seq, bad))
        elif kind == 1:  # far in the future
            late = (self._m("m0", alias["m0"], 1.0, NOW_MS + 10**9),)
            self._send("DDATA", device, Payload(ts, self.seq, late))
        elif kind == 2:  # an alias no birth declared
            self._send("DDATA", device, Payload(ts, self.seq, (self._m("m0", 7, 1.0, ts),)))
        elif kind == 3:  # the value in the wrong field for its datatype
            message = pb.Payload(timestamp=ts, seq=self.seq)
            message.metrics.add(alias=alias["m0"], timestamp=ts).string_value = "x"
            self.out.append((self._topic("DDATA", device), message.SerializeToString()))
            self.seq = (self.seq + 1) % 256
        elif kind == 4 and self.sent:  # a copy of an earlier message: a repeat
            self.out.append(rng.choice(self.sent[-100:]))
        elif kind == 5:  # a seq gap: rebirth
            self.seq = (self.seq + 7) % 256
            self._send("DDATA", device, Payload(ts, self.seq, (self._m("m0", alias["m0"], 1.0),)))
            self.node_birth()
        elif kind == 6:  # a device dies and is born again
            self._send("DDEATH", device, Payload(ts, self.seq, ()))
            self.device_birth(device)
        elif kind == 7:  # a state value outside the map (a dead letter of the converter)
            bad = (self._m("state", alias["state"], "dancing", ts),)
            self._send("DDATA", device, Payload(ts, self.seq, bad))
        elif kind == 8:  # no timestamp at all
            bad = (self._m("m0", alias["m0"], 2.0, None),)
            self._send("DDATA", device, Payload(None, self.seq, bad))
        elif kind == 12:  # two messages swapped: the later one is held until the earlier comes
            self.data(n)
            self.data(n + 1)
            self.out[-2:] = self.out[-1:-3:-1]
        else:  # fields set to their zero: datatype 0 by name, an empty name, no name nor alias
            message = pb.Payload(timestamp=ts, seq=self.seq)
            fields: list[dict[str, Any]] = [
                {"name": "m0", "datatype": 0},
                {"name": "", "alias": alias["m0"]},
                {},
            ]
            message.metrics.add(timestamp=ts, double_value=3.0, **fields[kind - 9])
            self.out.append((self._topic("DDATA", device), message.SerializeToString()))
            self.seq = (self.seq + 1) % 256


def _stream(seed: int, messages: int) -> list[tuple[str, bytes]]:
    stream = Stream(random.Random(seed))
    stream.node_birth()
    for n in range(messages):
        if stream.rng.random() < 0.05:
            stream.fault(n)
        else:
            stream.data(n)
    return stream.out


def _instrument(pipeline: Pipeline, hot: bool, taken: list[int]) -> Pipeline:
    """Count the messages the hot path takes; without ``hot`` it declines every one."""
    take = pipeline.data_path.take

    def counted(*args: Any) -> Any:
        result = take(*args) if hot else None
        taken[0] += result is not None
        return result

    pipeline.data_path.take = counted  # type: ignore[method-assign]
    return pipeline


def _run(messages: list[tuple[str, bytes]], hot: bool) -> tuple[list[Any], int]:
    units = frozenset([f"p/line/one/{d}" for d in DEVICES[:3]] + ["p/line/one"])
    mapping = load_mapping_text(MAPPING)
    taken = [0]
    pipeline = _instrument(Pipeline(mapping, units), hot, taken)
    rows: list[dict[str, Any]] = []
    letters: list[tuple[str, str, str | None]] = []
    seen: set[str] = set()
    for n, (topic, data) in enumerate(messages):
        pipeline.sparkplug(topic, data, NOW_MS, None)
        if n % 300 == 299 or n == len(messages) - 1:
            batch = pipeline.take()
            new = batch.table().to_pylist()
            rows += new
            letters += [(d.topic, d.reason, d.reading) for d in batch.letters]
            # committed as a store would: ids seen before are duplicates
            inserted = len({r["event_id"] for r in new} - seen)
            seen.update(r["event_id"] for r in new)
            fresh = len({d.letter_id for d in batch.letters} - seen)
            seen.update(d.letter_id for d in batch.letters)
            pipeline.committed(batch, inserted, len(new) - inserted, fresh)
            # batches end anywhere; the session goes through JSON to the next one, as on restart
            session = {k: json.loads(v) for k, v in pipeline.session().items()}
            counts = pipeline.counts
            pipeline = _instrument(Pipeline(mapping, units, session), hot, taken)
            pipeline.counts = counts
    rows.sort(key=lambda r: (r["event_id"], r["kind"]))
    return [rows, letters, pipeline.session(), pipeline.counts], taken[0]


def test_the_hot_path_makes_what_the_general_path_makes() -> None:
    for seed in range(3):
        messages = _stream(seed, 1000)
        hot, taken = _run(messages, hot=True)
        general, untaken = _run(messages, hot=False)
        assert untaken == 0
        assert taken > 0.8 * len(messages)  # the hot path did the work, not the fallback
        rows, letters, _, counts = hot
        assert len(rows) > 2000 and len(letters) > 30
        assert {r["kind"] for r in rows} == {"state", "count", "energy", "sample"}
        assert counts.reconciles()
        assert hot == general
