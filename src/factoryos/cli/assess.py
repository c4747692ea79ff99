"""``factoryos assess``: a plant's maturity level, gains and robot density from its store;
``factoryos assess export`` writes the signed KPI exchange document a programme loads."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from factoryos.app.assess import PlantAssessment, assess_plant
from factoryos.app.assess_export import export_document
from factoryos.app.assess_report import write_html, write_pdf
from factoryos.app.settings import Settings
from factoryos.app.simulation import read_schedule_file
from factoryos.app.stores import open_store
from factoryos.assess.density import REFERENCES
from factoryos.assess.maturity import ManufacturingType, load_model
from factoryos.cli.errors import reported_errors
from factoryos.cli.timeargs import parse_instant
from factoryos.model.errors import FactoryosError
from factoryos.model.loader import load_plant

console = Console()
Window = tuple[dt.datetime, dt.datetime]


def parse_window(text: str | None, zone: ZoneInfo, option: str) -> Window | None:
    """``A..B``: dates (plant-local midnights) or ISO date-times with a zone; B exclusive."""
    if text is None:
        return None
    start, sep, end = text.partition("..")
    first, last = parse_instant(start, zone, option), parse_instant(end, zone, option)
    if not sep or first is None or last is None:
        raise FactoryosError(f"{option}: {text!r} is not a window A..B")
    if last <= first:
        raise FactoryosError(f"{option}: {text!r} ends before it starts")
    return first, last


def assess(
    target: Annotated[str, typer.Argument(help="Plant model YAML, or 'export' then the plant.")],
    plant_arg: Annotated[
        Path | None, typer.Argument(metavar="[PLANT]", help="With 'export': the plant YAML.")
    ] = None,
    db: Annotated[
        str, typer.Option(help="Event store: a DuckDB file or a postgresql:// URL.")
    ] = "factoryos.duckdb",
    answers: Annotated[Path | None, typer.Option(help="Self-assessment answers YAML.")] = None,
    weights: Annotated[Path | None, typer.Option(help="Programme's own weights YAML.")] = None,
    plan: Annotated[
        Path | None, typer.Option(help="APS plan (schedule.json) to compare with execution.")
    ] = None,
    kind: Annotated[
        ManufacturingType, typer.Option(help="Sub-domain set when no answers file says.")
    ] = ManufacturingType.DISCRETE,
    baseline: Annotated[str | None, typer.Option(help="Baseline window A..B.")] = None,
    current: Annotated[str | None, typer.Option(help="Current window C..D.")] = None,
    lang: Annotated[str, typer.Option(help="Report language: en or zh-CN.")] = "en",
    report: Annotated[Path | None, typer.Option(help="Write an HTML report (offline).")] = None,
    pdf: Annotated[Path | None, typer.Option(help="Write a PDF report.")] = None,
    key: Annotated[Path | None, typer.Option(help="export: Ed25519 private key PEM.")] = None,
    out: Annotated[
        Path | None, typer.Option(help="export: the KPI document JSON to write.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="export: factory name.")] = None,
    district: Annotated[str, typer.Option(help="export: district.")] = "",
    industry: Annotated[str, typer.Option(help="export: industry.")] = "",
    year: Annotated[int | None, typer.Option(help="export: certification year.")] = None,
) -> None:
    """Maturity level (GB/T 39116/39117), sub-domain scores, gaps to the next level, measured
    gains and robot density of PLANT; or ``assess export PLANT`` for the signed KPI document."""
    with reported_errors():
        exporting = target == "export"
        plant_path = plant_arg if exporting else Path(target)
        if plant_path is None:
            raise FactoryosError("assess export needs the plant YAML: assess export PLANT ...")
        if exporting and (key is None or out is None):
            raise FactoryosError("assess export needs --key (Ed25519 PEM) and --out (JSON file)")
        model = load_plant(plant_path)
        base = parse_window(baseline, model.zone, "--baseline")
        cur = parse_window(current, model.zone, "--current")
        if (base is None) != (cur is None):
            raise FactoryosError("gains need both --baseline and --current")
        store = open_store(Settings.from_env().with_db(db), must_exist=True)
        try:
            result = assess_plant(
                store,
                model,
                answers=answers,
                weights=weights,
                baseline=base,
                current=cur,
                kind=kind,
                plan=read_schedule_file(plan) if plan else None,
            )
        finally:
            store.close()
        if exporting:
            assert key is not None and out is not None
            export_document(
                result, key, out, name=name, district=district, industry=industry, year=year
            )
            console.print(f"signed KPI document written to {out}")
            return
        _print(result, lang)
        if report is not None:
            write_html(result, report, lang)
            console.print(f"HTML report written to {report}")
        if pdf is not None:
            write_pdf(result, pdf, lang)
            console.print(f"PDF report written to {pdf}")


def _print(result: PlantAssessment, lang: str) -> None:
    a, model = result.assessment, load_model()
    level_names = {lv.level: lv.name.in_(lang) for lv in model.levels}
    console.print(
        f"[bold]{result.plant.enterprise.name or result.plant.enterprise.id}[/]: "
        f"level {a.level} {level_names.get(a.level, '')} (total score {a.total:.3f}, "
        f"{a.kind.value}; weights: {a.weights_source})"
    )
    table = Table(title="Sub-domain scores per level (GB/T 39117)")
    table.add_column("Sub-domain")
    for lv in a.levels:
        mark = "✓" if lv.counts else "✗"
        table.add_column(f"L{lv.level} {lv.score:.2f} {mark}", justify="right")
    subs = {s.id: s for s in model.sub_domains}
    for sub in model.applicable(a.kind):
        cells = []
        for lv in a.levels:
            row = next((r for r in lv.sub_domains if r.sub_domain == sub.id), None)
            cells.append("" if row is None else f"{row.score:.2f}")
        table.add_row(subs[sub.id].name.in_(lang), *cells)
    console.print(table)
    if a.gaps:
        gaps = Table(title=f"Gaps to level {a.gaps[0].score.requirement.level} (largest first)")
        for col in ("Requirement", "Score", "Source", "+ level score"):
            gaps.add_column(col)
        for g in a.gaps[:12]:
            r = g.score
            gaps.add_row(
                f"{r.requirement.id} {r.requirement.text.in_(lang)}",
                f"{r.score:g}",
                r.source.value,
                f"{g.level_points:.3f}",
            )
        console.print(gaps)
    measured = Table(title="Scored from the platform")
    for col in ("Requirement", "Score", "Claimed", "Measurement"):
        measured.add_column(col)
    for r in a.requirements:
        if r.source.value == "platform":
            claimed = "" if r.self_score is None else f"{r.self_score:g}"
            measured.add_row(r.requirement.id, f"{r.score:g}", claimed, r.detail)
    console.print(measured)
    if result.gains is not None:
        gains = Table(title="Measured gains, current vs baseline (95 % bootstrap over days)")
        for col in ("Metric", "Baseline", "Current", "Change", "95 % interval", "Programme"):
            gains.add_column(col, justify="right")
        for gain in result.gains:
            interval = (
                ""
                if gain.low_pct is None or gain.high_pct is None
                else f"[{gain.low_pct:+.1f}, {gain.high_pct:+.1f}] %"
            )
            programme = gain.metric.programme_pct
            gains.add_row(
                gain.metric.name.in_(lang),
                _num(gain.baseline),
                _num(gain.current),
                "" if gain.change_pct is None else f"{gain.change_pct:+.1f} %",
                interval,
                "" if programme is None else f"{programme:+.1f} %",
            )
        console.print(gains)
    d = result.density
    per = "n/a (no headcount)" if d.per_10k is None else f"{d.per_10k:.0f}"
    refs = ", ".join(f"{r.name.in_(lang)} {r.per_10k:.0f}" for r in REFERENCES)
    assumed = f"; {d.assumed_axes} without an axes figure" if d.assumed_axes else ""
    console.print(
        f"Robot density: {d.robots} industrial robots / {d.employees} employees = {per} per "
        f"10,000{assumed} (references: {refs})"
    )


def _num(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
