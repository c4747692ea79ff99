"""MQTT 5 packets of the ingester's data path (OASIS MQTT 5.0, section 3), encoded and parsed.

Hand-written because the client library was half of the ingester's CPU: paho-mqtt 2 spends
44-49 µs of CPU per 10-metric Sparkplug message (a small ``recv`` per packet, a parse of every
MQTT 5 property, its locks, a PUBACK written per message), where the whole decode to events
costs ~22. :func:`parse` takes every whole packet of one bulk read in a single loop and
:func:`pubacks` writes the acknowledgements of a committed batch as one buffer: a counting
subscriber on them spends 2-9 µs a message, system calls included, against paho's 44-49
(``bench/ingest.py``, (a) and (a'), 2026-12-07, load average 10-13); the parse and PUBACK
alone are 0.6 µs a message (``bench/ingest_stages.py``). Only what a subscriber with QoS 1 and a
retained, QoS 1 STATE publish needs is here: no QoS 2, no AUTH, no topic aliases (the
ingester's CONNECT does not allow the broker any), no incoming properties but their length.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from factoryos.model.errors import IngestError

CONNACK, PUBLISH, PUBACK, SUBACK, PINGRESP, DISCONNECT = 2, 3, 4, 9, 13, 14
PINGREQ_PACKET = b"\xc0\x00"
DISCONNECT_PACKET = b"\xe0\x00"  # reason 0, normal disconnection: the broker drops the will

_SESSION_EXPIRY = 0x11
_ACK = struct.Struct("!BBH")


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int
    retain: bool


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (128 if n else 0))
        if not n:
            return bytes(out)


def _str(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def _bin(raw: bytes) -> bytes:
    return struct.pack("!H", len(raw)) + raw


def _packet(first: int, body: bytes) -> bytes:
    return bytes((first,)) + _varint(len(body)) + body


def connect(
    client_id: str, keepalive_s: int, clean_start: bool, session_expiry_s: int, will: Will | None
) -> bytes:
    """CONNECT (3.1): MQTT 5, no user name; the session outlives the connection by
    ``session_expiry_s``."""
    flags = 0 if not clean_start else 0x02
    if will is not None:
        flags |= 0x04 | (will.qos << 3) | (0x20 if will.retain else 0)
    properties = bytes((_SESSION_EXPIRY,)) + struct.pack("!I", session_expiry_s)
    body = _str("MQTT") + bytes((5, flags)) + struct.pack("!H", keepalive_s)
    body += _varint(len(properties)) + properties + _str(client_id)
    if will is not None:
        body += b"\x00" + _str(will.topic) + _bin(will.payload)  # no will properties
    return _packet(0x10, body)


def subscribe(packet_id: int, filters: list[str], qos: int) -> bytes:
    body = struct.pack("!H", packet_id) + b"\x00"
    body += b"".join(_str(f) + bytes((qos,)) for f in filters)
    return _packet(0x82, body)


def publish(topic: str, payload: bytes, qos: int, retain: bool, packet_id: int = 0) -> bytes:
    first = 0x30 | (qos << 1) | (1 if retain else 0)
    body = _str(topic) + (struct.pack("!H", packet_id) if qos else b"") + b"\x00" + payload
    return _packet(first, body)


def pubacks(packet_ids: list[int]) -> bytes:
    """The PUBACKs of many messages as one buffer (3.4: remaining length 2 means success)."""
    pack = _ACK.pack
    return b"".join([pack(0x40, 2, i) for i in packet_ids])


def connack(packet: bytes) -> tuple[bool, int]:
    """(session present, reason code) of a CONNACK's variable header."""
    if len(packet) < 2:
        raise IngestError(f"malformed CONNACK from the broker: {packet!r}")
    return bool(packet[0] & 1), packet[1]


def first_packet(data: bytes) -> tuple[int, bytes, int] | None:
    """Type, body and length of the first packet in ``data``, or None while it is incomplete."""
    length, shift, i = 0, 0, 1
    while True:
        if i >= len(data):
            return None
        length |= (data[i] & 127) << shift
        shift += 7
        i += 1
        if not data[i - 1] & 128:
            break
    if i + length > len(data):
        return None
    return data[0] >> 4, data[i : i + length], i + length


OnPublish = Callable[[str, bytes, int, int, bool, bool], None]
"""Hears topic, payload, packet id (0 for QoS 0), QoS, DUP and RETAIN of a PUBLISH."""
OnOther = Callable[[int, bytes], None]
"""Hears any other packet: its type and its variable header and payload."""


def parse(data: bytes, on_publish: OnPublish, on_other: OnOther) -> int:
    """Hand every whole packet in ``data`` to the callbacks; the bytes used (the rest is the
    start of a packet still on its way)."""
    topics: dict[bytes, str] = _TOPICS
    end = len(data)
    pos = 0
    while end - pos >= 2:
        first = data[pos]
        i = pos + 1
        byte = data[i]
        length = byte & 127
        shift = 7
        while byte & 128:
            i += 1
            if i >= end:
                return pos
            byte = data[i]
            length |= (byte & 127) << shift
            shift += 7
        i += 1
        stop = i + length
        if stop > end:
            return pos
        if first >> 4 == PUBLISH:
            j = i + 2 + ((data[i] << 8) | data[i + 1])
            raw = data[i + 2 : j]
            topic = topics.get(raw)
            if topic is None:
                topic = raw.decode()
                if len(topics) < 100_000:  # a plant's topics; beyond that, decode each time
                    topics[raw] = topic
            qos = (first >> 1) & 3
            packet_id = 0
            if qos:
                packet_id = (data[j] << 8) | data[j + 1]
                j += 2
            byte = data[j]  # the property length, skipped (none are asked for)
            properties = byte & 127
            shift = 7
            while byte & 128:
                j += 1
                byte = data[j]
                properties |= (byte & 127) << shift
                shift += 7
            j += 1 + properties
            on_publish(topic, data[j:stop], packet_id, qos, bool(first & 8), bool(first & 1))
        else:
            on_other(first >> 4, data[i:stop])
        pos = stop
    return pos


_TOPICS: dict[bytes, str] = {}
