"""``factoryos simulate --publish``: the JSON and OPC UA modes from the command line."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from factoryos.cli.main import app
from factoryos.ingest.mapping import load_mapping
from tests.ingest.conftest import PlantBroker
from tests.ingest.twin_kpis import wait_for

ROOT = Path(__file__).resolve().parents[2]
PLANT = str(ROOT / "examples" / "robot_factory.yaml")
runner = CliRunner()


@pytest.mark.integration
def test_publish_json_from_the_command_line(
    broker: PlantBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the mapping is written to the working directory
    prefix = f"cli{time.time_ns()}"
    topics: list[str] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{prefix}-watch")
    client.on_message = lambda _c, _u, m: topics.append(m.topic)
    client.connect("127.0.0.1", broker.port)
    client.subscribe(f"{prefix}/#", qos=1)
    client.loop_start()
    try:
        time.sleep(0.3)  # subscribed before the twin publishes
        args = ["simulate", PLANT, "--days", "0.05", "--publish", broker.url, "--format", "json"]
        result = runner.invoke(app, [*args, "--topic-prefix", prefix])
        assert result.exit_code == 0, result.output
        found = re.search(r"([\d,]+) MQTT messages published", result.output)
        assert found is not None, result.output
        sent = int(found.group(1).replace(",", ""))
        wait_for(lambda: len(topics) >= sent, 30, f"{sent} messages")
    finally:
        client.disconnect()
        client.loop_stop()
    assert sent > 10 and len(topics) == sent
    assert all(re.fullmatch(rf"{prefix}/jiading/\w+/\w+/[\w.]+/\w+", t) for t in topics)
    mapping = load_mapping(tmp_path / "robot_factory.ingest.yaml")
    assert {r.mqtt.topic.split("/")[0] for r in mapping.sources if r.mqtt} == {prefix}


def test_publish_opcua_needs_a_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["simulate", PLANT, "--publish", "opc.tcp://127.0.0.1/"])
    assert result.exit_code == 1
    assert "expected opc.tcp://HOST:PORT[/path], got 'opc.tcp://127.0.0.1/'" in result.output


def test_publish_opcua_on_a_port_in_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A clear error at once, not a traceback."""
    monkeypatch.chdir(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        url = f"opc.tcp://127.0.0.1:{taken.getsockname()[1]}/"
        result = runner.invoke(app, ["simulate", PLANT, "--days", "0.01", "--publish", url])
    assert result.exit_code == 1, result.output
    assert f"cannot serve OPC UA at {url}" in result.output


def test_publish_options_of_another_mode_are_refused() -> None:
    """--format without an MQTT broker, --hold without an OPC UA server: an error, not ignored."""
    for extra in (
        ["--format", "json"],
        ["--publish", "opc.tcp://127.0.0.1:4840", "--format", "json"],
        ["--publish", "mqtt://127.0.0.1:1", "--hold", "3"],
        ["--publish", "mqtt://127.0.0.1:1", "--topic-prefix", "x"],  # a Sparkplug B namespace
    ):
        result = runner.invoke(app, ["simulate", PLANT, *extra])
        assert result.exit_code == 2, (extra, result.output)
        assert "not for this mode" in result.output, result.output
