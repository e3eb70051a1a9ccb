"""Coordinate spaces and the voxel grid: where foci live before any statistics touch them.

Part of the statistical core: arrays in, arrays out, with no knowledge of storage, files or
faces. Converting MNI <-> Talairach and snapping foci to the shared MNI152 2 mm grid happen here,
once, so every estimator sees coordinates the same way NiMARE and GingerALE do. nibabel is only
imported when the brain mask is first loaded, keeping this import cheap.
"""

from neuroreview.space.grid import MNI152_2MM, Grid, brain_mask_array, load_brain_mask
from neuroreview.space.transforms import (
    DEFAULT_METHOD,
    TransformMethod,
    convert,
    mni_to_tal,
    tal_to_mni,
)

__all__ = [
    "DEFAULT_METHOD",
    "MNI152_2MM",
    "Grid",
    "TransformMethod",
    "brain_mask_array",
    "convert",
    "load_brain_mask",
    "mni_to_tal",
    "tal_to_mni",
]
