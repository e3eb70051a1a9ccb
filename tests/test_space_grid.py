"""The MNI152 2 mm grid and brain mask: NiMARE's grid, NiMARE's mask, NiMARE's voxel snapping."""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nimare.utils import get_template, mm2vox, vox2mm

from neuroreview.space import MNI152_2MM, Grid, brain_mask_array, load_brain_mask

MASK_SHA256 = "1118679e13027597432c8d597dabfce1424e516085fc057b47b31e183fc0b484"
EXPECTED_AFFINE = np.array(
    [[2.0, 0, 0, -90.0], [0, 2.0, 0, -126.0], [0, 0, 2.0, -72.0], [0, 0, 0, 1.0]]
)

voxel_indices = st.tuples(st.integers(0, 90), st.integers(0, 108), st.integers(0, 90))


# --- the grid ------------------------------------------------------------------------------


def test_grid_constant_is_fsl_mni152_2mm() -> None:
    assert MNI152_2MM.shape == (91, 109, 91)
    np.testing.assert_array_equal(MNI152_2MM.affine, EXPECTED_AFFINE)
    assert MNI152_2MM.voxel_size == (2.0, 2.0, 2.0)


@pytest.mark.parametrize(
    ("xyz", "ijk"),
    [
        ((0.0, 0.0, 0.0), (45, 63, 36)),
        ((-90.0, -126.0, -72.0), (0, 0, 0)),
        ((90.0, 90.0, 108.0), (90, 108, 90)),
        ((-42.0, 24.0, -10.0), (24, 75, 31)),
        ((0.9, -0.9, 2.9), (45, 63, 37)),
    ],
)
def test_known_points(xyz: tuple, ijk: tuple) -> None:
    np.testing.assert_array_equal(MNI152_2MM.world_to_voxel(xyz), ijk)


def test_voxel_to_world_of_known_voxels() -> None:
    np.testing.assert_array_equal(
        MNI152_2MM.voxel_to_world([[45, 63, 36], [0, 0, 0], [90, 108, 90]]),
        [[0.0, 0.0, 0.0], [-90.0, -126.0, -72.0], [90.0, 90.0, 108.0]],
    )


def test_half_voxel_ties_round_to_even_like_nimare() -> None:
    # x = -89 is voxel 0.5 -> 0; x = -87 is 1.5 -> 2; x = 1 is 45.5 -> 46; x = 3 is 46.5 -> 46.
    xyz = np.array([[-89.0, 0, 0], [-87.0, 0, 0], [1.0, 0, 0], [3.0, 0, 0]])
    np.testing.assert_array_equal(MNI152_2MM.world_to_voxel(xyz)[:, 0], [0, 2, 46, 46])
    np.testing.assert_array_equal(MNI152_2MM.world_to_voxel(xyz), mm2vox(xyz, EXPECTED_AFFINE))


def test_world_to_voxel_matches_nimare_mm2vox_on_random_coordinates() -> None:
    rng = np.random.default_rng(2024)
    continuous = rng.uniform(-130, 130, size=(5000, 3))
    whole_mm = rng.integers(-130, 131, size=(5000, 3)).astype(float)  # half are exact ties
    for xyz in (continuous, whole_mm):
        ours = MNI152_2MM.world_to_voxel(xyz)
        np.testing.assert_array_equal(ours, mm2vox(xyz, EXPECTED_AFFINE))
        assert ours.dtype.kind == "i"


def test_voxel_to_world_matches_nimare_vox2mm() -> None:
    ijk = np.random.default_rng(3).integers(0, 91, size=(1000, 3))
    np.testing.assert_array_equal(MNI152_2MM.voxel_to_world(ijk), vox2mm(ijk, EXPECTED_AFFINE))


@settings(max_examples=300, deadline=None)
@given(ijk=voxel_indices)
def test_voxel_world_voxel_round_trip(ijk: tuple[int, int, int]) -> None:
    xyz = MNI152_2MM.voxel_to_world(ijk)
    np.testing.assert_array_equal(MNI152_2MM.world_to_voxel(xyz), ijk)


@settings(max_examples=300, deadline=None)
@given(
    xyz=st.tuples(*[st.floats(-150, 150, allow_nan=False, allow_infinity=False)] * 3),
)
def test_world_voxel_float_round_trip_and_snap_distance(xyz: tuple) -> None:
    fractional = MNI152_2MM.world_to_voxel_float(xyz)
    np.testing.assert_allclose(MNI152_2MM.voxel_to_world(fractional), xyz, rtol=0, atol=1e-9)
    # Snapping moves a point by at most half a voxel (1 mm) along each axis.
    snapped = MNI152_2MM.voxel_to_world(MNI152_2MM.world_to_voxel(xyz))
    assert np.all(np.abs(snapped - np.asarray(xyz)) <= 1.0 + 1e-9)


