"""The grey-matter mask random foci can be drawn from, as NiMARE's "gm" null coverage defines it.

Where the null draws its random foci changes every p-value: drawing from the whole brain (NiMARE's
default) spreads them into white matter, where reported peaks rarely are, which makes the null
too lenient relative to the data; GingerALE draws from grey matter. Offering the grey-matter
option lets a user reproduce either tool.

The mask is nilearn's ICBM152 grey-matter probability template resampled to the MNI152 2 mm grid,
kept above 0.1 and inside the brain mask, exactly as ``nimare.utils._mask_coverage_to_mask``
builds it. It is computed once, offline, by ``tools/make_gm_mask.py`` and ships in the package
(``neuroreview/data/grid``; see its README for origin, checksum and licence), so analyses never
download or resample a template.
"""

from __future__ import annotations

import functools
import gzip
from importlib import resources

import numpy as np
from numpy.typing import NDArray

__all__ = ["grey_matter_mask_array"]

_GM_RESOURCE = ("data", "grid", "mni152_2mm_gm_mask.nii.gz")


@functools.cache
def grey_matter_mask_array() -> NDArray[np.bool_]:
    """The grey-matter mask as a read-only boolean (91, 109, 91) array on ``MNI152_2MM``.

    A subset of :func:`~neuroreview.space.brain_mask_array`. Decoded once and shared, as the
    brain mask is; copy it before modifying.
    """
    import nibabel

    compressed = resources.files("neuroreview").joinpath(*_GM_RESOURCE).read_bytes()
    image = nibabel.Nifti1Image.from_bytes(gzip.decompress(compressed))
    mask = np.asarray(image.dataobj) > 0
    mask.setflags(write=False)
    return mask
