"""Cluster tables: nilearn's ``get_clusters_table`` numbers, and where we deliberately differ.

nilearn is the reference for clusters, sizes and peaks. Its sub-peak pruning compares each
candidate with the last peak it kept only (``_pare_subpeaks``), so it can list a sub-peak within
8 mm of the main peak; the reference comparisons therefore run nilearn with that one function
replaced by the rule its docstring states, and a separate test pins the difference.
"""

from __future__ import annotations

import sys
import warnings

import nibabel
import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from cbma_data import pain_case, synthetic_cases
from neuroreview.cbma.ale import ALE
from neuroreview.cbma.clusters import (
    CLUSTER_FWE_MAP,
    COLUMNS,
    cluster_table,
    clusters_at_voxel_threshold,
    clusters_for_correction,
)
from neuroreview.cbma.stats import p_to_z
from neuroreview.io.maps import write_cluster_table
from neuroreview.space import MNI152_2MM, brain_mask_array

CENTRE = (45, 63, 36)  # MNI 0, 0, 0


def nilearn_table(volume: np.ndarray, threshold: float, *, fixed: bool = True) -> pd.DataFrame:
    """nilearn's table for ``volume`` (kept float64), optionally with its pruning fixed."""
    from nilearn.reporting import get_clusters_table

    module = sys.modules["nilearn.reporting.get_clusters_table"]
    image = nibabel.Nifti1Image(volume.astype(np.float64), MNI152_2MM.affine)
    with warnings.catch_warnings(), pytest.MonkeyPatch.context() as patch:
        warnings.simplefilter("ignore", UserWarning)
        if fixed:
            patch.setattr(module, "_pare_subpeaks", _pare_against_all_kept)
        return get_clusters_table(image, threshold, min_distance=8.0)


def _pare_against_all_kept(xyz, ijk, vals, min_distance):
    kept: list[int] = []
    for j in range(len(vals)):
        if all(np.linalg.norm(xyz[i] - xyz[j]) > min_distance for i in kept):
            kept.append(j)
    return ijk[kept], vals[kept]


def rows_by_cluster(theirs: pd.DataFrame) -> list[tuple[int, list[tuple]]]:
    """nilearn's rows as (size in mm3, [(x, y, z, value), ...]) per cluster."""
    clusters = []
    for row in theirs.itertuples(index=False):
        size = row[5]
        if size != "":
            clusters.append((int(size), []))
        clusters[-1][1].append((row[1], row[2], row[3], row[4]))
    return clusters


def our_rows_by_cluster(ours: pd.DataFrame) -> list[tuple[int, list[tuple]]]:
    clusters = []
    for _, group in ours.groupby("cluster_id", sort=True):
        size = int(group["size_mm3"].iloc[0])
        clusters.append((size, list(zip(group.x, group.y, group.z, group.peak_stat, strict=True))))
    return clusters


def smooth_field(seed: int, sigma: float, extent: int = 91) -> np.ndarray:
    """Smoothed unit-variance noise in the brain mask, within ``extent`` voxels of one corner.

    nilearn takes a second per ~25 clusters, so the rough fields are kept to a corner.
    """
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.normal(size=MNI152_2MM.shape), sigma)
    field /= field.std()
    field[~brain_mask_array()] = 0.0
    field[extent:] = 0.0
    return field


def bumps(*peaks: tuple[tuple[int, int, int], float], sigma: float = 1.0) -> np.ndarray:
    """A volume of Gaussian bumps of the given heights at the given voxels."""
    grid = np.indices(MNI152_2MM.shape, dtype=np.float64)
    volume = np.zeros(MNI152_2MM.shape)
    for (i, j, k), height in peaks:
        squared = (grid[0] - i) ** 2 + (grid[1] - j) ** 2 + (grid[2] - k) ** 2
        volume += height * np.exp(-squared / (2 * sigma**2))
    return volume


# --- agreement with nilearn ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "sigma", "extent", "threshold"), [(0, 2.0, 91, 2.5), (1, 1.2, 22, 1.5)]
)
def test_smooth_fields_match_nilearn_row_for_row(seed, sigma, extent, threshold) -> None:
    volume = smooth_field(seed, sigma, extent)
    ours = cluster_table(volume, threshold=threshold)
    theirs = nilearn_table(volume, threshold)
    assert len(ours) == len(theirs) > 50
    assert ours.subpeak.any()
    # Same clusters with the same peaks and sub-peaks; only the numbering differs (size vs peak).
    expected = sorted(rows_by_cluster(theirs), key=lambda c: (-c[0], -c[1][0][3], c[1][0][:3]))
    assert our_rows_by_cluster(ours) == expected


