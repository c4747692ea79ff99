"""A plant's assessment report: HTML (Plotly, the JS inlined so it opens offline) and PDF
(Matplotlib, with a CJK font for zh-CN), in English or Chinese.

Charts: a radar of the sub-domain scores per level, and the measured gains with their 95 %
intervals beside the programme's reported averages.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
from matplotlib import font_manager
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from factoryos.app.assess import PlantAssessment
from factoryos.assess.density import REFERENCES
from factoryos.assess.maturity import load_model
from factoryos.model.errors import FactoryosError

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Serif CJK SC", "WenQuanYi Zen Hei")
L = {
    "title": ("Intelligent manufacturing capability assessment", "智能制造能力成熟度评估报告"),
    "level": ("Level", "等级"),
    "total": ("Total score", "总分"),
    "radar": ("Sub-domain scores per level", "各等级能力子域得分"),
    "gains": (
        "Measured gains, current vs baseline (95 % interval)",
        "实测成效：当前期对比基期（95%区间）",
    ),
    "programme": ("Programme average", "上海智能工厂平均"),
    "measured": ("Measured", "实测"),
    "density": ("Robot density (per 10,000 employees)", "机器人密度（台/万人）"),
    "this_plant": ("This plant", "本工厂"),
    "requirements": ("Requirements and where each score came from", "各项要求得分及来源"),
    "gaps": ("Gaps to the next level", "距下一等级的差距"),
    "source": ("Source", "来源"),
    "score": ("Score", "得分"),
    "detail": ("Measurement / evidence", "测量/证据"),
    "none": (
        "No gains measured (give --baseline and --current)",
        "未测量成效（需提供基期与当前期）",
    ),
}
SOURCE = {
    "platform": ("platform", "平台实测"),
    "self_assessment": ("self-assessment", "自评"),
    "unanswered": ("unanswered", "未作答"),
}


def label(labels: Mapping[str, tuple[str, str]], key: str, lang: str) -> str:
    """The English or Chinese text of ``key`` (zh for any ``zh*`` language)."""
    return labels[key][1 if lang.startswith("zh") else 0]


def _t(key: str, lang: str) -> str:
    return label(L, key, lang)


def html_page(title: str, lang: str, body: str) -> str:
    """A whole offline HTML page around ``body`` (the first chart in it carries plotly.js)."""
    return f"""<!DOCTYPE html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #ccc;padding:3px 6px;
font-size:13px}}table{{border-collapse:collapse}}</style></head><body>
{body}</body></html>"""


def _radar(result: PlantAssessment, lang: str) -> tuple[list[str], dict[int, list[float]]]:
    model = load_model()
    subs = model.applicable(result.assessment.kind)
    names = [s.name.in_(lang) for s in subs]
    by_level = {}
    for lv in result.assessment.levels:
        scores = {r.sub_domain: r.score for r in lv.sub_domains}
        by_level[lv.level] = [scores.get(s.id, 0.0) for s in subs]
    return names, by_level


def write_html(result: PlantAssessment, path: Path, lang: str = "en") -> None:
    a = result.assessment
    names, by_level = _radar(result, lang)
    radar = go.Figure(
        [
            go.Scatterpolar(r=v + v[:1], theta=names + names[:1], name=f"L{lv}", fill="toself")
            for lv, v in by_level.items()
        ],
        layout={"title": _t("radar", lang), "polar": {"radialaxis": {"range": [0, 1]}}},
    )
    parts = [radar.to_html(full_html=False, include_plotlyjs=True)]
    if result.gains:
        gains = [g for g in result.gains if g.change_pct is not None]
        x = [g.metric.name.in_(lang) for g in gains]
        fig = go.Figure(
            [
                go.Bar(
                    x=x,
                    y=[g.change_pct for g in gains],
                    name=_t("measured", lang),
                    error_y={
                        "type": "data",
                        "symmetric": False,
                        "array": [(g.high_pct or 0) - (g.change_pct or 0) for g in gains],
                        "arrayminus": [(g.change_pct or 0) - (g.low_pct or 0) for g in gains],
                    },
                ),
                go.Scatter(
                    x=x,
                    y=[g.metric.programme_pct for g in gains],
                    mode="markers",
                    marker={"symbol": "diamond", "size": 12},
                    name=_t("programme", lang),
                ),
            ],
            layout={"title": _t("gains", lang), "yaxis": {"title": "%"}},
        )
        parts.append(fig.to_html(full_html=False, include_plotlyjs=False))
    rows = "".join(
        f"<tr><td>{r.requirement.id}</td><td>{html.escape(r.requirement.text.in_(lang))}</td>"
        f"<td>{r.score:g}</td><td>{SOURCE[r.source.value][lang.startswith('zh')]}</td>"
        f"<td>{html.escape(r.detail)} {' '.join(_link(e) for e in r.evidence)}</td></tr>"
        for r in a.requirements
    )
    level_name = next((lv.name.in_(lang) for lv in load_model().levels if lv.level == a.level), "")
    d = result.density
    density = "n/a" if d.per_10k is None else f"{d.per_10k:.0f}"
    refs = ", ".join(f"{r.name.in_(lang)} {r.per_10k:.0f}" for r in REFERENCES)
    plant_name = result.plant.enterprise.name or result.plant.enterprise.id
    doc = html_page(
        _t("title", lang),
        lang,
        f"""
