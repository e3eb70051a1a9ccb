"""The voxel grid every map is computed on, and its brain mask.

All maps share one grid, FSL's MNI152 2 mm (91 x 109 x 91, origin -90, -126, -72): the grid
NiMARE and GingerALE use, so our maps overlay theirs voxel for voxel and results can be compared
directly. Foci are snapped to it the way NiMARE's ``mm2vox`` does (nearest voxel, ties to even),
so a focus lands in the same voxel in both tools.

The brain mask ships inside the package (``neuroreview/data/grid``; see its README for origin,
checksum and licence) and is read on first use: nothing is ever downloaded.
"""

from __future__ import annotations

import functools
import gzip
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neuroreview.space.transforms import _as_points, _restore_shape

if TYPE_CHECKING:
    import nibabel

__all__ = ["MNI152_2MM", "Grid", "brain_mask_array", "load_brain_mask"]

_MASK_RESOURCE = ("data", "grid", "mni152_2mm_brainmask.nii.gz")


@dataclass(frozen=True, eq=False)
class Grid:
    """A 3-D voxel grid: its shape and the voxel-to-world (mm) affine.

    Frozen so a grid shared by every estimator cannot be altered under them; the affine is
    stored as a read-only copy for the same reason.
    """

    shape: tuple[int, int, int]
    affine: NDArray[np.float64]
    _inverse: NDArray[np.float64] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        shape = tuple(int(n) for n in self.shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"grid shape must be three positive sizes, got {self.shape}")
        affine = np.array(self.affine, dtype=np.float64)
        if affine.shape != (4, 4):
            raise ValueError(f"grid affine must be 4 x 4, got shape {affine.shape}")
        inverse = np.linalg.inv(affine)
        affine.setflags(write=False)
        inverse.setflags(write=False)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "affine", affine)
        object.__setattr__(self, "_inverse", inverse)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Grid):
            return NotImplemented
        return self.shape == other.shape and np.array_equal(self.affine, other.affine)

    def __hash__(self) -> int:
        return hash((self.shape, self.affine.tobytes()))

    @property
    def voxel_size(self) -> tuple[float, float, float]:
        """Edge lengths (mm) of one voxel along i, j, k; kernels are sized from these."""
        x, y, z = np.sqrt((self.affine[:3, :3] ** 2).sum(axis=0))
        return float(x), float(y), float(z)

    def world_to_voxel_float(self, xyz: ArrayLike) -> NDArray[np.float64]:
        """Fractional voxel coordinates of mm points, for interpolation or distance checks."""
        points, single = _as_points(xyz)
        ijk = points @ self._inverse[:3, :3].T + self._inverse[:3, 3]
        return _restore_shape(ijk, single)

    def world_to_voxel(self, xyz: ArrayLike) -> NDArray[np.intp]:
        """Nearest voxel indices of mm points, rounding half-way points to even as NiMARE does.

        Indices may fall outside the grid; check them with :meth:`contains`. Non-finite
        coordinates are refused because they have no voxel (NiMARE turns them into garbage).
        """
        ijk = self.world_to_voxel_float(xyz)
        if not np.all(np.isfinite(ijk)):
            raise ValueError("coordinates must be finite to map them to voxels")
        return np.rint(ijk).astype(np.intp)

    def voxel_to_world(self, ijk: ArrayLike) -> NDArray[np.float64]:
        """World (mm) coordinates of voxel indices (integer or fractional)."""
        points, single = _as_points(ijk)
        xyz = points @ self.affine[:3, :3].T + self.affine[:3, 3]
        return _restore_shape(xyz, single)

    def contains(self, ijk: ArrayLike) -> NDArray[np.bool_] | np.bool_:
        """Whether voxel indices lie inside the grid: one bool per (3,) point, or an (n,) mask."""
        points, single = _as_points(ijk)
        inside = np.all((points >= 0) & (points <= np.array(self.shape) - 1), axis=1)
        return inside[0] if single else inside


MNI152_2MM = Grid(
    shape=(91, 109, 91),
    affine=np.array(
        [
            [2.0, 0.0, 0.0, -90.0],
            [0.0, 2.0, 0.0, -126.0],
            [0.0, 0.0, 2.0, -72.0],
            [0.0, 0.0, 0.0, 1.0],
        ]
    ),
)


@functools.cache
def load_brain_mask() -> nibabel.Nifti1Image:
    """The MNI152 2 mm brain mask (uint8, 1 inside) as a NIfTI image on :data:`MNI152_2MM`.

    Read from the package's bytes rather than a file path so it also works from a zipped
    install. Cached: the image is shared, and its data array is read-only to keep it intact.
    """
    import nibabel

    compressed = resources.files("neuroreview").joinpath(*_MASK_RESOURCE).read_bytes()
    stored = nibabel.Nifti1Image.from_bytes(gzip.decompress(compressed))
    data = np.asarray(stored.dataobj, dtype=np.uint8)
    data.setflags(write=False)
    return nibabel.Nifti1Image(data, stored.affine, stored.header)


@functools.cache
def brain_mask_array() -> NDArray[np.bool_]:
    """The brain mask as a read-only boolean (91, 109, 91) array, indexed [i, j, k].

    Estimators index it millions of times, so it is decoded once and shared; copy it before
    modifying.
    """
    mask = np.asarray(load_brain_mask().dataobj) > 0
    mask.setflags(write=False)
    return mask