def test_world_to_voxel_float_is_exact_near_the_origin() -> None:
    np.testing.assert_array_equal(
        MNI152_2MM.world_to_voxel_float([1.0, 0.0, -1.0]), [45.5, 63, 35.5]
    )


def test_non_finite_coordinates_are_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        MNI152_2MM.world_to_voxel([[0.0, np.nan, 0.0]])


def test_contains_marks_in_and_out_of_grid_indices() -> None:
    ijk = np.array([[0, 0, 0], [90, 108, 90], [91, 0, 0], [0, 109, 0], [-1, 5, 5], [45, 63, 91]])
    np.testing.assert_array_equal(
        MNI152_2MM.contains(ijk), [True, True, False, False, False, False]
    )
    assert MNI152_2MM.contains((45, 63, 36))
    assert not MNI152_2MM.contains((45, 63, -1))


def test_far_coordinates_snap_outside_the_grid() -> None:
    ijk = MNI152_2MM.world_to_voxel([[0.0, 100.0, 0.0], [-100.0, 0.0, 0.0]])
    np.testing.assert_array_equal(ijk, [[45, 113, 36], [-5, 63, 36]])
    np.testing.assert_array_equal(MNI152_2MM.contains(ijk), [False, False])


def test_grid_is_immutable_and_compares_by_value() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        MNI152_2MM.shape = (1, 1, 1)  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        MNI152_2MM.affine[0, 3] = 0.0
    twin = Grid(shape=[91, 109, 91], affine=EXPECTED_AFFINE.tolist())
    assert twin == MNI152_2MM
    assert hash(twin) == hash(MNI152_2MM)
    assert twin != Grid(shape=(91, 109, 90), affine=EXPECTED_AFFINE)


def test_grid_with_other_affine_uses_it() -> None:
    one_mm = Grid(shape=(182, 218, 182), affine=np.diag([-1.0, 1.0, 1.0, 1.0]))
    assert one_mm.voxel_size == (1.0, 1.0, 1.0)
    np.testing.assert_array_equal(one_mm.world_to_voxel([10.0, 20.0, 30.0]), [-10, 20, 30])


@pytest.mark.parametrize(
    ("shape", "affine", "message"),
    [
        ((91, 109), EXPECTED_AFFINE, "three positive"),
        ((91, 0, 91), EXPECTED_AFFINE, "three positive"),
        ((91, 109, 91), np.eye(3), "4 x 4"),
    ],
)
def test_grid_rejects_malformed_definitions(shape: tuple, affine: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Grid(shape=shape, affine=affine)


# --- the brain mask ------------------------------------------------------------------------


def test_mask_image_lives_on_the_grid() -> None:
    img = load_brain_mask()
    assert img.shape == MNI152_2MM.shape
    np.testing.assert_array_equal(img.affine, MNI152_2MM.affine)
    assert img.get_data_dtype() == np.uint8


def test_mask_bytes_match_the_documented_checksum() -> None:
    data = np.asarray(load_brain_mask().dataobj)
    assert data.dtype == np.uint8
    assert sorted(np.unique(data).tolist()) == [0, 1]
    assert hashlib.sha256(data.tobytes()).hexdigest() == MASK_SHA256


def test_mask_array_is_boolean_with_the_known_voxel_count() -> None:
    mask = brain_mask_array()
    assert mask.dtype == np.bool_
    assert mask.shape == (91, 109, 91)
    assert int(mask.sum()) == 228483


def test_mask_equals_nimare_mni152_2mm_brain_mask_voxel_for_voxel() -> None:
    reference = np.asarray(get_template("mni152_2mm", mask="brain").dataobj) > 0
    np.testing.assert_array_equal(brain_mask_array(), reference)


def test_mask_covers_the_origin_and_not_the_corner() -> None:
    mask = brain_mask_array()
    i, j, k = MNI152_2MM.world_to_voxel([0.0, 0.0, 0.0])
    assert mask[i, j, k]
    assert not mask[0, 0, 0]
    assert not mask[90, 108, 90]


def test_mask_is_cached_and_read_only() -> None:
    assert brain_mask_array() is brain_mask_array()
    assert load_brain_mask() is load_brain_mask()
    with pytest.raises(ValueError, match="read-only"):
        brain_mask_array()[45, 63, 36] = False
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(load_brain_mask().dataobj)[45, 63, 36] = 0
    assert int(brain_mask_array().sum()) == 228483


def test_importing_space_does_not_import_nibabel() -> None:
    code = "import sys, neuroreview.space; print('nibabel' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
