"""Edge nodes made with pysparkplug, a Sparkplug B implementation factoryos did not write.

pysparkplug 0.6.1 pins paho-mqtt < 2 (scripts/setup.sh installs it without its dependencies).
Its client runs on paho-mqtt 2 (keyword arguments, callback API version 1) except for one call:
``message_retry_set``, which paho-mqtt 1.6 already kept as a no-op ("No longer used, remove in
version 2.0") and 2.0 removed. :func:`pysparkplug` puts that no-op back, nothing else.
"""

from __future__ import annotations

import threading
import time
import warnings
from types import ModuleType
from typing import Any

import paho.mqtt.client as paho
import pytest

REBIRTH = "Node Control/Rebirth"


def pysparkplug() -> ModuleType:
    """The pysparkplug package with its client usable on paho-mqtt 2 (skips when absent)."""
    psp = pytest.importorskip("pysparkplug", reason="scripts/setup.sh installs pysparkplug")
    if not hasattr(paho.Client, "message_retry_set"):
        paho.Client.message_retry_set = lambda self, retry: None  # type: ignore[attr-defined]
    warnings.filterwarnings("ignore", "Callback API version 1", DeprecationWarning)
    return psp


def client(psp: ModuleType, client_id: str) -> Any:
    return psp.Client(client_id=client_id)


class RebirthingEdge:
    """An edge node with one device and one Float metric ``Temp`` (alias 1) on pysparkplug's
    low-level client: it publishes births on connect and again on every NCMD
    ``Node Control/Rebirth`` (decoded by pysparkplug), keeps ``seq``, and can skip one to make
    a gap, as a message lost on the way would."""

    def __init__(self, group: str, node: str, device: str, port: int = 1883) -> None:
        self.psp = psp = pysparkplug()
        self.group, self.node, self.device = group, node, device
        self.bdseq = 0
        self.seq = 0
        self.rebirths = 0
        self.births_sent = threading.Event()
        self._lock = threading.Lock()
        self.client = client(psp, f"rebirthing-edge-{group}")
        death = psp.NDeath(timestamp=psp.get_current_timestamp(), bd_seq_metric=self._bdseq())
        topic = psp.Topic(message_type=psp.MessageType.NDEATH, group_id=group, edge_node_id=node)
        self.client.set_will(psp.Message(topic, death, psp.QoS.AT_LEAST_ONCE, False))
        ncmd = psp.Topic(message_type=psp.MessageType.NCMD, group_id=group, edge_node_id=node)
        self.client.subscribe(ncmd, psp.QoS.AT_LEAST_ONCE, self._command)
        self.client.connect("127.0.0.1", port=port, callback=lambda _c: self.births())

    def _bdseq(self) -> Any:
        psp = self.psp
        now = psp.get_current_timestamp()
        return psp.Metric(timestamp=now, name="bdSeq", datatype=psp.DataType.INT64, value=0)

    def _publish(self, kind: Any, payload: Any) -> None:
        psp = self.psp
        device = None if kind in (psp.MessageType.NBIRTH, psp.MessageType.NDATA) else self.device
        topic = psp.Topic(
            message_type=kind, group_id=self.group, edge_node_id=self.node, device_id=device
        )
        message = psp.Message(topic, payload, psp.QoS.AT_MOST_ONCE, False)
        self.client.publish(message, include_dtypes=True)

    def births(self) -> None:
        psp = self.psp
        D = psp.DataType
        now = psp.get_current_timestamp()
        with self._lock:
            self.seq = 2
            rebirth = psp.Metric(timestamp=now, name=REBIRTH, datatype=D.BOOLEAN, value=False)
            nbirth = psp.NBirth(timestamp=now, seq=0, metrics=(self._bdseq(), rebirth))
            self._publish(psp.MessageType.NBIRTH, nbirth)
            temp = psp.Metric(timestamp=now, name="Temp", datatype=D.FLOAT, value=20.0, alias=1)
            self._publish(psp.MessageType.DBIRTH, psp.DBirth(timestamp=now, seq=1, metrics=(temp,)))
        self.births_sent.set()

    def data(self, value: float, lose: bool = False) -> None:
        """A DDATA of ``Temp`` by alias; ``lose``: the seq before it is never sent."""
        psp = self.psp
        now = psp.get_current_timestamp()
        metric = psp.Metric(
            timestamp=now, name=None, datatype=psp.DataType.FLOAT, value=value, alias=1
        )
        with self._lock:
            if lose:
                self.seq = (self.seq + 1) % 256
            payload = psp.DData(timestamp=now, seq=self.seq, metrics=(metric,))
            self.seq = (self.seq + 1) % 256
            self._publish(psp.MessageType.DDATA, payload)

    def _command(self, _client: Any, message: Any) -> None:
        if any(m.name == REBIRTH and m.value is True for m in message.payload.metrics):
            self.births_sent.clear()
            self.births()
            self.rebirths += 1

    def wait_rebirths(self, n: int, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.rebirths < n:
            assert time.monotonic() < deadline, f"{self.rebirths} rebirths, expected {n}"
            time.sleep(0.02)

    def close(self) -> None:
        self.client.disconnect()