def test_ale_z_map_matches_nilearn_up_to_ties() -> None:
    """On a real z map: same clusters and peak values; a differing peak voxel must be a tie."""
    z = ALE().fit(pain_case().coordinates).volume("z")
    threshold = float(p_to_z(0.001))
    ours = cluster_table(z, threshold=threshold)
    theirs = nilearn_table(z, threshold)
    ours_main = ours[~ours.subpeak]
    theirs_main = theirs[theirs["Cluster Size (mm3)"] != ""]
    assert len(ours_main) == len(theirs_main) == 21
    assert sorted(ours_main.size_mm3) == sorted(theirs_main["Cluster Size (mm3)"].astype(int))
    np.testing.assert_array_equal(
        np.sort(ours_main.peak_stat), np.sort(theirs_main["Peak Stat"].to_numpy(np.float64))
    )
    ours_xyz = set(zip(ours_main.x, ours_main.y, ours_main.z, strict=True))
    for row in theirs_main.itertuples(index=False):
        if (row[1], row[2], row[3]) not in ours_xyz:
            i, j, k = MNI152_2MM.world_to_voxel([row[1], row[2], row[3]])
            assert row[4] in set(ours_main.peak_stat)  # a tie: the same value elsewhere
            assert z[i, j, k] == row[4]


def test_binary_cluster_peak_is_its_centre_as_in_nilearn() -> None:
    volume = np.zeros(MNI152_2MM.shape)
    i, j, k = CENTRE
    volume[i - 2 : i + 3, j - 3 : j + 4, k - 1 : k + 2] = 1.0
    ours = cluster_table(volume, threshold=0.5)
    theirs = nilearn_table(volume, 0.5)
    assert len(ours) == len(theirs) == 1
    assert (ours.x[0], ours.y[0], ours.z[0]) == (0.0, 0.0, 0.0)
    assert tuple(theirs.iloc[0][["X", "Y", "Z"]]) == (0.0, 0.0, 0.0)
    assert ours.size_voxels[0] == 5 * 7 * 3
    assert ours.size_mm3[0] == 8 * 5 * 7 * 3 == theirs.iloc[0]["Cluster Size (mm3)"]


# --- where we differ from nilearn, on purpose ----------------------------------------------


def test_subpeaks_keep_apart_from_every_higher_peak_unlike_nilearn() -> None:
    """A at 0 mm, B at +10 mm, C at -6 mm: C is within 8 mm of A, so it is no sub-peak."""
    i, j, k = CENTRE
    volume = bumps(((i, j, k), 10.0), ((i + 5, j, k), 8.0), ((i - 3, j, k), 6.0))
    ours = cluster_table(volume, threshold=0.5)
    assert list(ours.x) == [0.0, 10.0]
    assert list(ours.peak_id) == ["1", "1a"]
    raw_nilearn = nilearn_table(volume, 0.5, fixed=False)
    assert list(raw_nilearn.X) == [0.0, 10.0, -6.0]  # nilearn lists C, 6 mm from A


def test_plateau_rim_next_to_a_higher_voxel_is_not_a_peak() -> None:
    """A flat shoulder that rises into the main peak has no maximum of its own."""
    i, j, k = CENTRE
    volume = np.zeros(MNI152_2MM.shape)
    volume[i - 6 : i + 1, j - 1 : j + 2, k - 1 : k + 2] = 3.0  # the shoulder, 14 mm long
    volume[i - 7, j - 1 : j + 2, k - 1 : k + 2] = 1.0  # lower at its far end
    volume[i + 1 : i + 4, j - 1 : j + 2, k - 1 : k + 2] = 5.0  # the peak region
    volume[i + 2, j, k] = 6.0
    ours = cluster_table(volume, threshold=0.5)
    assert list(zip(ours.x, ours.peak_stat, strict=True)) == [(4.0, 6.0)]
    theirs = nilearn_table(volume, 0.5)
    assert 3.0 in set(theirs["Peak Stat"])  # nilearn reports the shoulder's far rim


def test_ties_in_the_map_are_broken_by_the_tiebreak_map() -> None:
    result = ALE().fit(synthetic_cases()[0].coordinates)
    z = result.volume("z")
    stat = result.volume("stat")
    i, j, k = np.unravel_index(np.argmax(stat), stat.shape)
    flat = result.with_maps({"z_flat": np.minimum(result.get_map("z"), z[i, j, k] - 0.5)})
    top = flat.volume("z_flat").max()
    table = cluster_table(flat, "z_flat", threshold=top - 1e-9)
    tied = cluster_table(flat, "z_flat", threshold=top - 1e-9, tiebreak_map="stat")
    assert len(table) >= 1 and len(tied) >= 1
    # With the statistic as tiebreak the plateau's peak is the statistic's maximum.
    assert (tied.x[0], tied.y[0], tied.z[0]) == tuple(MNI152_2MM.voxel_to_world([i, j, k]))
    assert tied.peak_stat[0] == top


