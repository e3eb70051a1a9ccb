"""The report's figures: brain maps with nilearn, the region heatmap and forest with matplotlib.

Each figure is saved beside the report as PNG and SVG (for a manuscript) through
:func:`neuroreview.io.figures.save_figure`, so a rerun writes the same bytes, and embedded in the
HTML as a ``data:`` URI of the PNG, so the report opens anywhere without a network or the files
beside it. Figures are drawn on Agg canvases without pyplot: no window, no display needed.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import sys
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from neuroreview.io.layout import CLUSTER_IMAGE, Z_MAP, figure_files
from neuroreview.report.context import Analysis, Table
from neuroreview.report.sentences import number

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from neuroreview.synthesis.effects import PooledEffect

#: z of the cluster-forming threshold p < 0.001 (one-sided), for the uncorrected fallback map.
Z_P001 = 3.090232306167813
#: Cell colours of the heatmap by direction (matplotlib colormap names).
DIRECTION_CMAPS = {"increase": "Reds", "decrease": "Blues", "no_change": "Greys"}
DIRECTION_SIGNS = {"increase": "+", "decrease": "−", "no_change": "="}


@dataclass(frozen=True)
class ReportFigure:
    """A figure as the report uses it: files beside the report and the PNG as a data URI."""

    name: str
    caption: str
    alt: str
    png: str
    svg: str
    data_uri: str


def _agg() -> None:
    """Draw off-screen: choose Agg unless the caller already chose a backend through pyplot."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def save(figure: Figure, out: Path, folder: str, name: str, caption: str, alt: str) -> ReportFigure:
    """Write ``name``.png and .svg into ``out/folder``; return the figure with its data URI."""
    from neuroreview.io.figures import save_figure

    png_file, svg_file = figure_files(folder, name)
    png = save_figure(figure, out / png_file)
    save_figure(figure, out / svg_file)
    uri = "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")
    return ReportFigure(name, caption, alt, png_file, svg_file, uri)


