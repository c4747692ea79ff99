"""The compiled Sparkplug decoder (``_spcolumns.c``) against its Python reference (``spdata``).

Random DDATA payloads of every scalar datatype, by alias and by name, known and unknown, with and
without metric and payload timestamps, nulls, values in every oneof field (and the wrong one),
datatypes left out, zero or wrong: whenever the compiled decoder takes a message, the Python path
takes it too with the same samples (event ids, timestamps, values), counts and session; and it
takes every plainly encoded message the Python path takes that has only samples and unmapped
values. Payloads mangled at the byte level (cut, flipped, with unknown or repeated fields) may be
declined by the compiled decoder, never taken differently.
"""

from __future__ import annotations

import hashlib
import logging
import math
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from factoryos.ingest import _spcolumns, spdata
from factoryos.ingest import sparkplug_b_pb2 as pb
from factoryos.ingest.columns import EventColumns
from factoryos.ingest.convert import MAX_TS_MS
from factoryos.ingest.mapping import load_mapping_text
from factoryos.ingest.pipeline import Pipeline
from factoryos.ingest.sparkplug import BDSEQ_METRIC, DataType, Metric, Payload, encode
from factoryos.ingest.spdata import DataPath

NOW_MS = 1_780_000_000_000
G, N, D = "cell", "line.one", "d0"
DDATA = f"spBv1.0/{G}/DDATA/{N}/{D}"
SAMPLE_COLUMNS = ("event_id", "ts", "path", "sensor", "value", "unit")
SCALARS = [t for t in DataType if t <= DataType.FILE and t != DataType.DATASET]
# "s<datatype>" is mapped as a sample (a Boolean or String one never makes one), "u<datatype>"
# is named by no rule, "state" makes readings for the converter
NAMES = {f"s{t.value}": t for t in SCALARS} | {f"u{t.value}": t for t in SCALARS}
NAMES["state"] = DataType.STRING
# names whose values can all be taken (a Boolean, text or bytes sample, a state never)
TAKEN = [
    n for n, t in NAMES.items() if n[0] == "u" or t <= DataType.DOUBLE or t == DataType.DATETIME
]
FIELDS = [
    "int_value",
    "long_value",
    "float_value",
    "double_value",
    "boolean_value",
    "string_value",
    "bytes_value",
]


def _mapping(max_future: str) -> str:
    rules = "".join(
        f"""  - sparkplug: {{group: {G}, node: "+", device: "+", metric: s{t.value}}}
    path: "p/{{node}}/{{device}}"
    kind: sample
    sensor: s{t.value}
{"    unit: degC" if t.value % 2 else ""}
"""
        for t in SCALARS
    )
    state = f"""  - sparkplug: {{group: {G}, node: "+", device: "+", metric: state}}
    path: "p/{{node}}/{{device}}"
    kind: state
    values: factoryos
"""
    return f"host_id: spcolumns\nmax_future_s: {max_future}\nsources:\n{rules}{state}"


MAPPINGS = {future: load_mapping_text(_mapping(future)) for future in ("300", "null")}


def _pipeline(future: str, aliases: dict[str, int], compiled: bool) -> Pipeline:
    """A pipeline that has seen the node's and the device's births (the next seq is 2)."""
    pipeline = Pipeline(MAPPINGS[future], None)
    pipeline.data_path = DataPath(pipeline.host, pipeline.converter, compiled=compiled)
    bdseq = Metric(BDSEQ_METRIC, None, None, DataType.UINT64, 1)
    births = [
        (f"spBv1.0/{G}/NBIRTH/{N}", Payload(NOW_MS, 0, (bdseq,))),
        (
            f"spBv1.0/{G}/DBIRTH/{N}/{D}",
            Payload(
                NOW_MS,
                1,
                tuple(Metric(n, aliases[n], None, t, None, True) for n, t in NAMES.items()),
            ),
        ),
    ]
    for topic, payload in births:
        pipeline.sparkplug(topic, encode(payload), NOW_MS, None)
    assert not pipeline.batch.letters
    return pipeline


