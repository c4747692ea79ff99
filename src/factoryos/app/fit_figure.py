"""The goodness-of-fit figure of ``factoryos fit``: fitted CDFs against Kaplan-Meier.

One row per fitted pool, TBF left and TTR right: the Kaplan-Meier estimate of the CDF (the
data, censoring respected) as a step line and the three fitted families as curves, the chosen one
bold, with its KS distance in the legend. A fit that leaves the step line is a poor fit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from factoryos.app.fit import FailureFit
from factoryos.reliability.fitting import FitResult

__all__ = ["write_fit_figure"]

HOUR_S = 3600.0


def _panel(ax: Axes, title: str, result: FitResult | None, note: str) -> None:
    ax.set_title(title, fontsize="small", loc="left")
    ax.grid(alpha=0.3)
    if result is None:
        ax.text(0.5, 0.5, note, ha="center", va="center", transform=ax.transAxes)
        return
    times_h = result.km_times_s / HOUR_S
    ax.step(times_h, result.km_cdf, where="post", color="black", label="Kaplan-Meier (data)")
    grid_s = np.linspace(0.0, float(result.data.durations_s.max()), 300)
    for model in result.candidates:
        chosen = model is result.best
        ax.plot(
            grid_s / HOUR_S,
            model.cdf(grid_s),
            linewidth=2.4 if chosen else 1.0,
            linestyle="-" if chosen else "--",
            label=f"{model.family.value}{' (AIC best)' if chosen else ''}, "
            f"KS {model.ks_distance:.3f}",
        )
    ax.set_xlabel("hours")
    ax.set_ylabel("P(T <= t)")
    ax.set_ylim(0.0, 1.02)
    ax.legend(fontsize="x-small", loc="lower right")


def write_fit_figure(fit: FailureFit, path: Path) -> None:
    """A PNG (or SVG/PDF by suffix) with one row per pool that has failures."""
    pools = [p for p in fit.pools if p.tbf_data.events or p.ttr_data.events]
    rows = max(len(pools), 1)
    fig = Figure(figsize=(11, 2.8 * rows), layout="constrained")
    axes = fig.subplots(rows, 2, squeeze=False)
    note = f"fewer than {fit.min_failures} failures: not fitted"
    for (tbf_ax, ttr_ax), pool in zip(axes, pools, strict=False):
        _panel(tbf_ax, f"{pool.equipment_id}: time between failures", pool.tbf, note)
        _panel(ttr_ax, f"{pool.equipment_id}: time to repair", pool.ttr, note)
    if not pools:
        axes[0][0].text(0.5, 0.5, "no failures in the window", ha="center")
    fig.savefig(path, dpi=110)
