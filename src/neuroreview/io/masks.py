"""Reading a user's analysis mask (``analyze --mask FILE``), e.g. pyALE's or GingerALE's.

A mask is only usable on the grid the analysis runs on, the MNI152 2 mm grid; pyALE's and
FSL-style images store the same grid with the x axis running right to left, which is turned
around here. Any other grid is refused by name: resampling a mask silently would move its edge.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from neuroreview.errors import NeuroreviewError
from neuroreview.space.grid import MNI152_2MM


def read_mask(path: str | Path, threshold: float = 0.0) -> NDArray[np.bool_]:
    """The voxels of the image at ``path`` above ``threshold``, on the MNI152 2 mm grid."""
    import nibabel

    path = Path(path)
    try:
        image = nibabel.load(path)
        data = np.asarray(image.dataobj, dtype=np.float64)
    except FileNotFoundError:
        raise NeuroreviewError(f"{path}: no such mask file") from None
    except Exception as error:  # nibabel raises many kinds for a file it cannot read
        raise NeuroreviewError(f"{path}: not a NIfTI image nibabel can read ({error})") from None
    data = np.squeeze(data)
    if data.shape != MNI152_2MM.shape:
        raise NeuroreviewError(
            f"{path}: the mask is {'x'.join(map(str, data.shape))} voxels; it must be on the "
            f"MNI152 2 mm grid ({'x'.join(map(str, MNI152_2MM.shape))}); resample it first"
        )
    flipped = MNI152_2MM.affine.copy()
    flipped[0, 0] = -flipped[0, 0]
    flipped[0, 3] = -flipped[0, 3]
    if np.allclose(image.affine, flipped, atol=1e-3):
        data = data[::-1]
    elif not np.allclose(image.affine, MNI152_2MM.affine, atol=1e-3):
        raise NeuroreviewError(
            f"{path}: the mask's affine is not the MNI152 2 mm grid's (origin at voxel 45, 63, "
            "36 with 2 mm voxels); resample it first"
        )
    if not np.all(np.isfinite(data)):
        raise NeuroreviewError(f"{path}: the mask holds values that are not numbers")
    mask = data > threshold
    if not mask.any():
        raise NeuroreviewError(f"{path}: no voxel of the mask is above {threshold:g}")
    return mask
