"""A Mosquitto with the plant configuration on a free loopback port, persistence in a temp dir."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CONFIG = Path(__file__).resolve().parents[2] / "config" / "mosquitto-plant.conf"


@dataclass
class PlantBroker:
    """A running broker that a test may stop and start again (same port, same data)."""

    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        text = CONFIG.read_text()
        text = text.replace("listener 1883 127.0.0.1", f"listener {self.port} 127.0.0.1")
        text = text.replace("/var/lib/mosquitto/", f"{self.workdir}/")
        if os.geteuid() == 0:  # as root, mosquitto would switch to user mosquitto
            text += f"\nuser {getpass.getuser()}\n"
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(text)
        log = (self.workdir / "mosquitto.log").open("ab")
        self.process = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(
            f"mosquitto did not start: {(self.workdir / 'mosquitto.log').read_text()}"
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: mosquitto saves its database and exits
            self.process.wait(10)
            self.process = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PlantBroker]:
    if shutil.which("mosquitto") is None:
        pytest.skip("the mosquitto binary is not installed (apt-get install mosquitto)")
    b = PlantBroker(_free_port(), tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()


def wait_online(port: int, host_ids: set[str], timeout_s: float = 60.0) -> None:
    """Until each host application published its retained STATE online (it has subscribed)."""
    import json

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    online: set[str] = set()

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        if json.loads(message.payload).get("online"):
            online.add(message.topic.rsplit("/", 1)[1])

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"wait-online-{time.time_ns()}")
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.subscribe("spBv1.0/STATE/+", qos=1)
    client.loop_start()
    deadline = time.monotonic() + timeout_s
    try:
        while not host_ids <= online:
            assert time.monotonic() < deadline, f"not online: {host_ids - online}"
            time.sleep(0.05)
    finally:
        client.disconnect()
        client.loop_stop()
