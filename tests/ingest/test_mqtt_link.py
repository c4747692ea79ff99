"""The lean MQTT connection against a scripted broker on loopback: keep-alive, reconnect with a
renewed will, acknowledgements only on the connection their message came on, faults reported.
(Against Mosquitto it is exercised by every live test: exactly once, kill -9, broker restart.)"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from factoryos.ingest import mqtt_wire as wire
from factoryos.ingest.mqtt_link import MqttLink
from factoryos.model.errors import IngestError

CONNACK_OK = b"\x20\x03\x00\x00\x00"


class ScriptedBroker:
    """Accepts connections one at a time; records every packet a client sends."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.packets: list[tuple[int, int, bytes]] = []  # (connection number, type, body)
        self.accepted = threading.Semaphore(0)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections.append(conn)
            number = len(self.connections)
            threading.Thread(target=self._read, args=(conn, number), daemon=True).start()

    def _read(self, conn: socket.socket, number: int) -> None:
        data = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            data += chunk
            while (first := wire.first_packet(data)) is not None:
                kind, body, used = first
                self.packets.append((number, kind, body))
                data = data[used:]
                if kind == 1:  # CONNECT
                    conn.sendall(CONNACK_OK)
                    self.accepted.release()

    def of(self, kind: int) -> list[tuple[int, bytes]]:
        return [(n, body) for n, k, body in self.packets if k == kind]

    def close(self) -> None:
        self.server.close()
        for conn in self.connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


@pytest.fixture
def broker() -> Iterator[ScriptedBroker]:
    b = ScriptedBroker()
    yield b
    b.close()


def _wait(condition: object, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)
    assert condition(), "not within the time"  # type: ignore[operator]


def _link(broker: ScriptedBroker, **kwargs: object) -> tuple[MqttLink, dict[str, list[object]]]:
    heard: dict[str, list[object]] = {"publish": [], "connected": [], "wills": [], "failure": []}
    count = iter(range(1, 100))

    def connecting() -> wire.Will:
        will = wire.Will("spBv1.0/STATE/h", f"offline {next(count)}".encode(), 1, True)
        heard["wills"].append(will.payload)
        return will

    link = MqttLink(
        "127.0.0.1",
        broker.port,
        "link-test",
        3600,
        lambda *a: heard["publish"].append(a),
        connecting,
        lambda: heard["connected"].append(link.generation),
        heard["failure"].append,
        **kwargs,  # type: ignore[arg-type]
    )
    return link, heard


def test_publishes_arrive_and_are_acknowledged_in_one_write(broker: ScriptedBroker) -> None:
    link, heard = _link(broker)
    link.start(5)
    assert broker.accepted.acquire(timeout=5)
    conn = broker.connections[0]
    conn.sendall(b"".join(wire.publish(f"t/{i}", b"x", 1, False, i + 1) for i in range(50)))
    _wait(lambda: len(heard["publish"]) == 50)
    link.acknowledge([p[2] for p in heard["publish"]], link.generation)  # type: ignore[index]
    _wait(lambda: len(broker.of(wire.PUBACK)) == 50)
    assert [b for _, b in broker.of(wire.PUBACK)] == [bytes((0, i + 1)) for i in range(50)]
    link.close()
    _wait(lambda: len(broker.of(wire.DISCONNECT)) == 1)


def test_keepalive_pings_when_idle(broker: ScriptedBroker) -> None:
    link, _ = _link(broker, keepalive_s=1)
    link.start(5)
    _wait(lambda: len(broker.of(12)) >= 2, timeout_s=4)  # PINGREQ every half keep-alive
    link.close()


def test_reconnects_with_a_renewed_will_and_drops_acks_of_the_old_connection(
    broker: ScriptedBroker,
) -> None:
    link, heard = _link(broker)
    link.start(5)
    assert broker.accepted.acquire(timeout=5)
    broker.connections[0].sendall(wire.publish("t", b"x", 1, False, 5))
    _wait(lambda: len(heard["publish"]) == 1)
    old = link.generation
    broker.connections[0].shutdown(socket.SHUT_RDWR)  # lost: the link connects again after 1 s
    assert broker.accepted.acquire(timeout=5)
    _wait(lambda: len(heard["connected"]) == 2)
    assert heard["wills"] == [b"offline 1", b"offline 2"]  # renewed before each CONNECT
    link.acknowledge([5], old)  # taken on the lost connection: not written on the new one
    link.acknowledge([6], link.generation)
    _wait(lambda: len(broker.of(wire.PUBACK)) == 1)
    assert broker.of(wire.PUBACK) == [(2, b"\x00\x06")]
    connects = [body for _, body in broker.of(1)]
    assert len(connects) == 2 and all(body[7] & 0x02 == 0 for body in connects)  # session kept
    link.close()


def test_a_fault_in_a_callback_is_handed_to_the_owner(broker: ScriptedBroker) -> None:
    failures: list[BaseException] = []

    def boom(*_a: object) -> None:
        raise ValueError("a bug")

    link = MqttLink(
        "127.0.0.1", broker.port, "x", 60, boom, lambda: None, lambda: None, failures.append
    )
    link.start(5)
    assert broker.accepted.acquire(timeout=5)
    broker.connections[0].sendall(wire.publish("t", b"x", 1, False, 1))
    _wait(lambda: len(failures) == 1)
    assert isinstance(failures[0], ValueError)
    link.close()


def test_no_broker_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        link = MqttLink(
            "127.0.0.1", port, "x", 60, lambda *a: None, lambda: None, lambda: None, print
        )
        with pytest.raises(IngestError, match=r"cannot reach the broker 127\.0\.0\.1"):
            link.start(2)