<h1>{_t("title", lang)}: {html.escape(plant_name)}</h1>
<p>{_t("level", lang)} <b>{a.level} {level_name}</b>; {_t("total", lang)} {a.total:.3f};
{" / ".join(f"L{lv.level} {lv.score:.2f}" for lv in a.levels)}</p>
<p>{_t("density", lang)}: {d.robots} / {d.employees} = <b>{density}</b> ({refs})</p>
{"".join(parts)}
<h2>{_t("requirements", lang)}</h2><table><tr><th>id</th><th></th><th>{_t("score", lang)}</th>
<th>{_t("source", lang)}</th><th>{_t("detail", lang)}</th></tr>{rows}</table>""",
    )
    path.write_text(doc, encoding="utf-8")


def _link(url: str) -> str:
    return f'<a href="{html.escape(url)}">{html.escape(url)}</a>'


def cjk_font() -> str | None:
    """The first installed CJK font family Matplotlib knows, if any."""
    names = {f.name for f in font_manager.fontManager.ttflist}
    if not names.intersection(CJK_FONTS):
        # a font installed after Matplotlib built its cache is not in it: add it from disk
        for file in font_manager.findSystemFonts():
            if "CJK" in file or "wqy" in file.lower():
                font_manager.fontManager.addfont(file)
        names = {f.name for f in font_manager.fontManager.ttflist}
    return next((n for n in CJK_FONTS if n in names), None)


def write_pdf(result: PlantAssessment, path: Path, lang: str = "en") -> None:
    """Two pages of charts and a table of requirements with their sources."""
    font = cjk_font()
    if lang.startswith("zh") and font is None:
        raise FactoryosError(
            "a zh-CN PDF needs a CJK font: install Debian's fonts-noto-cjk (scripts/setup.sh does)"
        )
    families = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    with (
        plt.rc_context({"font.family": families, "axes.unicode_minus": False}),
        PdfPages(path) as pdf,
    ):
        pdf.savefig(_charts_page(result, lang))
        for page in _table_pages(result, lang):
            pdf.savefig(page)
        plt.close("all")


def _charts_page(result: PlantAssessment, lang: str) -> Figure:
    a = result.assessment
    fig = plt.figure(figsize=(8.27, 11.69))  # A4
    level_name = next((lv.name.in_(lang) for lv in load_model().levels if lv.level == a.level), "")
    fig.suptitle(
        f"{_t('title', lang)}\n{result.plant.enterprise.name or result.plant.enterprise.id}\n"
        f"{_t('level', lang)} {a.level} {level_name}  ·  {_t('total', lang)} {a.total:.3f}",
        fontsize=12,
    )
    names, by_level = _radar(result, lang)
    ax = fig.add_subplot(2, 1, 1, projection="polar")
    angles = np.linspace(0, 2 * np.pi, len(names), endpoint=False).tolist()
    for lv, values in by_level.items():
        ax.plot(angles + angles[:1], values + values[:1], label=f"L{lv}")
        ax.fill(angles + angles[:1], values + values[:1], alpha=0.08)
    ax.set_xticks(angles, names, fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_title(_t("radar", lang), fontsize=10, pad=18)
    ax.legend(loc="upper right", bbox_to_anchor=(1.25, 1.1), fontsize=7)
    bottom = fig.add_subplot(2, 2, 3)
    if result.gains:
        gains = [g for g in result.gains if g.change_pct is not None]
        y = np.arange(len(gains))
        change = [g.change_pct or 0.0 for g in gains]
        err = [
            [
                c - (g.low_pct if g.low_pct is not None else c)
                for g, c in zip(gains, change, strict=True)
            ],
            [
                (g.high_pct if g.high_pct is not None else c) - c
                for g, c in zip(gains, change, strict=True)
            ],
        ]
        bottom.barh(y, change, xerr=err, color="#4c78a8", label=_t("measured", lang))
        ref = [(i, g.metric.programme_pct) for i, g in enumerate(gains) if g.metric.programme_pct]
        bottom.scatter(
            [v for _, v in ref],
            [i for i, _ in ref],
            marker="D",
            color="#e45756",
            zorder=3,
            label=_t("programme", lang),
        )
        bottom.set_yticks(y, [g.metric.name.in_(lang) for g in gains], fontsize=7)
        bottom.axvline(0, color="black", lw=0.5)
        bottom.set_xlabel("%")
        bottom.legend(fontsize=7)
    else:
        bottom.text(0.5, 0.5, _t("none", lang), ha="center", va="center", fontsize=8, wrap=True)
        bottom.set_axis_off()
    bottom.set_title(_t("gains", lang), fontsize=9)
    right = fig.add_subplot(2, 2, 4)
    d = result.density
    labels = [_t("this_plant", lang), *(r.name.in_(lang) for r in REFERENCES)]
    values = [d.per_10k or 0.0, *(r.per_10k for r in REFERENCES)]
    bars = right.bar(range(len(values)), values, color=["#54a24b", "#bab0ac", "#bab0ac", "#bab0ac"])
    right.bar_label(bars, fmt="%.0f", fontsize=7)
    right.set_xticks(range(len(values)), labels, fontsize=7, rotation=20)
    right.set_title(_t("density", lang), fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def _table_pages(result: PlantAssessment, lang: str, per_page: int = 45) -> list[Figure]:
    zh = lang.startswith("zh")
    rows = [
        [
            r.requirement.id,
            _clip(r.requirement.text.in_(lang), 26 if zh else 48),
            f"{r.score:g}",
            SOURCE[r.source.value][zh],
            _clip(r.detail or " ".join(r.evidence), 60),
        ]
        for r in result.assessment.requirements
    ]
    pages = []
    for start in range(0, len(rows), per_page):
        fig = plt.figure(figsize=(8.27, 11.69))
        ax = fig.add_axes((0.03, 0.03, 0.94, 0.92))
        ax.set_axis_off()
        ax.set_title(_t("requirements", lang), fontsize=10)
        table = ax.table(
            cellText=rows[start : start + per_page],
            colLabels=["id", "", _t("score", lang), _t("source", lang), _t("detail", lang)],
            colWidths=[0.2, 0.36, 0.06, 0.1, 0.28],
            loc="upper center",
            cellLoc="left",
        )
        table.auto_set_font_size(False)
        table.set_fontsize(5.5)
        pages.append(fig)
    return pages


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