# --- results and corrections ---------------------------------------------------------------


@pytest.fixture(scope="module")
def pain_result():
    return ALE().fit(pain_case().coordinates)


def _with_cluster_p(result, p_by_cluster: dict[int, float]):
    """The result plus a cluster-level corrected z map: the given p per uncorrected cluster."""
    base = clusters_at_voxel_threshold(result)
    stat = result.volume("stat")
    labels, _ = ndimage.label(stat > result.estimator.p_to_summarystat(0.001))
    corrected = np.zeros(MNI152_2MM.shape)
    for row in base[~base.subpeak].itertuples():
        i, j, k = MNI152_2MM.world_to_voxel([row.x, row.y, row.z])
        p = p_by_cluster.get(row.cluster_id, 0.9)
        corrected[labels == labels[i, j, k]] = p_to_z(p)
    corrected_map = corrected[result.space.mask]
    return base, result.with_maps({CLUSTER_FWE_MAP: corrected_map})


def test_clusters_for_correction_keeps_clusters_below_alpha(pain_result) -> None:
    base, result = _with_cluster_p(pain_result, {1: 0.001, 3: 0.02, 4: 0.05})
    table = clusters_for_correction(result)
    main = table[~table.subpeak]
    # p == alpha does not survive (p < alpha); survivors are renumbered by size.
    base_main = base[~base.subpeak].set_index("cluster_id")
    assert list(main.size_voxels) == [base_main.size_voxels[1], base_main.size_voxels[3]]
    np.testing.assert_allclose(main.p_corrected, [0.001, 0.02], rtol=1e-9)
    # Peaks come from the uncorrected z map, exactly as in the uncorrected table.
    for column in ("x", "y", "z", "peak_stat", "stat"):
        assert list(main[column]) == [base_main[column][1], base_main[column][3]]
    assert list(table.columns) == [*COLUMNS[:7], "stat", "p_corrected", *COLUMNS[7:]]


def test_clusters_for_correction_with_no_survivor_is_an_empty_table(pain_result) -> None:
    _, result = _with_cluster_p(pain_result, {})
    table = clusters_for_correction(result)
    assert table.empty
    assert list(table.columns) == [*COLUMNS[:7], "stat", "p_corrected", *COLUMNS[7:]]


def test_clusters_at_voxel_threshold_are_the_monte_carlo_clusters(pain_result) -> None:
    table = clusters_at_voxel_threshold(pain_result, 0.001)
    stat = pain_result.volume("stat")
    supra = stat > pain_result.estimator.p_to_summarystat(0.001)
    labels, n = ndimage.label(supra, ndimage.generate_binary_structure(3, 1))
    sizes = np.bincount(labels.ravel())[1:]
    main = table[~table.subpeak]
    assert len(main) == n
    assert list(main.size_voxels) == sorted(sizes, reverse=True)
    assert table.subpeak.sum() > 0
    peaks = MNI152_2MM.world_to_voxel(main[["x", "y", "z"]].to_numpy())
    np.testing.assert_array_equal(main.stat, stat[tuple(peaks.T)])


def test_clusters_for_correction_agrees_with_the_monte_carlo_p_values(pain_result) -> None:
    """Surviving clusters are exactly those whose size has Monte Carlo p < alpha (exact p)."""
    from neuroreview.cbma.inference import NULL_KEYS, correct_fwe_montecarlo
    from neuroreview.cbma.stats import null_to_p

    corrected = correct_fwe_montecarlo(pain_result, n_iters=100, seed=0)
    null = corrected.null_distributions[NULL_KEYS["max_cluster_size"]]
    uncorrected = clusters_at_voxel_threshold(corrected)
    main = uncorrected[~uncorrected.subpeak]
    p = null_to_p(main.size_voxels.to_numpy(np.float64), null)
    assert 0 < (p < 0.05).sum() < len(main)
    table = clusters_for_correction(corrected, alpha=0.05)
    survivors = table[~table.subpeak]
    assert list(survivors.size_voxels) == list(main.size_voxels[p < 0.05])
    assert list(survivors.x) == list(main.x[p < 0.05])
    np.testing.assert_allclose(survivors.p_corrected, p[p < 0.05], rtol=1e-9)


# --- the table's shape ---------------------------------------------------------------------


def test_columns_types_ids_and_ordering() -> None:
    i, j, k = CENTRE
    volume = bumps(
        ((i, j, k), 5.0),
        ((i + 5, j, k), 4.0),
        ((i - 20, j, k), 9.0),  # a higher but smaller cluster
        sigma=1.5,
    )
    table = cluster_table(volume, threshold=1.0)
    assert tuple(table.columns) == COLUMNS
    assert list(table.peak_id) == ["1", "1a", "2"]
    assert list(table.subpeak) == [False, True, False]
    assert table.size_voxels.isna().tolist() == [False, True, False]
    assert table.size_voxels[0] > table.size_voxels[2]
    assert table.peak_stat[2] > table.peak_stat[0]
    assert str(table.size_voxels.dtype) == "Int64"
    assert (table.label == "").all()


