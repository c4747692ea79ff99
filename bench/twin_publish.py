"""The twin as a virtual plant: how fast each publish mode goes flat out (``--speed`` unset).

The same twin run (``examples/robot_factory.yaml``, seed 3) is timed four times in one process:
the twin alone (its events to a sink that keeps nothing: the peer every mode is compared with),
then published as Sparkplug B and as MQTT JSON to a Mosquitto with ``config/mosquitto-plant.conf``
on a free loopback port, and served as an OPC UA server on a free port (no subscriber: the cost
of keeping the server's variables). Prints events/s, messages (or variable writes)/s and the time
ratio to the twin alone.

    .venv/bin/python bench/twin_publish.py             # one simulated day
    .venv/bin/python bench/twin_publish.py --days 3
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from factoryos.app.publishing import Format, publish_simulation
from factoryos.app.simulation import DAY_S, run_id
from factoryos.model import load_plant
from factoryos.simulate.demand import steady_demand
from factoryos.simulate.replicate import RunSpec
from factoryos.simulate.twin import DispatchRule
from tests.ingest.conftest import PlantBroker, _free_port

ROOT = Path(__file__).resolve().parents[1]
console = Console()


def main(days: Annotated[float, typer.Option(help="Simulated days.")] = 1.0) -> None:
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    start = dt.datetime(2026, 3, 2, tzinfo=plant.zone)
    orders = tuple(steady_demand(plant, 10_000.0, days * DAY_S))
    spec = RunSpec(plant, orders, start, days * DAY_S, 3, DispatchRule.FIFO, None)
    made = [0]

    def count(_event: object) -> None:
        made[0] += 1

    began = time.perf_counter()
    spec.twin(0, sink=count, run_id=run_id(spec)).run()
    alone_s = time.perf_counter() - began
    table = Table(title=f"{days:g} day(s) of robot_factory.yaml, {made[0]:,} events, flat out")
    for column in ("mode", "seconds", "events/s", "sent", "sent/s", "x twin alone"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    table.add_row("twin alone", f"{alone_s:.2f}", f"{made[0] / alone_s:,.0f}", "", "", "1.00")
    with tempfile.TemporaryDirectory() as tmp:
        broker = PlantBroker(_free_port(), Path(tmp))
        broker.start()
        try:
            modes = [
                ("Sparkplug B", broker.url, Format.SPARKPLUG),
                ("MQTT JSON", broker.url, Format.JSON),
                ("OPC UA server", f"opc.tcp://127.0.0.1:{_free_port()}/", Format.SPARKPLUG),
            ]
            ready = [0.0]
            for name, url, fmt in modes:
                outcome = publish_simulation(
                    plant,
                    url,
                    days=days,
                    seed=3,
                    start=start,
                    fmt=fmt,
                    prefix=f"bench{time.time_ns()}",
                    on_ready=lambda: ready.__setitem__(0, time.perf_counter()),
                )
                seconds = time.perf_counter() - ready[0]  # from the publisher up to closed
                table.add_row(
                    name,
                    f"{seconds:.2f}",
                    f"{outcome.events / seconds:,.0f}",
                    f"{outcome.published:,}",
                    f"{outcome.published / seconds:,.0f}",
                    f"{seconds / alone_s:.2f}",
                )
        finally:
            broker.stop()
    console.print(table)


if __name__ == "__main__":
    typer.run(main)
