"""Forest and funnel plots of a pooled effect.

The functions build and return a matplotlib Figure on the Agg canvas without touching pyplot, so
they never open a window, never share global state between threads, and leave saving (a file
format and write-then-rename, both ``io``'s job) to :func:`neuroreview.io.figures.save_figure`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from scipy import stats

from neuroreview.synthesis.effects import PooledEffect

#: Gid of the artists tests and styles look up: one square and one CI line per study.
STUDY_MARKER_GID = "study-marker"
STUDY_CI_GID = "study-ci"
POOLED_GID = "pooled-diamond"
PREDICTION_GID = "prediction-interval"
_Z95 = stats.norm.ppf(0.975)


def _new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def forest_plot(pooled: PooledEffect, title: str | None = None) -> Figure:
    """One row per study (g with its 95% CI, square area proportional to its weight), the pooled
    estimate as a diamond spanning its CI, and the prediction interval as a line through it, so the
    expected spread of true effects is shown beside the mean."""
    k = pooled.k
    figure = _new_figure(8.0, 1.6 + 0.35 * (k + 2))
    axes = figure.add_subplot()
    rows = np.arange(k, 0, -1) + 1.0  # first study on top; row 0 is the pooled diamond
    for row, study in zip(rows, pooled.studies, strict=True):
        axes.plot(study.ci(), [row, row], color="black", linewidth=1, gid=STUDY_CI_GID)
    weights = np.array([s.weight for s in pooled.studies])
    axes.scatter(
        [s.g for s in pooled.studies],
        rows,
        marker="s",
        s=30 + 170 * weights / weights.max(),
        color="tab:blue",
        zorder=3,
        gid=STUDY_MARKER_GID,
    )
    if pooled.pi_low is not None:
        axes.plot(
            [pooled.pi_low, pooled.pi_high],
            [0, 0],
            color="tab:red",
            linewidth=2,
            gid=PREDICTION_GID,
        )
    diamond = [
        (pooled.ci_low, 0),
        (pooled.estimate, 0.3),
        (pooled.ci_high, 0),
        (pooled.estimate, -0.3),
    ]
    axes.add_patch(Polygon(diamond, closed=True, color="black", zorder=4, gid=POOLED_GID))
    axes.axvline(0, color="grey", linestyle=":", linewidth=1)
    pooled_label = f"{pooled.method} pooled (I² = {pooled.i2:.0f}%)"
    axes.set_yticks([*rows, 0], [s.study_id for s in pooled.studies] + [pooled_label])
    axes.set_ylim(-1, k + 2)
    axes.set_xlabel("Hedges' g (95% CI)")
    axes.set_title(title or f"Forest plot, k = {k}")
    figure.tight_layout()
    return figure


def funnel_plot(pooled: PooledEffect, title: str | None = None) -> Figure:
    """g against its standard error (inverted axis, precise studies on top), with pseudo-95%
    confidence lines estimate +- 1.96 SE: without small-study effects about 95% of the studies
    fall inside the funnel, symmetrically (Sterne et al. 2011)."""
    figure = _new_figure(6.0, 5.0)
    axes = figure.add_subplot()
    se = np.array([s.se for s in pooled.studies])
    g = np.array([s.g for s in pooled.studies])
    axes.scatter(g, se, color="tab:blue", zorder=3, gid=STUDY_MARKER_GID)
    top = float(se.max()) * 1.1
    axes.plot(
        [pooled.estimate - _Z95 * top, pooled.estimate, pooled.estimate + _Z95 * top],
        [top, 0, top],
        color="grey",
        linestyle="--",
        linewidth=1,
    )
    axes.axvline(pooled.estimate, color="black", linewidth=1)
    axes.set_ylim(top, 0)
    axes.set_xlabel("Hedges' g")
    axes.set_ylabel("Standard error")
    axes.set_title(title or f"Funnel plot, k = {pooled.k}")
    figure.tight_layout()
    return figure