def _outcome(pipeline: Pipeline, data: bytes) -> tuple[Any, ...]:
    columns = pipeline.batch.events
    taken = pipeline.data_path.take(DDATA, data, NOW_MS, columns)
    node = pipeline.host.session_of(G, N)
    assert node is not None
    result = None if taken is None else (taken.readings, taken.samples, taken.unmapped)
    return result, _samples(columns), node.next_seq, node.last_ts


def _samples(columns: EventColumns) -> list[list[Any]]:
    """The batch's samples as its table has them, whichever decoder took them."""
    table = columns.table()
    return [table[name].to_pylist() for name in SAMPLE_COLUMNS]


_u32 = st.integers(0, 2**32 - 1) | st.sampled_from([0, 127, 128, 255, 256, 2**15, 2**31, 2**32 - 1])
_u64 = st.integers(0, 2**64 - 1) | st.sampled_from([2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1])
_f32 = st.floats(width=32) | st.sampled_from([math.nan, math.inf, -math.inf, 0.1])
_values = {
    "int_value": _u32,
    "long_value": _u64,
    "float_value": _f32,
    "double_value": st.floats() | st.sampled_from([math.nan, -math.inf, 2.0**70]),
    "boolean_value": st.booleans(),
    "string_value": st.text(max_size=5),
    "bytes_value": st.binary(max_size=5),
}
_timestamps = st.sampled_from(
    [
        None,
        0,
        NOW_MS,
        NOW_MS + 299_000,
        NOW_MS + 301_000,
        MAX_TS_MS,
        MAX_TS_MS + 1,
        2**63,
        2**64 - 1,
    ]
) | st.integers(0, 2**64 - 1)


@st.composite
def _metric(draw: st.DrawFn, aliases: dict[str, int], clean: bool) -> dict[str, Any]:
    """A metric; a ``clean`` one is known, typed as its birth says and in its time."""
    name = draw(st.sampled_from(TAKEN if clean else [*NAMES, "nobody"]))
    datatype = NAMES.get(name, DataType.DOUBLE)
    out: dict[str, Any] = {}
    refs = ["alias", "name", "both"] if clean else ["alias", "name", "both", "neither", "bad"]
    ref = draw(st.sampled_from(refs))
    if ref in ("alias", "both") and name in aliases:
        out["alias"] = aliases[name]
    if ref in ("name", "both"):
        out["name"] = name
    if ref == "bad":
        out["alias"] = draw(st.integers(0, 2**64 - 1))
    types = ["birth's", "left out"] if clean else ["birth's", "left out", "zero", "other"]
    given_type = draw(st.sampled_from(types))
    if given_type == "birth's":
        out["datatype"] = datatype
    elif given_type == "zero":
        out["datatype"] = 0
    elif given_type == "other":
        out["datatype"] = draw(st.integers(0, 2**32 - 1))
    ts = draw(st.sampled_from([None, NOW_MS]) if clean else _timestamps)
    if ts is not None:
        out["timestamp"] = ts
    if draw(st.integers(0, 9)) == 0:
        out["is_null"] = draw(st.booleans())
    if draw(st.integers(0, 9)) == 0:
        out["is_historical"] = draw(st.booleans())
    native = {
        DataType.FLOAT: "float_value",
        DataType.DOUBLE: "double_value",
        DataType.BOOLEAN: "boolean_value",
    }
    plain = native.get(datatype) or (
        "long_value"
        if datatype in (4, 8, 13)
        else "string_value"
        if datatype in (12, 14, 15)
        else "bytes_value"
        if datatype in (17, 18)
        else "int_value"
    )
    field = plain if clean else draw(st.sampled_from([plain, None, *FIELDS]))
    if field is not None:
        out[field] = draw(_values[field])
    return out


