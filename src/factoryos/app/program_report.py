"""The programme view as one offline HTML page (Plotly's JS inlined): targets, rankings by
district and industry, robot density against the published figures, and the award shortlist."""

from __future__ import annotations

import html
from pathlib import Path

import plotly.graph_objects as go

from factoryos.app.assess_report import html_page, label
from factoryos.app.program import ProgramView
from factoryos.assess.density import REFERENCES
from factoryos.assess.program import GroupRow

T = {
    "title": ("Smart-factory programme view", "智能工厂项目总览"),
    "targets": ("Targets and progress", "目标与进展"),
    "density": ("Robot density by industry (per 10,000 employees)", "各行业机器人密度（台/万人）"),
    "gains": ("Median productivity change by district (%)", "各区劳动生产率变化中位数（%）"),
    "district": ("Ranking by district", "按区排名"),
    "industry": ("Ranking by industry", "按行业排名"),
    "shortlist": ("Award shortlist", "评优候选名单"),
}


def _t(key: str, lang: str) -> str:
    return label(T, key, lang)


def write_program_html(view: ProgramView, path: Path, lang: str = "en") -> None:
    industries = view.by_industry
    density = go.Figure(
        [
            go.Bar(
                x=[g.group for g in industries],
                y=[g.density.per_10k or 0 for g in industries],
                name=_t("density", lang),
            )
        ],
        layout={"title": _t("density", lang)},
    )
    for ref in REFERENCES:
        density.add_hline(y=ref.per_10k, line_dash="dot", annotation_text=ref.name.in_(lang))
    districts = view.by_district
    gains = go.Figure(
        [
            go.Bar(
                x=[g.group for g in districts],
                y=[g.median_productivity_pct for g in districts],
            )
        ],
        layout={"title": _t("gains", lang)},
    )
    gains.add_hline(y=50, line_dash="dot", annotation_text="+50 %")
    targets = "".join(
        f"<tr><td>{html.escape(p.target.text.in_(lang))}</td><td>{_fmt(p.actual, p.target.kind)}"
        f"</td><td>{_fmt(p.goal, p.target.kind)}</td><td>{'✓' if p.met else '✗'}</td></tr>"
        for p in view.progress
    )
    shortlist = "".join(
        f"<tr><td>{i}</td><td>{html.escape(n.record.name)}</td><td>{html.escape(n.record.district)}"
        f"</td><td>{html.escape(n.record.industry)}</td><td>{html.escape('; '.join(n.reasons))}"
        "</td></tr>"
        for i, n in enumerate(view.shortlist, start=1)
    )
    doc = html_page(
        _t("title", lang),
        lang,
        f"""<h1>{_t("title", lang)}: {len(view.records)}</h1>
<h2>{_t("targets", lang)}</h2><table>{targets}</table>
{density.to_html(full_html=False, include_plotlyjs=True)}
{gains.to_html(full_html=False, include_plotlyjs=False)}
<h2>{_t("district", lang)}</h2>{_ranking(view.by_district)}
<h2>{_t("industry", lang)}</h2>{_ranking(view.by_industry)}
<h2>{_t("shortlist", lang)} {view.award_year}</h2><table>{shortlist}</table>""",
    )
    path.write_text(doc, encoding="utf-8")


def _fmt(value: float, kind: str) -> str:
    return f"{value:.0%}" if kind == "share_at_level" else f"{value:.0f}"


def _ranking(rows: list[GroupRow]) -> str:
    head = (
        "<tr><th>#</th><th></th><th>n</th><th>level</th><th>score</th><th>L3+</th>"
        "<th>productivity %</th><th>energy/VA %</th><th>robots/10k</th></tr>"
    )
    body = "".join(
        f"<tr><td>{i}</td><td>{html.escape(g.group)}</td><td>{g.factories}</td>"
        f"<td>{g.mean_level:.2f}</td><td>{g.mean_total:.2f}</td><td>{g.share_level_3_plus:.0%}</td>"
        f"<td>{_num(g.median_productivity_pct)}</td><td>{_num(g.median_energy_pct)}</td>"
        f"<td>{_num(g.density.per_10k)}</td></tr>"
        for i, g in enumerate(rows, start=1)
    )
    return f"<table>{head}{body}</table>"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f}" if value < 0 else f"{value:.1f}"
