"""A failure fit as a scenario overlay: the twin calibrated from the plant's own history.

The overlay is the YAML patch ``factoryos simulate --scenario`` / ``compare --scenario`` read
(:func:`factoryos.app.simulation.load_scenario`): for every pool with enough failures, its
``failure`` model is replaced by the fitted one (a distribution replaces whole, see
:func:`factoryos.model.loader.deep_merge`). Each fitted entry carries a comment with the data, the
intervals and the goodness of fit, so the file explains itself in a code review.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from factoryos.app.fit import FailureFit, PoolFit
from factoryos.model.distributions import Exponential, Lognormal, Weibull
from factoryos.reliability.fitting import FitResult, Parameter

__all__ = ["describe_fit", "overlay_data", "overlay_text"]

HOUR_S = 3600.0


def _hours(seconds: float) -> str:
    return f"{seconds / HOUR_S:.6g} h"


def _distribution(dist: Exponential | Weibull | Lognormal) -> CommentedMap:
    out = CommentedMap()
    out["dist"] = dist.dist
    if isinstance(dist, Exponential):
        out["mean"] = _hours(dist.mean_s)
    elif isinstance(dist, Weibull):
        out["shape"] = round(dist.shape, 4)
        out["scale"] = _hours(dist.scale_s)
    else:
        out["mean"] = _hours(dist.mean_s)
        out["sigma"] = round(dist.sigma, 4)
    out.fa.set_flow_style()
    return out


def _interval(p: Parameter) -> str:
    if p.name.endswith("_s"):
        return f"{p.value / HOUR_S:.4g} h [{p.lower / HOUR_S:.4g}, {p.upper / HOUR_S:.4g}]"
    return f"{p.value:.4g} [{p.lower:.4g}, {p.upper:.4g}]"


def describe_fit(label: str, result: FitResult) -> str:
    """One line: data, chosen family, parameters and mean with intervals, AIC margin, KS."""
    best = result.best
    params = ", ".join(f"{p.name.removesuffix('_s')} {_interval(p)}" for p in best.parameters)
    margin = (
        f", dAIC to {result.candidates[1].family.value} {result.candidates[1].aic - best.aic:.1f}"
        if len(result.candidates) > 1
        else ""
    )
    return (
        f"{label} {best.family.value}: {params}; mean {_interval(best.mean)}; "
        f"{result.data.events} failures + {result.data.censored} censored{margin}; "
        f"KS {best.ks_distance:.3f}"
    )


def _entry(pool: PoolFit) -> CommentedMap | None:
    if pool.tbf is None or pool.ttr is None:
        return None
    failure = CommentedMap()
    failure["time_between_failures"] = _distribution(pool.tbf.best.distribution())
    failure["time_to_repair"] = _distribution(pool.ttr.best.distribution())
    failure.yaml_add_eol_comment(describe_fit("TBF", pool.tbf), "time_between_failures")
    failure.yaml_add_eol_comment(describe_fit("TTR", pool.ttr), "time_to_repair")
    entry = CommentedMap()
    entry["id"] = pool.equipment_id
    entry["failure"] = failure
    return entry


def _grouped(pools: Iterable[tuple[PoolFit, CommentedMap]]) -> CommentedSeq:
    """areas -> lines -> equipment, merging by id (the order of the plant model)."""
    areas: dict[str, dict[str, list[CommentedMap]]] = {}
    for pool, entry in pools:
        areas.setdefault(pool.area_id, {}).setdefault(pool.line_id, []).append(entry)
    out = CommentedSeq()
    for area_id, lines in areas.items():
        line_seq = CommentedSeq()
        for line_id, equipment in lines.items():
            line_seq.append(CommentedMap([("id", line_id), ("equipment", CommentedSeq(equipment))]))
        out.append(CommentedMap([("id", area_id), ("lines", line_seq)]))
    return out


def overlay_data(fit: FailureFit) -> CommentedMap:
    """The overlay as data (a mapping ``load_plant(overlay=...)`` accepts)."""
    fitted = [(p, e) for p in fit.pools if (e := _entry(p)) is not None]
    skipped = [p.equipment_id for p in fit.pools if p.fitted is None]
    doc = CommentedMap()
    doc["description"] = (
        f"failure models fitted from stored state events {fit.start.isoformat()} .. "
        f"{fit.end.isoformat()} (maintenance {fit.policy.value} the failure clock)"
    )
    doc["areas"] = _grouped(fitted)
    notes = [
        "Written by 'factoryos fit': maximum likelihood with right-censoring (lifelines),",
        "family by AIC; intervals are 95 % Wald intervals; KS is the largest distance between",
        "the fitted CDF and the Kaplan-Meier estimate.",
    ]
    if skipped:
        notes.append(
            f"Kept as modelled (fewer than {fit.min_failures} failures): {', '.join(skipped)}"
        )
    doc.yaml_set_start_comment("\n".join(notes))
    return doc


def overlay_text(fit: FailureFit) -> str:
    yaml = YAML()
    yaml.width = 200
    buffer = io.StringIO()
    yaml.dump(overlay_data(fit), buffer)
    return buffer.getvalue()
