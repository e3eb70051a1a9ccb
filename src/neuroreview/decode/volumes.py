"""Bringing a user's map or mask onto the grid the topic data live on.

Decoding compares voxels, so a map must sit on the MNI152 2 mm grid first. Images already on
it (every map ``neuroreview analyze`` writes) are used as they are; others, such as a 1 mm mask
from FSL, are resampled: trilinearly for maps, nearest-neighbour for masks so a mask stays a
mask. Voxels the image does not cover become NaN in a map and outside in a mask, so they take no
part in decoding rather than counting as zeros.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from neuroreview.errors import InputError
from neuroreview.space import MNI152_2MM, Grid

if TYPE_CHECKING:
    import nibabel

__all__ = ["load_image", "map_on_grid", "mask_on_grid"]


def load_image(path: str | Path) -> nibabel.Nifti1Image:
    """A NIfTI image from disk; an unreadable or missing file is one error naming it."""
    import nibabel

    source = Path(path)
    if not source.is_file():
        raise InputError("no such file", source=source)
    try:
        image = nibabel.load(source)
        image.get_fdata(caching="unchanged")
    except Exception as error:  # nibabel raises many kinds; all mean "not a usable image"
        raise InputError(f"cannot read the image: {error}", source=source) from None
    return image


def _three_d(image: nibabel.spatialimages.SpatialImage, source: str) -> NDArray[np.float64]:
    data = np.asarray(image.dataobj, dtype=np.float64)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise InputError(
            f"the image is {data.ndim}-D with shape {data.shape}; give one 3-D volume", source
        )
    return data


def _resampled(
    image: nibabel.spatialimages.SpatialImage,
    data: NDArray[np.float64],
    grid: Grid,
    order: int,
    fill: float,
) -> NDArray[np.float64]:
    if data.shape == grid.shape and np.allclose(image.affine, grid.affine):
        return data
    import nibabel
    from nibabel.processing import resample_from_to

    volume = nibabel.Nifti1Image(data, image.affine)
    return np.asarray(
        resample_from_to(volume, (grid.shape, grid.affine), order=order, cval=fill).dataobj,
        dtype=np.float64,
    )


def map_on_grid(
    image: nibabel.spatialimages.SpatialImage, grid: Grid = MNI152_2MM, source: str = "the map"
) -> NDArray[np.float64]:
    """The map's values on ``grid`` (trilinear if resampled); NaN where the image has no data."""
    return _resampled(image, _three_d(image, source), grid, order=1, fill=np.nan)


def mask_on_grid(
    image: nibabel.spatialimages.SpatialImage, grid: Grid = MNI152_2MM, source: str = "the mask"
) -> NDArray[np.bool_]:
    """The mask on ``grid`` (nearest neighbour if resampled): true where the image is non-zero."""
    data = _three_d(image, source)
    data = np.where(np.isfinite(data), data, 0.0)
    return _resampled(image, data, grid, order=0, fill=0.0) != 0
