"""A minimal Sparkplug B edge node for tests: births, then DDATA of ten Double metrics."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from factoryos.ingest.sparkplug import BDSEQ_METRIC, DataType, Metric, Payload, encode

GROUP, NODE, DEVICE = "jiading", "machining.cnc_machining", "hmc.1"
METRICS = [f"m{i}" for i in range(10)]


def mapping(group: str = GROUP, host_id: str = "factoryos") -> str:
    """Ten sample rules for the devices of ``group`` (paths under the site "jiading")."""
    return f"host_id: {host_id}\nsources:\n" + "".join(
        f"""  - sparkplug: {{group: {group}, node: "+", device: "+", metric: {m}}}
    path: "step_robotics/jiading/{{node}}/{{device}}"
    kind: sample
    sensor: {m}
"""
        for m in METRICS
    )


MAPPING = mapping()


class EdgeNode:
    """Publishes ``messages`` DDATA (QoS 1, persistent session) every ``every_s`` seconds, or
    fewer when :meth:`stop` is called first (``sent`` says how many)."""

    def __init__(
        self, port: int, messages: int, every_s: float, group: str = GROUP, device: str = DEVICE
    ) -> None:
        self.group = group
        self.device = device
        self.messages = messages
        self.every_s = every_s
        self.seq = 0
        self.sent = 0
        self._stop = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"test-edge-{group}", clean_session=False
        )
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(1, 2)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _send(self, kind: str, device: str | None, metrics: tuple[Metric, ...]) -> None:
        now = time.time_ns() // 1_000_000
        payload = Payload(now, self.seq, metrics)
        self.seq = (self.seq + 1) % 256
        topic = f"spBv1.0/{self.group}/{kind}/{NODE}" + (f"/{device}" if device else "")
        self.client.publish(topic, encode(payload), qos=1)

    def _run(self) -> None:
        self._send("NBIRTH", None, (Metric(BDSEQ_METRIC, None, None, DataType.UINT64, 0),))
        self._send(
            "DBIRTH",
            self.device,
            tuple(
                Metric(m, i + 1, None, DataType.DOUBLE, None, True) for i, m in enumerate(METRICS)
            ),
        )
        for n in range(self.messages):
            if self._stop.is_set():
                return
            ts = time.time_ns() // 1_000_000
            metrics = tuple(
                Metric(None, i + 1, ts, DataType.DOUBLE, float(n)) for i in range(len(METRICS))
            )
            self._send("DDATA", self.device, metrics)
            self.sent += 1
            time.sleep(self.every_s)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """End the stream after the message being sent."""
        self._stop.set()

    def join(self) -> None:
        self.thread.join()
        deadline = time.monotonic() + 30
        while self.client._out_messages and time.monotonic() < deadline:
            time.sleep(0.1)  # every QoS 1 message acknowledged by the broker
        self.client.disconnect()
        self.client.loop_stop()
