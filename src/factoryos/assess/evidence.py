"""Evidence from the platform: shares measured from the event store and the plant model that
score maturity requirements without a questionnaire.

A probe is a share in [0, 1] (for example: of the plant's work units, how many report their
state automatically). The model's thresholds turn the share into a GB/T 39117 score. Measured
evidence takes precedence over the self-assessment; the report keeps both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace

from factoryos.assess.maturity import MaturityModel, Text, Threshold
from factoryos.assess.scoring import RequirementScore, Source

PROBES: dict[str, Text] = {
    "state_auto": Text(
        "自动上报状态的工作单元占比", "Share of work units reporting state automatically"
    ),
    "counts_auto": Text(
        "自动上报产量的生产工作单元占比", "Share of producing work units reporting counts"
    ),
    "energy_metered": Text("有能耗计量的工作单元占比", "Share of work units with metered energy"),
    "energy_per_output": Text(
        "能耗可关联到产出与增加值的比例", "Share of energy that relates to output and value added"
    ),
    "kpi_by_shift": Text("可计算OEE的计划班次占比", "Share of planned shifts with an OEE"),
    "downtime_reasons": Text("带原因代码的故障停机事件占比", "Share of fault events with a reason"),
    "failure_models": Text("有故障模型的设备占比", "Share of equipment pools with a failure model"),
    "order_tracking": Text("带生产订单号的产量事件占比", "Share of count events naming an order"),
    "routing_model": Text(
        "有工艺路线与标准工时的产品占比", "Share of products with routing and times"
    ),
    "aps_adherence": Text(
        "按APS计划准时开工的工序占比", "Share of APS-planned operations started as planned"
    ),
}
PLAN_TOLERANCE = dt.timedelta(hours=1)
"""An operation follows its plan when it starts on the planned unit within this of the plan."""


@dataclass(frozen=True, slots=True)
class Measurement:
    """A probe's share and what it was measured on; ``share`` None: nothing to measure."""

    probe: str
    share: float | None
    detail: str


def plan_adherence(
    planned: Mapping[tuple[str, str, str], dt.datetime],
    started: Mapping[tuple[str, str, str], dt.datetime],
    tolerance: dt.timedelta = PLAN_TOLERANCE,
) -> Measurement:
    """How closely a plan was followed: planned operations, keyed (order, operation, unit path),
    whose first recorded start on that unit lies within ``tolerance`` of the planned start."""
    if not planned:
        return Measurement("aps_adherence", None, "the plan has no operation in the window")
    on_time = sum(
        1
        for key, start in planned.items()
        if key in started and abs(started[key] - start) <= tolerance
    )
    return Measurement(
        "aps_adherence",
        on_time / len(planned),
        f"{on_time} of {len(planned)} planned operations started on their unit within "
        f"{tolerance.total_seconds() / 3600:g} h of the plan",
    )


def score_of_share(share: float, thresholds: tuple[Threshold, ...]) -> float:
    """The score of the first threshold the share reaches (0 when none)."""
    return next((t.score for t in thresholds if share >= t.at_least), 0.0)


def platform_scores(
    model: MaturityModel, measurements: Mapping[str, Measurement]
) -> dict[str, RequirementScore]:
    """Scores of the requirements whose probe was measured."""
    out: dict[str, RequirementScore] = {}
    for req in model.requirements.values():
        m = measurements.get(req.probe) if req.probe else None
        if m is None or m.share is None:
            continue
        score = score_of_share(m.share, model.probe_thresholds)
        detail = f"{PROBES[m.probe].en}: {m.share:.1%} ({m.detail})"
        out[req.id] = RequirementScore(req, score, Source.PLATFORM, detail)
    return out


def combine(
    platform: Mapping[str, RequirementScore], answers: Mapping[str, RequirementScore]
) -> dict[str, RequirementScore]:
    """Measured scores over self-assessed ones; a self-assessed score a measurement replaced is
    kept (``self_score``) with its evidence links so the report can show both."""
    out = dict(answers)
    for req_id, measured in platform.items():
        claimed = answers.get(req_id)
        if claimed is not None:
            measured = replace(measured, self_score=claimed.score, evidence=claimed.evidence)
        out[req_id] = measured
    return out
