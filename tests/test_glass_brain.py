"""The glass brain: mask projections, mm -> image mapping, and dots at the right SVG units.

The MNI152 2 mm grid's affine puts voxel (i, j, k) at (2i - 90, 2j - 126, 2k - 72) mm, so voxel
edges start 1 mm lower: x -91, y -127, z -73. With one SVG unit per mm the views are 218 x 182
(sagittal: y by z), 182 x 182 (coronal: x by z) and 182 x 218 (axial: x by y) units, and rows
count down from the top edges z = 109 and y = 91 mm.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from neuroreview.pipeline.glass_brain import PANEL_GAP, glass_brain_svg, panel_places
from neuroreview.space.grid import brain_mask_array
from neuroreview.space.projections import mask_projections, mm_to_image

SVG = "{http://www.w3.org/2000/svg}"


def _panels(svg: str) -> dict[str, tuple[tuple[float, float], list[ET.Element]]]:
    """Each view's translation and its circles."""
    root = ET.fromstring(svg)
    panels = {}
    for group in root.iter(SVG + "g"):
        name = group.get("class").split()[1]
        left, top = (float(v) for v in re.findall(r"[-\d.]+", group.get("transform")))
        panels[name] = ((left, top), list(group.iter(SVG + "circle")))
    return panels


def test_projections_count_the_mask_along_each_ray():
    sagittal, coronal, axial = mask_projections()
    mask = brain_mask_array()
    assert (sagittal.shape, coronal.shape, axial.shape) == ((91, 109), (91, 91), (109, 91))
    # The ray through y = 0, z = 0 (j = 63, k = 36) is row 90 - 36 = 54, column 63.
    assert sagittal.depth[54, 63] == mask[:, 63, 36].sum()
    # Coronal row 54 column 45 is x = 0, z = 0; axial row 108 - 63 = 45, column 45 is x = y = 0.
    assert coronal.depth[54, 45] == mask[45, :, 36].sum()
    assert axial.depth[45, 45] == mask[45, 63, :].sum()
    assert sagittal.depth.sum() == coronal.depth.sum() == axial.depth.sum() == mask.sum()


def test_mm_map_to_voxel_centres_of_the_image():
    sagittal, coronal, axial = mask_projections()
    # The first voxel's centre (-90, -126, -72) is the centre of the bottom-left pixel.
    assert mm_to_image(sagittal, [-90, -126, -72]).tolist() == [0.5, 90.5]
    assert mm_to_image(coronal, [-90, -126, -72]).tolist() == [0.5, 90.5]
    assert mm_to_image(axial, [-90, -126, -72]).tolist() == [0.5, 108.5]
    # (2, 24, -8) is voxel (46, 75, 32): sagittal column 75.5, row 91 - 32.5 = 58.5.
    assert mm_to_image(sagittal, [2, 24, -8]).tolist() == [75.5, 58.5]
    assert mm_to_image(axial, [[2, 24, -8]]).tolist() == [[46.5, 108 - 75 + 0.5]]


def test_the_views_sit_side_by_side():
    places = panel_places()
    assert [(p.name, p.left, p.top, p.width, p.height) for p in places] == [
        ("sagittal", 24.0, 20.0, 218.0, 182.0),
        ("coronal", 24.0 + 218 + PANEL_GAP, 20.0, 182.0, 182.0),
        ("axial", 24.0 + 218 + 182 + 2 * PANEL_GAP, 20.0, 182.0, 218.0),
    ]


def test_a_focus_lands_at_its_mm_in_every_view():
    panels = _panels(glass_brain_svg([[2, 24, -8], [-40, -60, 30]], highlight=0))
    expected = {
        # sagittal: (y + 127, 109 - z); coronal: (x + 91, 109 - z); axial: (x + 91, 91 - y)
        "sagittal": [(151, 117), (67, 79)],
        "coronal": [(93, 117), (51, 79)],
        "axial": [(93, 67), (51, 151)],
    }
    places = {p.name: p for p in panel_places()}
    for name, ((left, top), circles) in panels.items():
        assert (left, top) == (places[name].left, places[name].top)
        drawn = {
            int(c.get("data-index")): (float(c.get("cx")), float(c.get("cy"))) for c in circles
        }
        assert [drawn[0], drawn[1]] == expected[name]
        # The highlighted point is drawn last (on top), larger.
        assert circles[-1].get("data-index") == "0"
        assert (circles[-1].get("class"), circles[-1].get("r")) == ("focus highlight", "6")
        assert (circles[0].get("class"), circles[0].get("r")) == ("focus", "4")


def test_a_point_outside_the_brain_is_drawn_in_the_warning_class():
    svg = glass_brain_svg([[2, 24, -8], [0, 0, 100], [95, 0, 0]], highlight=1)
    for _place, circles in _panels(svg).values():
        classes = {c.get("data-index"): c.get("class") for c in circles}
        assert classes == {"0": "focus", "1": "focus outside highlight", "2": "focus outside"}
    # x = 95 mm lies beyond the grid's right edge (91 mm): the dot sits on the panel's edge.
    _coronal, circles = _panels(svg)["coronal"]
    edge = next(c for c in circles if c.get("data-index") == "2")
    assert (edge.get("cx"), edge.get("cy")) == ("182", "109")
    assert "circle.focus.outside { fill: #e07000" in svg
    assert "<title>(0, 0, 100) MNI: outside the brain mask</title>" in svg


def test_the_silhouettes_are_embedded_and_nothing_is_fetched():
    svg = glass_brain_svg([])
    assert svg.count('href="data:image/png;base64,') == 3
    assert "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert [t for t in re.findall(r'class="end"[^>]*>(\w)<', svg)] == [
        "P",
        "A",
        "S",
        "I",
        "L",
        "R",
        "S",
        "I",
        "L",
        "R",
        "A",
        "P",
    ]


def test_bad_points_are_refused():
    with pytest.raises(ValueError, match="must be finite"):
        glass_brain_svg([[np.nan, 0, 0]])
    with pytest.raises(ValueError, match="no point 2 to highlight among 2"):
        glass_brain_svg([[0, 0, 0], [1, 1, 1]], highlight=2)


def test_fifty_foci_draw_in_well_under_a_second():
    points = np.random.default_rng(7).uniform(-60, 60, size=(50, 3))
    glass_brain_svg(points[:1])  # the silhouettes are made once per process
    start = time.perf_counter()
    svg = glass_brain_svg(points, highlight=3)
    assert time.perf_counter() - start < 0.25
    assert svg.count("<circle") == 150