# --- brain maps ----------------------------------------------------------------------------


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """Let nilearn's many ``gc.collect()`` calls skip the objects that exist already.

    nilearn collects garbage every time it reads image data (11 times per figure); in a process
    that has run a whole review each collection walks every live object, which took 2.7 of the
    report's 10 s. Freezing moves those objects out of the collector's view for the duration;
    garbage made while drawing is still collected.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def brain_figures(analysis: Analysis, out: Path, folder: str) -> list[ReportFigure]:
    """Glass brain and orthogonal slices of one meta-analysis.

    With surviving clusters: the z map inside them, outlined, sliced through the first peak.
    Without: the uncorrected map at the cluster-forming threshold (z > 3.09, p < 0.001), said so in
    the title and caption, so a reader sees where the sub-threshold signal lies and that it is
    not a finding.
    """
    import nibabel

    _agg()
    from nilearn import plotting

    source = Path(analysis.step.get("folder", analysis.method)).name
    z_image = analysis.z_image
    z = np.asarray(z_image.get_fdata(), dtype=np.float32)
    in_clusters = np.asarray(analysis.cluster_image.dataobj) > 0
    peaks = analysis.peaks()
    alpha = number(analysis.step.get("alpha", 0.05))
    if peaks:
        shown = np.where(in_clusters, z, 0.0)
        what = f"z in clusters surviving cluster-level FWE p < {alpha}"
        title = f"{analysis.label}: FWE-corrected clusters"
        cut = tuple(float(peaks[0][axis]) for axis in ("x", "y", "z"))
    else:
        shown = np.where(z > Z_P001, z, 0.0)
        what = f"uncorrected z > 3.09 (p < 0.001); no cluster survived FWE p < {alpha}"
        title = f"{analysis.label}: uncorrected p < 0.001, no FWE cluster"
        cut = None
    image = nibabel.Nifti1Image(shown, z_image.affine)
    vmax = float(shown.max()) if shown.max() > 0 else Z_P001 + 1
    label = analysis.label
    figures = []
    with warnings.catch_warnings(), _frozen_heap():
        warnings.simplefilter("ignore")
        figure = _glass_brain(image, vmax, title)
        figures.append(
            save(
                figure,
                out,
                folder,
                f"{analysis.method}_glass_brain",
                f"{label} glass brain: {what}. Map: {source}/{Z_MAP}"
                + (f", clusters: {CLUSTER_IMAGE}." if peaks else "."),
                f"{label} glass brain",
            )
        )
        figure = _new_figure(9.0, 3.2)
        display = plotting.plot_stat_map(
            image,
            figure=figure,
            cut_coords=cut,
            colorbar=True,
            threshold=1e-6,
            vmin=0,
            vmax=vmax,
            cmap="YlOrRd",
            draw_cross=False,
            title=title,
        )
        if peaks:
            display.add_contours(
                analysis.cluster_image, levels=[0.5], colors="black", linewidths=0.6
            )
        where = (
            f"sliced through the first cluster's peak ({', '.join(peaks[0][a] for a in 'xyz')})"
            if peaks
            else "slices chosen by nilearn"
        )
        figures.append(
            save(
                figure,
                out,
                folder,
                f"{analysis.method}_slices",
                f"{label} orthogonal slices on the MNI152 template, {where}: {what}.",
                f"{label} orthogonal slices",
            )
        )
    return figures


# --- regions -------------------------------------------------------------------------------


def heatmap(
    counts: Table, regions: list[tuple[str, str]], out: Path, folder: str
) -> ReportFigure | None:
    """Regions (rows, in the convergence table's order) by population group and direction.

    Each cell is the number of studies; the colour's hue is the direction (red increase, blue
    decrease, grey no change) and its depth the count, so a region read one way by healthy
    volunteers and the other by patients stands out.
    """
    from matplotlib import colormaps

    from neuroreview.synthesis.votes import DIRECTIONS, PopulationGroup

    _agg()
    if not counts.rows or not regions:
        return None
    cells = {
        (r["region"], r["direction"], r["population"]): int(r["studies"]) for r in counts.records()
    }
    groups = [g.value for g in PopulationGroup if any(k[2] == g.value for k in cells)]
    directions = [d.value for d in DIRECTIONS]
    columns = [(g, d) for g in groups for d in directions]
    top = max(cells.values())
    rgb = np.ones((len(regions), len(columns), 3))
    figure = _new_figure(1.6 + 0.42 * len(columns) + 2.4, 1.4 + 0.28 * len(regions))
    axes = figure.add_subplot()
    for i, (region, _) in enumerate(regions):
        for j, (group, direction) in enumerate(columns):
            n = cells.get((region, direction, group), 0)
            if n:
                rgb[i, j] = colormaps[DIRECTION_CMAPS[direction]](0.3 + 0.7 * n / top)[:3]
                dark = n / top > 0.5
                axes.text(
                    j,
                    i,
                    str(n),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if dark else "black",
                )
    axes.imshow(rgb, aspect="auto", interpolation="nearest")
    axes.set_yticks(range(len(regions)), [name for _, name in regions], fontsize=8)
    axes.set_xticks(range(len(columns)), [DIRECTION_SIGNS[d] for _, d in columns], fontsize=9)
    for k, group in enumerate(groups):
        centre = k * len(directions) + (len(directions) - 1) / 2
        axes.text(centre, -0.9, group, ha="center", va="bottom", fontsize=9, fontweight="bold")
        if k:
            axes.axvline(k * len(directions) - 0.5, color="black", linewidth=1)
    axes.tick_params(length=0)
    axes.set_title("Studies per region, direction and population", pad=22, fontsize=10)
    axes.set_xlabel("+ increase   − decrease   = no change")
    figure.tight_layout()
    return save(
        figure,
        out,
        folder,
        "regions_heatmap",
        "Studies per region (rows, strongest evidence first) reporting an increase (+, red), a "
        "decrease (−, blue) or no change (=, grey), by population group. Counts: "
        f"{counts.path}.",
        "Heatmap of studies per region, direction and population",
    )


def effects_forest(pooled: list[dict[str, str]], out: Path, folder: str) -> ReportFigure | None:
    """Pooled Hedges' g with its 95% CI per region and measure (one row each), k beside it."""
    _agg()
    if not pooled:
        return None
    figure = _new_figure(8.0, 1.4 + 0.4 * len(pooled))
    axes = figure.add_subplot()
    rows = np.arange(len(pooled), 0, -1)
    for row, record in zip(rows, pooled, strict=True):
        g, low, high = (float(record[c]) for c in ("g", "ci_low", "ci_high"))
        axes.plot([low, high], [row, row], color="black", linewidth=1)
        axes.plot([g], [row], marker="D", color="black")
    labels = [f"{r['name']} ({r['measure']}), k = {r['k']}" for r in pooled]
    axes.set_yticks(rows, labels, fontsize=8)
    axes.axvline(0, color="grey", linestyle=":", linewidth=1)
    axes.set_ylim(0.4, len(pooled) + 0.6)
    axes.set_xlabel("pooled Hedges' g (95% CI), random effects (REML)")
    figure.tight_layout()
    return save(
        figure,
        out,
        folder,
        "effects_forest",
        "Pooled effect size per region and measure (diamond) with its 95% confidence interval; "
        "k studies each. Values: regions/convergence.tsv.",
        "Forest plot of pooled effect sizes per region",
    )


