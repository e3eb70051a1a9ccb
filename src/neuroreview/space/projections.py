"""Orthogonal projections of the brain mask, and where an MNI point falls on each.

A glass brain shows every focus of a study at once: the brain seen from the side (sagittal),
the front (coronal) and above (axial), with the foci drawn through it. Here are the arrays
behind it: for each view, how many mask voxels lie along every ray (a shaded silhouette), and
the mapping from mm to the view's image coordinates. Pure arrays; drawing is the pipeline's.

Image coordinates are in voxels of the grid, with (0, 0) the top-left corner of the top-left
voxel and rows running downwards, so a point at a voxel centre lands on (index + 0.5). Views are
drawn the neurological way (left on the left) with anterior and superior up or right.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neuroreview.space.grid import MNI152_2MM, Grid, brain_mask_array
from neuroreview.space.transforms import _as_points

__all__ = ["VIEWS", "Projection", "mask_projections", "mm_to_image"]

#: Each view: its name, the world axis on the image's columns (left to right, increasing) and
#: the one on its rows (drawn bottom to top, increasing). The axis not named is projected away.
VIEWS: tuple[tuple[str, int, int], ...] = (
    ("sagittal", 1, 2),
    ("coronal", 0, 2),
    ("axial", 0, 1),
)


@dataclass(frozen=True, eq=False)
class Projection:
    """One view of the mask: ``depth[row, col]`` counts the mask voxels along that ray.

    ``columns`` and ``rows`` are the world axes (0 x, 1 y, 2 z) the image's columns and rows
    show; :func:`mm_to_image` places points on it through ``grid``'s affine.
    """

    name: str
    columns: int
    rows: int
    depth: NDArray[np.int32]
    grid: Grid

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the image, in voxels."""
        return self.depth.shape[0], self.depth.shape[1]

    @property
    def silhouette(self) -> NDArray[np.bool_]:
        """Where any brain lies along the ray."""
        return self.depth > 0


def _axis_scales(grid: Grid) -> NDArray[np.float64]:
    """The grid's voxel size per world axis; only axis-aligned grids with positive steps have
    views whose rows and columns are world axes."""
    linear = grid.affine[:3, :3]
    if not np.allclose(linear, np.diag(np.diag(linear))) or np.any(np.diag(linear) <= 0):
        raise ValueError("projections need an axis-aligned grid with positive voxel sizes")
    return np.diag(linear).copy()


@functools.cache
def mask_projections(grid: Grid = MNI152_2MM) -> tuple[Projection, ...]:
    """The sagittal, coronal and axial views of the brain mask on ``grid``, computed once.

    Only the MNI152 2 mm grid has a mask here, so another grid is refused.
    """
    if grid != MNI152_2MM:
        raise ValueError("the brain mask exists on the MNI152 2 mm grid only")
    _axis_scales(grid)
    mask = brain_mask_array()
    views = []
    for name, columns, rows in VIEWS:
        (projected,) = {0, 1, 2} - {columns, rows}
        depth = mask.sum(axis=projected, dtype=np.int32)
        # The remaining axes keep their order: transpose so rows index ``rows``, then flip so
        # that row 0 is the top (the largest coordinate).
        if columns > rows:
            depth = depth.T
        depth = np.ascontiguousarray(depth.T[::-1, :])
        depth.setflags(write=False)
        views.append(Projection(name, columns, rows, depth, grid))
    return tuple(views)


def mm_to_image(projection: Projection, xyz: ArrayLike) -> NDArray[np.float64]:
    """Image coordinates (column, row), in voxels, of MNI points (mm) on ``projection``.

    Points outside the grid map outside ``[0, shape]``; the caller decides how to show them.
    """
    points, single = _as_points(xyz)
    grid = projection.grid
    scales = _axis_scales(grid)
    # Edges of the first voxel along each axis: its centre less half a voxel.
    start = grid.affine[:3, 3] - scales / 2
    column = (points[:, projection.columns] - start[projection.columns]) / scales[
        projection.columns
    ]
    n_rows = projection.shape[0]
    row = n_rows - (points[:, projection.rows] - start[projection.rows]) / scales[projection.rows]
    image = np.column_stack([column, row])
    return image[0] if single else image
