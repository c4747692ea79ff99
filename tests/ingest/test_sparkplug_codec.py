"""Sparkplug B payloads: bytes made by another implementation decode to the documented values."""

from __future__ import annotations

import base64

import pytest

from factoryos.ingest.sparkplug import (
    CodecError,
    DataType,
    MessageType,
    Metric,
    Payload,
    Topic,
    decode,
    encode,
    typed_value,
)

# Static vectors of the benthos-umh Sparkplug B plugin (Go, Apache-2.0, made with the official
# protobuf schema): sparkplug_plugin/test_vectors.go in github.com/united-manufacturing-hub.
NBIRTH_V1 = (
    "CNLig7n6MhINCgViZFNlcRABIAhYWBIcChROb2RlIENvbnRyb2wvUmViaXJ0aBACIAtwABIaCgtUZW1wZXJhdHVy"
    "ZRBkIAppAAAAAACANUAYAA=="
)
NDATA_V1 = "CNLig7n6MhINEGQgCmkAAAAAAIA2QBgB"
NDEATH_V1 = "CNLig7n6MhINCgViZFNlcRAAIAhYABgA"


def test_third_party_birth_data_and_death_decode() -> None:
    birth, fields = decode(base64.b64decode(NBIRTH_V1))
    assert birth.timestamp_ms == 1750855643474 and birth.seq == 0
    assert [(m.name, m.alias, m.datatype, m.value) for m in birth.metrics] == [
        ("bdSeq", 1, DataType.UINT64, 88),
        ("Node Control/Rebirth", 2, DataType.BOOLEAN, False),
        ("Temperature", 100, DataType.DOUBLE, 21.5),
    ]
    assert fields == ("long_value", "boolean_value", "double_value")
    data, _ = decode(base64.b64decode(NDATA_V1))
    assert data.seq == 1
    assert [(m.name, m.alias, m.value) for m in data.metrics] == [(None, 100, 22.5)]
    death, _ = decode(base64.b64decode(NDEATH_V1))
    assert [(m.name, m.value) for m in death.metrics] == [("bdSeq", 0)]


def test_signed_integers_round_trip() -> None:
    metrics = tuple(
        Metric(f"m{t}", None, 5, t, v)
        for t, v in [
            (DataType.INT8, -1),
            (DataType.INT16, -300),
            (DataType.INT32, -(2**31)),
            (DataType.INT64, -(2**63)),
            (DataType.UINT64, 2**64 - 1),
            (DataType.STRING, "画"),
        ]
    )
    payload, fields = decode(encode(Payload(1, 7, metrics)))
    typed = [
        typed_value(m.datatype or 0, f, m.value)
        for m, f in zip(payload.metrics, fields, strict=True)
    ]
    assert typed == [m.value for m in metrics]


def test_bad_payloads_and_topics_are_codec_errors() -> None:
    with pytest.raises(CodecError):
        decode(b"\xff\xff\xff")
    with pytest.raises(CodecError):
        decode(base64.b64decode(NBIRTH_V1)[:-5])
    with pytest.raises(CodecError, match="needs double_value"):
        typed_value(DataType.DOUBLE, "string_value", "x")
    with pytest.raises(CodecError):
        Topic.parse("spBv1.0/g/DDATA/n")  # a device message needs a device
    assert Topic.parse("spBv1.0/g/DDATA/n/d") == Topic(MessageType.DDATA, "g", "n", "d")
    assert Topic.parse("spBv1.0/STATE/host").type is MessageType.STATE