def study_forests(
    pooled: list[dict[str, str]],
    pools: Mapping[tuple[str, str], PooledEffect],
    out: Path,
    folder: str,
) -> list[ReportFigure]:
    """One forest plot per pooled region and measure: each study's g with its 95% CI and weight,
    the pooled diamond and the prediction interval.

    ``pools`` are the REML pools the convergence table summarises (computed by the region step,
    never here), so the diamond is the table's g (a test checks it).
    """
    from neuroreview.synthesis.forest import forest_plot

    _agg()
    figures = []
    for record in pooled:
        result = pools.get((record["region"], record["measure"]))
        if result is None:
            continue
        title = f"{record['name']} ({record['measure']})"
        figure = forest_plot(result, title=title)
        slug = "".join(c if c.isalnum() else "_" for c in f"{record['region']}_{record['measure']}")
        figures.append(
            save(
                figure,
                out,
                folder,
                f"forest_{slug}",
                f"{title}: Hedges' g of each study with its 95% CI (square area: random-effects "
                f"weight), the pooled estimate (diamond, REML; g = {number(result.estimate)}) and "
                "its 95% prediction interval. Values: regions/effects.tsv.",
                f"Forest plot of {title}",
            )
        )
    return figures


# --- previews in the web workspace --------------------------------------------------------


def map_preview_png(z_path: Path, cluster_path: Path | None) -> bytes:
    """A glass brain of one analysis's z map as PNG bytes, drawn by the same rule as the
    report's: z inside the FWE-surviving clusters, or, when none survived (or no cluster image
    exists), the uncorrected z > 3.09 (p < 0.001), said in the title."""
    import io

    import nibabel

    _agg()
    z_image = nibabel.load(z_path)
    z = np.asarray(z_image.get_fdata(), dtype=np.float32)
    clusters = (
        np.asarray(nibabel.load(cluster_path).dataobj) > 0
        if cluster_path is not None and cluster_path.is_file()
        else np.zeros(z.shape, dtype=bool)
    )
    if clusters.any():
        shown, title = np.where(clusters, z, 0.0), "z in FWE-corrected clusters"
    else:
        shown, title = np.where(z > Z_P001, z, 0.0), "uncorrected z > 3.09; no FWE cluster"
    vmax = float(shown.max()) if shown.max() > 0 else Z_P001 + 1
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        figure = _glass_brain(nibabel.Nifti1Image(shown, z_image.affine), vmax, title)
        figure.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def _glass_brain(image, vmax: float, title: str) -> Figure:
    """The positive z of ``image`` on a four-view glass brain, as the report draws it."""
    from nilearn import plotting

    figure = _new_figure(9.0, 3.2)
    plotting.plot_glass_brain(
        image,
        figure=figure,
        display_mode="lzry",
        colorbar=True,
        plot_abs=False,
        threshold=1e-6,
        vmin=0,
        vmax=vmax,
        cmap="YlOrRd",
        title=title,
    )
    return figure
