"""A lean MQTT 5 connection for the ingester's data path: bulk reads, batched acknowledgements.

One network thread reads the socket in blocks of up to ``READ_BYTES`` and hands every PUBLISH of
a block to ``on_publish`` (:func:`factoryos.ingest.mqtt_wire.parse`); other threads write
(acknowledgements of a committed batch as one ``sendall``, publishes) under a lock. The session is
persistent (``clean_start`` false, an expiry), the will is renewed before every CONNECT
(``on_connecting``), a lost connection is retried with a growing delay (1 s up to 5 s, as the
paho client did) and ``on_connected`` runs again (subscribe, birth). Each connection has a
generation number: an acknowledgement is written only on the connection its message came on;
after a reconnect the broker sends the unacknowledged messages again, and each copy is
acknowledged when the batch that took it commits (its events are duplicates by then).
A PINGREQ goes out when nothing was written for half the keep-alive, and a connection that read
nothing for one and a half keep-alives is taken for lost (MQTT 5, 3.1.2.10).
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
import time
from collections.abc import Callable

from factoryos.ingest import mqtt_wire as wire
from factoryos.model.errors import IngestError

log = logging.getLogger(__name__)

READ_BYTES = 1 << 18
"""One ``recv``: at 100-byte-plus Sparkplug messages, up to ~1,000 PUBLISH packets a read."""
RECONNECT_S = (1.0, 5.0)


class MqttLink:
    """A client connection; ``start`` connects (raising :class:`IngestError` if it cannot) and
    starts the network thread, ``close`` disconnects cleanly (the broker drops the will). An
    exception out of a callback ends the network thread and is handed to ``on_failure``."""

    def __init__(
        self,
        host: str,
        port: int,
        client_id: str,
        session_expiry_s: int,
        on_publish: wire.OnPublish,
        on_connecting: Callable[[], wire.Will | None],
        on_connected: Callable[[], None],
        on_failure: Callable[[BaseException], None],
        keepalive_s: int = 60,
    ) -> None:
        self.host, self.port = host, port
        self.client_id = client_id
        self.session_expiry_s = session_expiry_s
        self.keepalive_s = keepalive_s
        self.on_publish = on_publish
        self.on_connecting = on_connecting
        self.on_connected = on_connected
        self.on_failure = on_failure
        self.generation = 0
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._sent_at = 0.0
        self._packet_id = 0
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, timeout_s: float) -> None:
        try:
            self._connect(timeout_s)
        except OSError as exc:
            raise IngestError(f"cannot reach the broker {self.host}:{self.port}: {exc}") from exc
        self._thread = threading.Thread(target=self._network, name="mqtt-link", daemon=True)
        self._thread.start()

    def _connect(self, timeout_s: float) -> None:
        will = self.on_connecting()
        sock = socket.create_connection((self.host, self.port), timeout=timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        expiry_s = self.session_expiry_s
        sock.sendall(wire.connect(self.client_id, self.keepalive_s, False, expiry_s, will))
        data = b""
        while (first := wire.first_packet(data)) is None:  # the broker's first is the CONNACK
            chunk = sock.recv(4096)
            if not chunk:
                raise IngestError(f"the broker {self.host}:{self.port} closed the connection")
            data += chunk
        kind, body, used = first
        if kind != wire.CONNACK:
            raise IngestError(f"the broker answered CONNECT with packet type {kind}")
        _present, reason = wire.connack(body)
        if reason >= 0x80:
            raise IngestError(
                f"the broker {self.host}:{self.port} refused the connection (reason {reason:#x})"
            )
        # Blocking without a timeout: a timeout would apply to the writer's sendall too, and a
        # send cut short by it would leave the broker half a packet. The network thread waits
        # for data with poll instead, waking up for the keep-alive.
        sock.settimeout(None)
        with self._send_lock:
            self._sock = sock
            self.generation += 1
            self._sent_at = time.monotonic()
        self._rest = data[used:]
        self.on_connected()

    def _network(self) -> None:
        try:
            self._serve()
        except BaseException as exc:  # a fault in a callback: the owner stops, and says why
            self.on_failure(exc)

    def _serve(self) -> None:
        while not self._closing.is_set():
            sock = self._sock
            try:
                if sock is None:
                    raise OSError("not connected")
                self._read(sock)
            except (OSError, IngestError) as exc:
                if self._closing.is_set():
                    return
                log.warning("MQTT connection lost (%s); reconnecting", exc)
                self._drop(sock)
                self._reconnect()

    def _read(self, sock: socket.socket) -> None:
        data = self._rest
        self._rest = b""
        read_at = time.monotonic()
        recv, parse, on_publish = sock.recv, wire.parse, self.on_publish
        waiting = select.poll()
        waiting.register(sock, select.POLLIN)
        wait_ms = int(min(1.0, self.keepalive_s / 2) * 1000)
        while not self._closing.is_set():
            if not waiting.poll(wait_ms):
                now = time.monotonic()
                if now - read_at > 1.5 * self.keepalive_s:
                    raise OSError("no packet from the broker within 1.5 keep-alives")
                self._ping(now)
                continue
            chunk = recv(READ_BYTES)
            if not chunk:
                raise OSError("the broker closed the connection")
            read_at = time.monotonic()
            data = data + chunk if data else chunk
            used = parse(data, on_publish, self._other)
            data = data[used:]
            if read_at - self._sent_at >= self.keepalive_s / 2:
                self._ping(read_at)

    def _other(self, kind: int, body: bytes) -> None:
        if kind == wire.DISCONNECT:
            raise OSError(f"the broker disconnected (reason {body[:1].hex() or '00'})")
        # SUBACK, PUBACK of our own publishes and PINGRESP need no answer.

    def _ping(self, now: float) -> None:
        if now - self._sent_at >= self.keepalive_s / 2:
            self.send(wire.PINGREQ_PACKET)

    def _drop(self, sock: socket.socket | None) -> None:
        with self._send_lock:
            if self._sock is sock:
                self._sock = None
        if sock is not None:
            with contextlib.suppress(OSError):  # already gone
                sock.shutdown(socket.SHUT_RDWR)  # wakes the network thread's recv
            sock.close()

    def _reconnect(self) -> None:
        delay = RECONNECT_S[0]
        while not self._closing.wait(delay):
            try:
                self._connect(timeout_s=5.0)
                return
            except (OSError, IngestError) as exc:
                log.warning("MQTT reconnect failed (%s); next try in %.0f s", exc, delay)
                delay = min(delay * 2, RECONNECT_S[1])

    def send(self, packet: bytes, generation: int | None = None) -> bool:
        """Write ``packet`` (on the connection of ``generation`` only, if given); whether it
        went out."""
        with self._send_lock:
            sock = self._sock
            if sock is None or (generation is not None and generation != self.generation):
                return False
            try:
                sock.sendall(packet)
            except OSError as exc:
                # Whatever part went out, the connection is done with: the network thread sees
                # it closed, reconnects, and the broker sends the unacknowledged messages again.
                log.warning("MQTT write failed (%s); dropping the connection", exc)
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                return False
            self._sent_at = time.monotonic()
            return True

    def acknowledge(self, packet_ids: list[int], generation: int) -> None:
        if packet_ids:
            self.send(wire.pubacks(packet_ids), generation)

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> None:
        with self._send_lock:
            self._packet_id = self._packet_id % 65535 + 1
            packet_id = self._packet_id
        self.send(wire.publish(topic, payload, qos, retain, packet_id))

    def subscribe(self, filters: list[str], qos: int) -> None:
        with self._send_lock:
            self._packet_id = self._packet_id % 65535 + 1
            packet_id = self._packet_id
        self.send(wire.subscribe(packet_id, filters, qos))

    def close(self) -> None:
        """DISCONNECT (normal: no will) and stop the network thread."""
        self._closing.set()
        self.send(wire.DISCONNECT_PACKET)
        self._drop(self._sock)
        if self._thread is not None:
            self._thread.join(5)