def test_limits_on_subpeaks_and_cluster_size() -> None:
    volume = smooth_field(1, 1.2)
    full = cluster_table(volume, threshold=1.5)
    assert full.groupby("cluster_id").size().max() == 4
    none = cluster_table(volume, threshold=1.5, n_subpeaks=0)
    assert not none.subpeak.any() and len(none) == (~full.subpeak).sum()
    big = cluster_table(volume, threshold=1.5, min_cluster_voxels=50)
    main = full[~full.subpeak]
    assert list(big[~big.subpeak].size_voxels) == [s for s in main.size_voxels if s >= 50]


def test_within_restricts_and_combines_with_threshold() -> None:
    i, j, k = CENTRE
    volume = bumps(((i, j, k), 5.0), ((i - 20, j, k), 9.0), sigma=1.5)
    right = np.zeros(MNI152_2MM.shape, dtype=bool)
    right[i - 5 :] = True
    only = cluster_table(volume, within=right & (volume > 1.0))
    both = cluster_table(volume, threshold=1.0, within=right)
    pd.testing.assert_frame_equal(only, both)
    assert list(both.x) == [0.0]


def test_labeler_fills_every_row() -> None:
    i, j, k = CENTRE
    volume = bumps(((i, j, k), 5.0), ((i + 5, j, k), 4.0), sigma=1.5)
    seen = []

    def labeler(xyz):
        seen.append(xyz)
        return "left" if xyz[0] < 0 else "midline-or-right"

    table = cluster_table(volume, threshold=1.0, labeler=labeler)
    assert seen == [(0.0, 0.0, 0.0), (10.0, 0.0, 0.0)]
    assert list(table.label) == ["midline-or-right", "midline-or-right"]


def test_nothing_above_threshold_gives_an_empty_table() -> None:
    table = cluster_table(np.zeros(MNI152_2MM.shape), threshold=1.0)
    assert table.empty and tuple(table.columns) == COLUMNS


def test_result_input_uses_its_mask_and_named_map(pain_result) -> None:
    via_result = cluster_table(pain_result, "z", threshold=3.09)
    via_volume = cluster_table(pain_result.volume("z"), threshold=3.09)
    pd.testing.assert_frame_equal(via_result, via_volume)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda v, r: cluster_table(v), "give a threshold"),
        (lambda v, r: cluster_table(v, "z", threshold=1.0), "stat_map names a map"),
        (lambda v, r: cluster_table(v[:-1], threshold=1.0), "shape"),
        (lambda v, r: cluster_table(v, threshold=1.0, within=v > 0), None),
        (lambda v, r: cluster_table(v, threshold=1.0, within=np.ones(3, bool)), "boolean volume"),
        (lambda v, r: cluster_table(v, threshold=1.0, min_distance_mm=0), "min_distance_mm"),
        (lambda v, r: cluster_table(v, threshold=1.0, n_subpeaks=27), "n_subpeaks"),
        (lambda v, r: cluster_table(v, threshold=1.0, tiebreak_map="stat"), "tiebreak_map"),
        (lambda v, r: cluster_table(r, "nope", threshold=1.0), "no map 'nope'"),
        (lambda v, r: clusters_for_correction(r, "logp"), "not a z map"),
        (lambda v, r: clusters_for_correction(r, alpha=1.5), "alpha"),
        (lambda v, r: clusters_at_voxel_threshold(r, 0.0), "voxel_thresh"),
    ],
)
def test_bad_arguments_are_refused(call, message, pain_result) -> None:
    volume = np.zeros(MNI152_2MM.shape)
    if message is None:
        assert call(volume, pain_result).empty
        return
    with pytest.raises((ValueError, KeyError), match=message):
        call(volume, pain_result)


def test_write_cluster_table_round_trips_with_empty_cells(tmp_path) -> None:
    i, j, k = CENTRE
    volume = bumps(((i, j, k), 5.0), ((i + 5, j, k), 4.0), sigma=1.5)
    table = cluster_table(volume, threshold=1.0)
    path = write_cluster_table(table, tmp_path / "clusters.tsv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clusters.tsv"]
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == list(COLUMNS)
    assert lines[2].split("\t")[:3] == ["1", "1a", "True"]
    assert lines[2].split("\t")[7:9] == ["", ""]
    back = pd.read_csv(path, sep="\t", keep_default_na=False, na_values={"size_voxels": [""]})
    assert list(back.x) == list(table.x)
    np.testing.assert_allclose(back.peak_stat, table.peak_stat, rtol=1e-5)
