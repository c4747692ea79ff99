"""``factoryos serve``: the HTTP API and the dashboard, with the plant's twin running live or
the live ingester storing a broker's data in the same process."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from factoryos.api import create_app
from factoryos.app.live_loop import LoopPolicy, LoopSettings
from factoryos.app.service import Service, ServiceSettings
from factoryos.app.settings import Settings
from factoryos.cli.errors import reported_errors

console = Console()


class _Server(uvicorn.Server):
    """Ends the live streams first on Ctrl-C, SIGTERM or ``--for``, so that they do not hold up
    the graceful shutdown."""

    def __init__(self, config: uvicorn.Config, service: Service, for_s: float | None) -> None:
        super().__init__(config)
        self.service = service
        self.for_s = for_s

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.for_s is not None:  # ``--for`` counts serving time, not a slow start
            timer = threading.Timer(self.for_s, self.stop_by_itself)
            timer.daemon = True
            timer.start()

    def stop_by_itself(self) -> None:
        """``--for`` ran out: a normal end (exit code 0), not a signal."""
        self.service.close_streams()
        self.should_exit = True

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.service.close_streams()
        super().handle_exit(sig, frame)


def _site_file(text: str) -> tuple[str, Path]:
    site, sep, file = text.partition("=")
    if not sep or not site or not file:
        raise typer.BadParameter(f"expected SITE=FILE, got {text!r}", param_hint="--answers")
    return site, Path(file)


def _instant(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise typer.BadParameter(
            f"expected an ISO time with offset, got {text!r}", param_hint="--twin-at"
        )
    return value


def serve(
    plant: Annotated[
        list[Path], typer.Option(help="Plant model YAML; repeat for more sites.", exists=True)
    ],
    db: Annotated[
        str | None, typer.Option(help="DuckDB store file (events, users); default $FACTORYOS_DB.")
    ] = None,
    twin: Annotated[bool, typer.Option(help="Run each plant's twin live in this process.")] = False,
    speed: Annotated[float, typer.Option(help="Twin seconds per wall-clock second.", min=0.01)] = (
        60.0
    ),
    days: Annotated[float, typer.Option(help="Simulated days the live twin runs at most.")] = 30.0,
    seed: Annotated[int, typer.Option(help="The live twin's random seed.")] = 0,
    twin_at: Annotated[
        str | None,
        typer.Option(
            help="The twin's clock at start, an ISO time with offset (default: now); it begins "
            "at that day's local midnight and catches up."
        ),
    ] = None,
    orders: Annotated[
        Path | None,
        typer.Option(help="An order book CSV to plan on the first site at start.", exists=True),
    ] = None,
    ingest: Annotated[
        Path | None,
        typer.Option(
            help="An ingest mapping: store the broker's live data in this process (first plant).",
            exists=True,
        ),
    ] = None,
    broker: Annotated[
        str, typer.Option(help="The ingester's source: mqtt://HOST:PORT or opc.tcp://...")
    ] = "mqtt://127.0.0.1:1883",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    for_: Annotated[
        float | None,
        typer.Option("--for", help="Stop by itself after serving this many seconds.", min=0),
    ] = None,
    work_dir: Annotated[
        Path | None, typer.Option(help="Where plans and job files go (default: a temp folder).")
    ] = None,
    registry: Annotated[
        Path | None,
        typer.Option(help="A programme registry (factoryos program ...) for the /program view."),
    ] = None,
    answers: Annotated[
        list[str] | None,
        typer.Option(help="SITE=FILE: a site's self-assessment answers; repeat per site."),
    ] = None,
    risk_data: Annotated[
        Path | None,
        typer.Option(
            help="AI4I 2020 CSV: train the failure classifier of the risk view on it (once, "
            "in the background, on the first request).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    loop: Annotated[
        LoopPolicy,
        typer.Option(
            help="The live loop: a breakdown, scrap or rush order repairs the plan, the twin "
            "checks it, and it is published at once (auto) or when a planner approves it."
        ),
    ] = LoopPolicy.OFF,
    loop_broker: Annotated[
        str | None,
        typer.Option(help="mqtt://HOST[:PORT] where the loop publishes the cells' dispatch lists."),
    ] = None,
    loop_topic: Annotated[
        str, typer.Option(help="Topic prefix: PREFIX/<site>/dispatch/<unit path>.")
    ] = "factoryos",
    loop_replications: Annotated[
        int, typer.Option(help="Twin replications checking each repair.", min=2)
    ] = 8,
    loop_time_limit: Annotated[
        float, typer.Option(help="Seconds the loop's repair may search.", min=0.1, max=5.0)
    ] = 3.0,
) -> None:
    """Serve the API (/api/v1, OpenAPI at /api/v1/docs) and the dashboard (/)."""
    if loop_broker is not None and loop is LoopPolicy.OFF:
        raise typer.BadParameter("needs --loop auto or approval", param_hint="--loop-broker")
    with reported_errors():
        settings = ServiceSettings(
            plants=tuple(plant),
            db=Settings.from_env().with_db(db).db,
            twin=twin,
            speed=speed,
            twin_days=days,
            seed=seed,
            twin_at=_instant(twin_at),
            orders=orders,
            work_dir=work_dir,
            ingest=ingest,
            broker=broker,
            registry=registry,
            answers=tuple(_site_file(a) for a in answers or ()),
            risk_data=risk_data,
            loop=LoopSettings(
                loop,
                loop_broker,
                loop_topic,
                time_limit_s=loop_time_limit,
                replications=loop_replications,
            ),
        )
        service = Service(settings)
        app = create_app(settings, service=service)
    if not service.accounts.users.users():
        console.print(
            "[yellow]no users yet:[/] add one with "
            f"'factoryos users add NAME --db {settings.db}' and "
            f"'factoryos users grant NAME admin {next(iter(service.sites))} --db {settings.db}'"
        )
    server = _Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=5,
            # named, not "auto": a missing C loop or parser must fail, not quietly cost the
            # server about 20 % more CPU per request (docs/api.md)
            loop="uvloop",
            http="httptools",
        ),
        service,
        for_,
    )
    live = " with the live twin" if twin else ""
    if ingest is not None:
        live += f" ingesting {broker}"
    live += f" and the live loop ({loop.value})" if loop is not LoopPolicy.OFF else ""
    console.print(f"factoryos serving{live} at [bold]http://{host}:{port}/[/] (Ctrl-C stops)")
    server.run()
