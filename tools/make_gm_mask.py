"""Build the grey-matter null mask shipped as ``neuroreview/data/grid/mni152_2mm_gm_mask.nii.gz``.

Run once, offline, by a maintainer (``python tools/make_gm_mask.py``); the package only reads the
result, so analyses never download or resample anything. The mask is NiMARE's "gm" null coverage
(``nimare.utils._mask_coverage_to_mask(masker, "gm")``), rebuilt from its definition:

1. nilearn's ICBM152 2009 grey-matter probability template, rescaled to [0, 1] and resampled to
   2 mm (``nilearn.datasets.load_mni152_gm_template(resolution=2)``);
2. resampled onto the shipped brain mask's grid with continuous interpolation;
3. kept where the probability exceeds 0.1, and only inside the brain mask.

The result is written as uint8 (1 in grey matter) with a zero gzip timestamp, so rerunning the
script with the same nilearn gives the same bytes. It prints the voxel count and the checksum
that ``src/neuroreview/data/grid/README.md`` records.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import nibabel
import numpy as np
from nilearn import datasets
from nilearn.image import resample_to_img

from neuroreview.space import load_brain_mask

#: NiMARE's ``gm_threshold``: grey-matter probability a voxel must exceed.
GM_THRESHOLD = 0.1
TARGET = (
    Path(__file__).resolve().parents[1]
    / "src"
    / "neuroreview"
    / "data"
    / "grid"
    / "mni152_2mm_gm_mask.nii.gz"
)


def build() -> nibabel.Nifti1Image:
    brain = load_brain_mask()
    template = datasets.load_mni152_gm_template(resolution=2)
    probability = resample_to_img(template, brain, interpolation="continuous")
    inside = (np.asarray(probability.dataobj) > GM_THRESHOLD) & (np.asarray(brain.dataobj) > 0)
    image = nibabel.Nifti1Image(inside.astype(np.uint8), brain.affine)
    image.header.set_xyzt_units("mm")
    image.header.set_qform(brain.affine, code=4)
    image.header.set_sform(brain.affine, code=4)
    return image


def main() -> None:
    image = build()
    TARGET.write_bytes(gzip.compress(image.to_bytes(), compresslevel=9, mtime=0))
    data = np.asarray(image.dataobj)
    print(f"wrote {TARGET}")
    print(f"grey-matter voxels: {int(data.sum()):,}")
    print(f"sha256 of the uint8 array: {hashlib.sha256(data.tobytes()).hexdigest()}")


if __name__ == "__main__":
    main()
