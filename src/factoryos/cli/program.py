"""``factoryos program``: the programme officer's view across factories: generate a test city,
load signed KPI documents, show targets, rankings, density and the award shortlist."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from factoryos.app.program import ProgramView, load_documents, open_registry, program_view
from factoryos.app.program_generate import generate as generate_city
from factoryos.app.program_report import write_program_html
from factoryos.assess.density import REFERENCES
from factoryos.assess.exchange import new_private_key_pem
from factoryos.assess.program import GroupRow
from factoryos.cli.errors import reported_errors

console = Console()
app = typer.Typer(help="The programme view across many factories.", no_args_is_help=True)
RegistryOption = Annotated[Path, typer.Option(help="Programme registry (DuckDB file).")]
DEFAULT_REGISTRY = Path("programme.duckdb")


@app.command()
def generate(
    factories: Annotated[int, typer.Option(min=1, help="Factories in the city.")] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the city and every twin run.")] = 1,
    days: Annotated[float, typer.Option(min=1, help="Twin days per period and factory.")] = 14,
    workers: Annotated[int, typer.Option(min=1, help="Local worker processes.")] = 2,
    ray: Annotated[
        str | None,
        typer.Option(help="Ray cluster address ('local' starts one here) instead of processes."),
    ] = None,
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """Build a city of factories from industry templates, run the twin for a baseline and a
    current period per factory, assess them and load the registry."""
    with reported_errors(), Progress(console=console) as bar:
        task = bar.add_task("factories", total=factories)
        reg = open_registry(registry)
        try:
            loaded = generate_city(
                reg,
                factories,
                seed,
                days=days,
                workers=workers,
                ray_address=ray,
                on_done=lambda: bar.advance(task),
            )
        finally:
            reg.close()
    console.print(f"{loaded} factories loaded into {registry}")


@app.command()
def load(
    files: Annotated[list[Path], typer.Argument(help="Signed KPI documents (JSON).")],
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """Verify and load KPI documents; a bad one is kept aside with its reason, the rest load."""
    with reported_errors():
        reg = open_registry(registry)
        try:
            outcome = load_documents(reg, files)
        finally:
            reg.close()
    console.print(f"loaded {len(outcome.loaded)}: {', '.join(outcome.loaded) or '-'}")
    for _, reason in outcome.rejected:
        console.print(f"[yellow]kept aside[/] {reason}", markup=True, highlight=False)
    if outcome.rejected:
        raise typer.Exit(2)


@app.command()
def keygen(out: Annotated[Path, typer.Argument(help="Where to write the PEM key.")]) -> None:
    """A new Ed25519 private key for signing a factory's KPI documents."""
    out.write_bytes(new_private_key_pem())
    out.chmod(0o600)
    console.print(f"Ed25519 private key written to {out}")


@app.command()
def view(
    registry: RegistryOption = DEFAULT_REGISTRY,
    year: Annotated[int, typer.Option(help="Award year of the shortlist.")] = 2025,
    targets: Annotated[Path | None, typer.Option(help="Programme targets YAML.")] = None,
    lang: Annotated[str, typer.Option(help="en or zh-CN.")] = "en",
    report: Annotated[Path | None, typer.Option(help="Write an HTML report (offline).")] = None,
) -> None:
    """Targets and progress, rankings by district and industry, density, award shortlist."""
    with reported_errors():
        reg = open_registry(registry)
        try:
            result = program_view(reg, year, str(targets) if targets else None)
        finally:
            reg.close()
    _print(result, lang)
    if report is not None:
        write_program_html(result, report, lang)
        console.print(f"HTML report written to {report}")


def _print(v: ProgramView, lang: str) -> None:
    console.print(f"[bold]{len(v.records)} factories[/] ({v.programme.source})")
    t = Table(title="Targets")
    for col in ("Target", "Actual", "Goal", "Met"):
        t.add_column(col)
    for p in v.progress:
        share = p.target.kind == "share_at_level"
        fmt = "{:.0%}" if share else "{:.0f}"
        t.add_row(p.target.text.in_(lang), fmt.format(p.actual), fmt.format(p.goal), _yes(p.met))
    console.print(t)
    for title, rows in (("district", v.by_district), ("industry", v.by_industry)):
        console.print(_ranking(f"Ranking by {title}", rows))
    s = Table(title=f"Award shortlist {v.award_year}")
    for col in ("#", "Factory", "District", "Industry", "Reasons"):
        s.add_column(col)
    for i, n in enumerate(v.shortlist, start=1):
        r = n.record
        s.add_row(str(i), r.name, r.district, r.industry, "; ".join(n.reasons))
    console.print(s)
    refs = ", ".join(f"{r.name.in_(lang)} {r.per_10k:.0f}" for r in REFERENCES)
    console.print(f"Robot density references: {refs}")


def _ranking(title: str, rows: list[GroupRow]) -> Table:
    t = Table(title=title)
    for col in ("#", "Group", "Factories", "Mean level", "Mean score", "L3+", "Productivity",
                "Energy/VA", "Robots/10k"):  # fmt: skip
        t.add_column(col, justify="right")
    for i, g in enumerate(rows, start=1):
        t.add_row(
            str(i),
            g.group,
            str(g.factories),
            f"{g.mean_level:.2f}",
            f"{g.mean_total:.2f}",
            f"{g.share_level_3_plus:.0%}",
            _pct(g.median_productivity_pct),
            _pct(g.median_energy_pct),
            "n/a" if g.density.per_10k is None else f"{g.density.per_10k:.0f}",
        )
    return t


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f} %"


def _yes(met: bool) -> str:
    return "[green]yes[/]" if met else "[red]no[/]"
