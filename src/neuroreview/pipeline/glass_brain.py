"""A glass brain as one self-contained SVG: the brain seen from the side, the front and above,
with a study's foci drawn through it.

Checking an extraction means seeing where a coordinate lands: a sign dropped from x puts a peak
in the wrong hemisphere, a misread table puts it outside the head. The silhouettes are the MNI152
mask's projections (``space.projections``), embedded as PNG data URIs made once per process; the
foci are SVG circles placed through the grid's affine, so the same mm always lands on the same
unit (one SVG unit per mm). A focus outside the brain mask carries the ``outside`` class and is
drawn in a warning colour; the one being checked carries ``highlight``, is drawn larger and on
top, with cross-hairs.
"""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["PANEL_GAP", "PanelPlace", "glass_brain_svg", "panel_places"]

#: Space between panels, and around them for titles and tick labels (SVG units, i.e. mm).
PANEL_GAP = 30.0
_MARGIN_LEFT, _MARGIN_TOP, _MARGIN_BOTTOM = 24.0, 20.0, 30.0
_TICK_STEP_MM = 50
#: The letters at each end of a view's columns and rows (low end first).
_ENDS = {0: ("L", "R"), 1: ("P", "A"), 2: ("I", "S")}
_AXIS_NAMES = "xyz"

_STYLE = """
text { font: 9px system-ui, sans-serif; fill: #4a5163; }
text.title { font-size: 11px; font-weight: 600; fill: #1d2330; }
text.end { font-size: 11px; font-weight: 600; fill: #7a8296; }
line.tick { stroke: #7a8296; stroke-width: 0.6; }
line.cross { stroke: #c2185b; stroke-width: 0.6; stroke-dasharray: 3 2; }
circle.focus { fill: #1f5fbf; fill-opacity: 0.75; stroke: #fff; stroke-width: 0.6; }
circle.focus.outside { fill: #e07000; fill-opacity: 0.95; stroke: #5c2e00; }
circle.focus.highlight { fill: #c2185b; fill-opacity: 1; stroke: #fff; stroke-width: 1.5; }
circle.focus.highlight.outside { fill: #e07000; stroke: #5c2e00; }
"""


@dataclass(frozen=True)
class PanelPlace:
    """Where a view is drawn in the SVG: its top-left corner and size (SVG units = mm)."""

    name: str
    left: float
    top: float
    width: float
    height: float


@functools.cache
def _views() -> tuple:
    from neuroreview.space.projections import mask_projections

    return mask_projections()


def _voxel_mm() -> NDArray[np.float64]:
    return np.array(_views()[0].grid.voxel_size)


@functools.cache
def panel_places() -> tuple[PanelPlace, ...]:
    """The three views side by side, tops aligned: sagittal, coronal, axial."""
    places, left = [], _MARGIN_LEFT
    size = _voxel_mm()
    for view in _views():
        rows, columns = view.shape
        width, height = columns * size[view.columns], rows * size[view.rows]
        places.append(PanelPlace(view.name, left, _MARGIN_TOP, width, height))
        left += width + PANEL_GAP
    return tuple(places)


def _size() -> tuple[float, float]:
    places = panel_places()
    width = places[-1].left + places[-1].width + _MARGIN_LEFT
    height = _MARGIN_TOP + max(p.height for p in places) + _MARGIN_BOTTOM
    return width, height


@functools.cache
def _silhouette_uri(index: int) -> str:
    """The view as a PNG data URI: grey, darker where more brain lies along the ray, with a
    darker outline; transparent outside the brain."""
    from PIL import Image
    from scipy import ndimage

    depth = _views()[index].depth
    inside = depth > 0
    edge = inside & ~ndimage.binary_erosion(inside)
    rgba = np.zeros((*depth.shape, 4), dtype=np.uint8)
    rgba[..., :3] = (120, 130, 150)
    alpha = 30 + 90 * depth / max(int(depth.max()), 1)
    rgba[..., 3] = np.where(inside, alpha, 0).astype(np.uint8)
    rgba[edge, 3] = 190
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _positions(points: NDArray[np.float64]) -> list[NDArray[np.float64]]:
    """Each view's (n, 2) SVG positions of the points inside its panel, kept to its edges."""
    from neuroreview.space.projections import mm_to_image

    places, size = panel_places(), _voxel_mm()
    result = []
    for view, place in zip(_views(), places, strict=True):
        if len(points) == 0:
            result.append(np.zeros((0, 2)))
            continue
        image = mm_to_image(view, points)
        svg = image * np.array([size[view.columns], size[view.rows]])
        svg[:, 0] = np.clip(svg[:, 0], 0, place.width)
        svg[:, 1] = np.clip(svg[:, 1], 0, place.height)
        result.append(svg)
    return result


