"""Forest and funnel plots: the right artists per study, and files written whole."""

from __future__ import annotations

import pytest
from matplotlib.collections import PathCollection

from neuroreview.io.figures import save_figure
from neuroreview.synthesis.effects import pool_effects
from neuroreview.synthesis.forest import (
    POOLED_GID,
    PREDICTION_GID,
    STUDY_CI_GID,
    STUDY_MARKER_GID,
    forest_plot,
    funnel_plot,
)

EFFECTS = [
    ("Abdallah 2018", 0.45, 0.04),
    ("Li 2016", 0.80, 0.09),
    ("Stone 2012", 0.10, 0.02),
    ("Rowland 2010", 0.62, 0.12),
]


def _artists(figure, gid):
    axes = figure.axes[0]
    return [a for a in [*axes.lines, *axes.collections, *axes.patches] if a.get_gid() == gid]


def _marker_count(figure):
    (markers,) = _artists(figure, STUDY_MARKER_GID)
    assert isinstance(markers, PathCollection)
    return len(markers.get_offsets())


def test_forest_plot_has_one_row_per_study_and_a_pooled_row():
    pooled = pool_effects(EFFECTS)
    figure = forest_plot(pooled, title="Glx, ACC")
    assert _marker_count(figure) == 4
    assert len(_artists(figure, STUDY_CI_GID)) == 4
    assert len(_artists(figure, POOLED_GID)) == 1
    assert len(_artists(figure, PREDICTION_GID)) == 1
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert labels[:4] == [e[0] for e in EFFECTS]
    assert labels[4].startswith("REML pooled")
    assert figure.axes[0].get_title() == "Glx, ACC"


def test_forest_square_size_follows_weight():
    pooled = pool_effects(EFFECTS)
    (markers,) = _artists(forest_plot(pooled), STUDY_MARKER_GID)
    sizes = list(markers.get_sizes())
    heaviest = max(range(4), key=lambda i: pooled.studies[i].weight)
    assert sizes[heaviest] == max(sizes)


def test_forest_plot_of_two_studies_has_no_prediction_interval():
    figure = forest_plot(pool_effects(EFFECTS[:2]))
    assert _marker_count(figure) == 2
    assert _artists(figure, PREDICTION_GID) == []


def test_funnel_plot_has_one_point_per_study():
    figure = funnel_plot(pool_effects(EFFECTS))
    assert _marker_count(figure) == 4
    low, high = figure.axes[0].get_ylim()
    assert low > high == 0  # standard error axis inverted: precise studies on top


def test_figures_are_saved_as_png_and_svg(tmp_path):
    pooled = pool_effects(EFFECTS)
    png = save_figure(forest_plot(pooled), tmp_path / "out" / "forest.png")
    svg = save_figure(funnel_plot(pooled), tmp_path / "out" / "funnel.svg")
    forest_svg = save_figure(forest_plot(pooled), tmp_path / "out" / "forest.svg")
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert svg.stat().st_size > 0
    text = forest_svg.read_text(encoding="utf-8")
    assert text.startswith("<?xml") and "<svg" in text
    assert all(study in text for study, _, _ in EFFECTS)
    assert sorted(p.name for p in png.parent.iterdir()) == [
        "forest.png",
        "forest.svg",
        "funnel.svg",
    ]


def test_saving_twice_gives_identical_bytes(tmp_path):
    pooled = pool_effects(EFFECTS)
    for suffix in (".png", ".svg"):
        first = save_figure(forest_plot(pooled), tmp_path / f"a{suffix}").read_bytes()
        second = save_figure(forest_plot(pooled), tmp_path / f"b{suffix}").read_bytes()
        assert first == second


def test_unknown_format_is_refused_and_nothing_written(tmp_path):
    with pytest.raises(ValueError, match="use .png or .svg"):
        save_figure(forest_plot(pool_effects(EFFECTS)), tmp_path / "forest.pdf")
    assert list(tmp_path.iterdir()) == []