@st.composite
def _message(draw: st.DrawFn) -> tuple[dict[str, int], bytes]:
    base = draw(st.integers(0, 2**40))
    aliases = {name: base + i for i, name in enumerate(NAMES)}
    payload = pb.Payload()
    clean = draw(st.booleans())
    ts = draw(st.just(NOW_MS) if clean else _timestamps)
    if ts is not None:
        payload.timestamp = ts
    seq = draw(st.just(2) if clean else st.sampled_from([2, 2, 2, 2, 3, 258, None]))
    if seq is not None:
        payload.seq = seq
    for fields in draw(st.lists(_metric(aliases, clean), max_size=12)):
        payload.metrics.add(**fields)
    return aliases, payload.SerializeToString()


def _mangle(data: bytes, how: int, at: int, byte: int) -> bytes:
    at = at % (len(data) + 1)
    if how == 0:  # cut
        return data[:at]
    if how == 1 and data:  # a byte changed
        at = min(at, len(data) - 1)
        return data[:at] + bytes([byte]) + data[at + 1 :]
    if how == 2:  # an unknown field (number 6, a Payload extension) or an unknown varint
        return data + bytes([6 << 3 | 0, byte & 0x7F])
    if how == 3:  # the payload's seq and timestamp repeated: the last one wins
        return data + bytes([3 << 3, 2, 1 << 3, byte & 0x7F])
    if how == 4:  # uuid and body, which the hot path does not read
        return bytes([4 << 3 | 2, 1, 65, 5 << 3 | 2, 1, byte]) + data
    return data + bytes([byte])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=_message(), future=st.sampled_from(sorted(MAPPINGS)))
def test_the_compiled_decoder_takes_what_the_python_path_takes(
    message: tuple[dict[str, int], bytes], future: str
) -> None:
    aliases, data = message
    python = _outcome(_pipeline(future, aliases, compiled=False), data)
    compiled = _pipeline(future, aliases, compiled=True)
    plan = compiled.data_path._plan(DDATA)
    assert plan is not None and plan.compiled is not None
    latest = NOW_MS + 300_000 if future == "300" else None
    direct = plan.compiled.take(data, 2, latest, _spcolumns.Samples())
    assert _outcome(compiled, data) == python
    result = python[0]
    event("taken in C" if direct else "taken in Python" if result else "declined")
    event("samples taken in C" if direct and direct[0] else "no samples taken in C")
    # the compiled decoder takes exactly the messages of samples and unmapped values
    assert (direct is not None) == (result is not None and not result[0]), (direct, result)
    if direct is not None:
        assert direct[:2] == result[1:]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    message=_message(),
    how=st.integers(0, 5),
    at=st.integers(0, 10_000),
    byte=st.integers(0, 255),
)
def test_mangled_payloads_are_declined_or_taken_alike(
    message: tuple[dict[str, int], bytes], how: int, at: int, byte: int
) -> None:
    aliases, data = message
    data = _mangle(data, how, at, byte)
    python = _outcome(_pipeline("300", aliases, compiled=False), data)
    assert _outcome(_pipeline("300", aliases, compiled=True), data) == python


def test_a_plain_benchmark_message_is_taken_in_c() -> None:
    """The benchmark's message (ten Doubles by alias) goes through the compiled decoder, whose
    samples carry the Python path's ids, times and values."""
    aliases = {name: 100 + i for i, name in enumerate(NAMES)}
    payload = pb.Payload(timestamp=NOW_MS, seq=2)
    for i in range(10):
        payload.metrics.add(alias=aliases["s10"], timestamp=NOW_MS + i, double_value=i / 3)
    payload.metrics.add(alias=aliases["s2"], int_value=2**32 - 5)  # an Int16 of -5
    payload.metrics.add(alias=aliases["s8"], long_value=2**64 - 1)  # an UInt64
    data = payload.SerializeToString()
    compiled = _pipeline("300", aliases, compiled=True)
    plan = compiled.data_path._plan(DDATA)
    assert plan is not None and plan.compiled is not None
    columns = EventColumns()
    assert columns.compiled is not None
    assert plan.compiled.take(data, 2, None, columns.compiled) == (12, 0, NOW_MS)
    assert len(columns) == 12
    python = _outcome(_pipeline("300", aliases, compiled=False), data)
    lists = _samples(columns)
    assert lists == python[1]
    assert lists[4][10:] == [-5.0, float(2**64 - 1)]
    digest = hashlib.blake2b(f"{G}/{N}/{D}|s10".encode(), digest_size=8).hexdigest()[:15]
    assert lists[0][:2] == [
        f"in-{NOW_MS:012x}-{digest}-002.000",
        f"in-{NOW_MS + 1:012x}-{digest}-002.001",
    ]
    assert struct.pack("<d", lists[4][1]) == struct.pack("<d", 1 / 3)
    assert list(columns.ts_ms()) == [NOW_MS + i for i in range(10)] + [NOW_MS] * 2