def _outside(points: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Whether each point lies outside the brain mask (the corpus check's distance, > 0)."""
    from neuroreview.cbma.checks import distance_to_mask_mm

    if len(points) == 0:
        return np.zeros(0, dtype=bool)
    return distance_to_mask_mm(points) > 0


def _frame(view, place: PanelPlace, index: int) -> list[str]:
    """A view's silhouette, title, end letters and mm ticks, in panel coordinates."""
    width, height = _number(place.width), _number(place.height)
    parts = [
        f'<image href="{_silhouette_uri(index)}" x="0" y="0" width="{width}" '
        f'height="{height}" preserveAspectRatio="none"/>',
        f'<text class="title" x="0" y="-6">{place.name}</text>',
    ]
    low, high = _ENDS[view.columns]
    middle = _number(place.height / 2)
    parts.append(f'<text class="end" x="2" y="{middle}">{low}</text>')
    parts.append(f'<text class="end" x="{width}" y="{middle}" text-anchor="end">{high}</text>')
    bottom, top = _ENDS[view.rows]
    centre = _number(place.width / 2)
    parts.append(f'<text class="end" x="{centre}" y="10" text-anchor="middle">{top}</text>')
    parts.append(
        f'<text class="end" x="{centre}" y="{_number(place.height - 2)}" '
        f'text-anchor="middle">{bottom}</text>'
    )
    parts.extend(_ticks(view, place))
    return parts


def _ticks(view, place: PanelPlace) -> list[str]:
    """Ticks every 50 mm along the bottom (the columns' axis) and the left (the rows')."""
    from neuroreview.space.projections import mm_to_image

    size = _voxel_mm()
    affine = view.grid.affine
    parts = []
    for axis, horizontal in ((view.columns, True), (view.rows, False)):
        first = affine[axis, 3]
        last = first + affine[axis, axis] * (view.grid.shape[axis] - 1)
        values = range(
            int(np.ceil(first / _TICK_STEP_MM)) * _TICK_STEP_MM, int(last) + 1, _TICK_STEP_MM
        )
        for value in values:
            point = np.zeros(3)
            point[axis] = value
            column, row = mm_to_image(view, point)
            if horizontal:
                x, y = _number(column * size[view.columns]), _number(place.height)
                y2 = _number(place.height + 3)
                parts.append(f'<line class="tick" x1="{x}" y1="{y}" x2="{x}" y2="{y2}"/>')
                parts.append(
                    f'<text x="{x}" y="{_number(place.height + 12)}" '
                    f'text-anchor="middle">{value}</text>'
                )
            else:
                y = _number(row * size[view.rows])
                parts.append(f'<line class="tick" x1="-3" y1="{y}" x2="0" y2="{y}"/>')
                parts.append(f'<text x="-4" y="{y}" dy="3" text-anchor="end">{value}</text>')
        name = _AXIS_NAMES[axis]
        if horizontal:
            parts.append(
                f'<text x="{_number(place.width)}" y="{_number(place.height + 24)}" '
                f'text-anchor="end">{name} (mm)</text>'
            )
    return parts


def glass_brain_svg(
    points_mni: ArrayLike,
    highlight: int | None = None,
    *,
    titles: Sequence[str] | None = None,
) -> str:
    """The glass brain with ``points_mni`` ((n, 3) MNI mm) as dots, as one SVG document.

    ``highlight`` is the index of the point being checked (None: none); ``titles`` one tooltip
    per point (default: its coordinates). Points outside the grid sit on their panel's edge,
    and like every point outside the brain mask carry the ``outside`` class.
    """
    points = np.asarray(points_mni, dtype=np.float64).reshape(-1, 3)
    if not np.all(np.isfinite(points)):
        raise ValueError("glass brain points must be finite")
    if highlight is not None and not 0 <= highlight < len(points):
        raise ValueError(f"no point {highlight} to highlight among {len(points)}")
    if titles is not None and len(titles) != len(points):
        raise ValueError(f"{len(titles)} titles for {len(points)} points")
    outside = _outside(points)
    positions = _positions(points)
    width, height = _size()
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_number(width)} '
        f'{_number(height)}" width="{_number(width)}" height="{_number(height)}" role="img">',
        "<title>Glass brain: foci on the MNI152 brain mask</title>",
        f"<style>{_STYLE}</style>",
    ]
    order = [i for i in range(len(points)) if i != highlight]
    if highlight is not None:
        order.append(highlight)
    for index, (view, place) in enumerate(zip(_views(), panel_places(), strict=True)):
        parts.append(
            f'<g class="panel {view.name}" transform="translate({_number(place.left)} '
            f'{_number(place.top)})">'
        )
        parts.extend(_frame(view, place, index))
        if highlight is not None:
            x, y = (_number(v) for v in positions[index][highlight])
            parts.append(
                f'<line class="cross" x1="{x}" y1="0" x2="{x}" y2="{_number(place.height)}"/>'
            )
            parts.append(
                f'<line class="cross" x1="0" y1="{y}" x2="{_number(place.width)}" y2="{y}"/>'
            )
        for i in order:
            classes = (
                "focus"
                + (" outside" if outside[i] else "")
                + (" highlight" if i == highlight else "")
            )
            x, y = (_number(v) for v in positions[index][i])
            radius = 6 if i == highlight else 4
            title = titles[i] if titles is not None else _default_title(points[i], outside[i])
            parts.append(
                f'<circle class="{classes}" data-index="{i}" cx="{x}" cy="{y}" r="{radius}">'
                f"<title>{escape(title)}</title></circle>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def _default_title(point: NDArray[np.float64], outside: bool) -> str:
    x, y, z = (_number(v) for v in point)
    return f"({x}, {y}, {z}) MNI" + (": outside the brain mask" if outside else "")
