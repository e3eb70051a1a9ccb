"""The shipped grey-matter null mask: NiMARE's "gm" coverage, voxel for voxel, with no download."""

from __future__ import annotations

import gzip
import hashlib
from importlib import resources

import nibabel
import numpy as np
import pytest
from nilearn.maskers import NiftiMasker
from nimare.utils import _mask_coverage_to_mask, get_template

from neuroreview.space import MNI152_2MM, brain_mask_array
from neuroreview.space.grey_matter import grey_matter_mask_array

GM_VOXELS = 186_779
GM_SHA256 = "4a77e7ebb0419926925e8e661fb6a3653e0f799f7d71cc706881882233cbad41"


def _shipped_image() -> nibabel.Nifti1Image:
    path = resources.files("neuroreview").joinpath("data", "grid", "mni152_2mm_gm_mask.nii.gz")
    return nibabel.Nifti1Image.from_bytes(gzip.decompress(path.read_bytes()))


def test_equals_nimare_gm_coverage_voxel_for_voxel() -> None:
    masker = NiftiMasker(get_template("mni152_2mm", mask="brain")).fit()
    reference = _mask_coverage_to_mask(masker, mask_coverage="gm")
    assert reference.shape == MNI152_2MM.shape
    np.testing.assert_array_equal(grey_matter_mask_array(), reference)
    assert int(reference.sum()) == GM_VOXELS


def test_shipped_file_lives_on_the_grid_and_matches_the_documented_checksum() -> None:
    image = _shipped_image()
    data = np.asarray(image.dataobj)
    assert image.shape == MNI152_2MM.shape
    np.testing.assert_array_equal(image.affine, MNI152_2MM.affine)
    assert data.dtype == np.uint8
    assert sorted(np.unique(data).tolist()) == [0, 1]
    assert hashlib.sha256(data.tobytes()).hexdigest() == GM_SHA256


def test_is_a_cached_read_only_subset_of_the_brain_mask() -> None:
    gm = grey_matter_mask_array()
    assert gm.dtype == np.bool_
    assert gm.shape == (91, 109, 91)
    assert gm is grey_matter_mask_array()
    assert not np.any(gm & ~brain_mask_array())
    assert 0 < int(gm.sum()) < int(brain_mask_array().sum())
    with pytest.raises(ValueError, match="read-only"):
        gm[45, 63, 36] = False


def test_cortex_is_in_and_deep_white_matter_is_out() -> None:
    gm = grey_matter_mask_array()
    # Left precentral gyrus (grey) and the centrum semiovale (white matter).
    assert gm[tuple(MNI152_2MM.world_to_voxel([-38.0, -20.0, 56.0]))]
    assert not gm[tuple(MNI152_2MM.world_to_voxel([-26.0, -10.0, 30.0]))]
