"""The lean MQTT 5 codec of the ingester's data path (OASIS MQTT 5.0 section 3)."""

from __future__ import annotations

import struct

from factoryos.ingest import mqtt_wire as wire

Seen = tuple[str, bytes, int, int, bool, bool]


def _parse(data: bytes) -> tuple[list[Seen], list[tuple[int, bytes]], int]:
    publishes: list[Seen] = []
    others: list[tuple[int, bytes]] = []
    used = wire.parse(
        data, lambda *a: publishes.append(a), lambda kind, body: others.append((kind, body))
    )
    return publishes, others, used


def test_publishes_parse_back_with_their_flags_and_ids() -> None:
    data = (
        wire.publish("spBv1.0/g/DDATA/n/d", b"\x01\x02", 1, False, 7)
        + wire.publish("spBv1.0/STATE/h", b'{"online": true}', 1, True, 65535)
        + wire.publish("a/b", b"", 0, False)
    )
    publishes, others, used = _parse(data)
    assert used == len(data) and others == []
    assert publishes == [
        ("spBv1.0/g/DDATA/n/d", b"\x01\x02", 7, 1, False, False),
        ("spBv1.0/STATE/h", b'{"online": true}', 65535, 1, False, True),
        ("a/b", b"", 0, 0, False, False),
    ]


def test_dup_flag_and_properties_a_broker_adds_are_read_past() -> None:
    # A redelivery (DUP) carrying a message expiry (0x02) and a user property (0x26)
    properties = b"\x02" + struct.pack("!I", 60) + b"\x26\x00\x01k\x00\x01v"
    body = b"\x00\x03a/b" + b"\x01\x02" + bytes((len(properties),)) + properties + b"payload"
    packet = bytes((0x30 | 0x08 | 0x02, len(body))) + body
    publishes, _, used = _parse(packet)
    assert used == len(packet)
    assert publishes == [("a/b", b"payload", 258, 1, True, False)]


def test_long_packets_use_multi_byte_remaining_lengths() -> None:
    for size in (127, 128, 16_383, 16_384, 2_097_152):
        payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
        packet = wire.publish("t", payload, 1, False, 1)
        publishes, _, used = _parse(packet)
        assert used == len(packet), size
        assert publishes[0][1] == payload


def test_a_packet_cut_anywhere_waits_for_the_rest() -> None:
    data = wire.publish("spBv1.0/g/DDATA/n/d", bytes(300), 1, False, 9) + b"\xd0\x00"
    for cut in range(len(data)):
        first, _, used = _parse(data[:cut])
        whole = cut >= len(data) - 2
        assert used == (len(data) - 2 if whole else 0), cut
        assert len(first) == (1 if whole else 0)
    publishes, others, used = _parse(data)
    assert used == len(data) and len(publishes) == 1 and others == [(wire.PINGRESP, b"")]


def test_pubacks_of_a_batch_are_one_buffer_of_success_acknowledgements() -> None:
    assert wire.pubacks([1, 258, 65535]) == (
        b"\x40\x02\x00\x01" + b"\x40\x02\x01\x02" + b"\x40\x02\xff\xff"
    )
    assert wire.pubacks([]) == b""


def test_connect_asks_for_a_persistent_session_with_a_retained_qos1_will() -> None:
    will = wire.Will("spBv1.0/STATE/h", b'{"online": false}', qos=1, retain=True)
    packet = wire.connect("factoryos-ingest-h", 60, False, 604_800, will)
    kind, body, used = wire.first_packet(packet) or (0, b"", 0)
    assert kind == 1 and used == len(packet)
    assert body[:6] == b"\x00\x04MQTT" and body[6] == 5  # MQTT 5
    flags = body[7]
    assert flags & 0x02 == 0  # clean start false: the session is kept
    assert flags & 0x04 and (flags >> 3) & 3 == 1 and flags & 0x20  # will, QoS 1, retained
    assert struct.unpack("!H", body[8:10]) == (60,)
    assert body[10:16] == b"\x05\x11" + struct.pack("!I", 604_800)  # session expiry
    rest = body[16:]
    assert rest.startswith(b"\x00\x12factoryos-ingest-h\x00\x00\x0fspBv1.0/STATE/h")
    assert rest.endswith(b'\x00\x11{"online": false}')


def test_connack_and_incomplete_first_packets() -> None:
    assert wire.first_packet(b"\x20") is None
    assert wire.first_packet(b"\x20\x03\x01\x00") is None
    first = wire.first_packet(b"\x20\x03\x01\x00\x00\x30")
    assert first == (wire.CONNACK, b"\x01\x00\x00", 5)
    assert wire.connack(first[1]) == (True, 0)
    assert wire.connack(b"\x00\x87") == (False, 0x87)  # not authorized


def test_subscribe_lists_each_filter_with_its_qos() -> None:
    packet = wire.subscribe(3, ["spBv1.0/g/#", "spBv1.0/STATE/h"], 1)
    kind, body, _ = wire.first_packet(packet) or (0, b"", 0)
    assert packet[0] == 0x82 and kind == 8
    assert body == b"\x00\x03\x00" + b"\x00\x0bspBv1.0/g/#\x01" + b"\x00\x0fspBv1.0/STATE/h\x01"