@pytest.mark.parametrize("ts", [MAX_TS_MS, MAX_TS_MS + 1, 2**48, 2**63, 2**64 - 1])
def test_the_last_instant_is_the_year_9999s(ts: int) -> None:
    """Up to the end of the year 9999 (Python's datetime), both hot paths take a sample, with
    the same id, its instant in 12 hex digits; a later one (accepted by ``max_future_s: null``)
    is declined by both and is the converter's dead letter, the ingester going on."""
    aliases = {name: 100 + i for i, name in enumerate(NAMES)}
    data = pb.Payload(
        timestamp=ts, seq=2, metrics=[pb.Payload.Metric(alias=aliases["s10"], double_value=1.5)]
    ).SerializeToString()
    compiled = _pipeline("null", aliases, compiled=True)
    plan = compiled.data_path._plan(DDATA)
    assert plan is not None and plan.compiled is not None
    direct = plan.compiled.take(data, 2, None, _spcolumns.Samples())
    assert (direct is not None) == (ts <= MAX_TS_MS)
    python = _pipeline("null", aliases, compiled=False)
    ids = []
    for pipeline in (compiled, python):
        columns = pipeline.batch.events
        taken = pipeline.data_path.take(DDATA, data, NOW_MS, columns)
        assert (taken is not None) == (ts <= MAX_TS_MS)
        ids.append(columns.table()["event_id"].to_pylist())
    digest = hashlib.blake2b(f"{G}/{N}/{D}|s10".encode(), digest_size=8).hexdigest()[:15]
    assert ids[0] == ids[1] == ([f"in-{ts:012x}-{digest}-002.000"] if ts <= MAX_TS_MS else [])
    if ts > MAX_TS_MS:
        python.sparkplug(DDATA, data, NOW_MS, None)  # the general path
        assert [letter.reason for letter in python.batch.letters] == [
            f"timestamp {ts} ms lies outside the years 1 to 9999"
        ]


def test_a_batch_without_compiled_samples_has_their_empty_columns() -> None:
    """A batch of births or rarer kinds only: the compiled decoder's part adds nothing."""
    columns = EventColumns()
    assert columns.compiled is not None and len(columns) == 0
    assert columns.compiled.columns() == (b"", b"", b"", b"", [], [], [])
    assert list(columns.ts_ms()) == []
    assert columns.table().num_rows == 0


def test_without_the_extension_the_python_path_decodes_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(spdata, "_spcolumns", None)
    monkeypatch.setattr(spdata, "_warned", False)
    aliases = {name: 7 + i for i, name in enumerate(NAMES)}
    with caplog.at_level(logging.WARNING, logger="factoryos.ingest.spdata"):
        pipeline = _pipeline("300", aliases, compiled=True)
    assert "_spcolumns (the compiled Sparkplug decoder) is not built" in caplog.text
    plan = pipeline.data_path._plan(DDATA)
    assert plan is not None and plan.compiled is None
    payload = pb.Payload(timestamp=NOW_MS, seq=2)
    payload.metrics.add(alias=aliases["s10"], double_value=1.5)
    taken, columns, next_seq, _ = _outcome(pipeline, payload.SerializeToString())
    assert taken == ([], 1, 0) and columns[4] == [1.5] and next_seq == 3
