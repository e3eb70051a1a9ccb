"""Per-cluster diagnostics: NiMARE's Jackknife and FocusCounter tables, contributions, fail-safe N.

NiMARE and we are given the same clusters: the uncorrected z map above the z of p = 0.001, at
least 10 voxels (no Monte Carlo needed). NiMARE numbers clusters by peak height and we by size,
so columns are matched through their voxels before the tables are compared.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest

from cbma_data import pain_case, synthetic_case
from neuroreview.cbma.ale import ALE
from neuroreview.cbma.clusters import cluster_table
from neuroreview.cbma.diagnostics import (
    cluster_columns,
    cluster_labels,
    contributions,
    focus_counter,
    jackknife,
)
from neuroreview.cbma.failsafe import failsafe_n
from neuroreview.cbma.inputs import CoordinateSet
from neuroreview.cbma.kda import KDA
from neuroreview.cbma.mkda import MKDADensity
from neuroreview.cbma.stats import p_to_z

Z_001 = float(p_to_z(0.001))
MIN_VOXELS = 10


def _nimare_estimator(method: str):
    from nimare.meta import cbma

    if method == "ale":
        return cbma.ALE()
    if method == "mkda_weighted":
        return cbma.MKDADensity(weighting="sample_size")
    return cbma.KDA()


def _our_estimator(method: str):
    if method == "ale":
        return ALE()
    if method == "mkda_weighted":
        return MKDADensity(weighting="sample_size")
    return KDA()


def _nimare_tables(method: str):
    from nimare.diagnostics import FocusCounter, Jackknife

    result = _nimare_estimator(method).fit(pain_case().nimare_dataset())
    options = {"target_image": "z", "target_threshold": Z_001, "cluster_threshold": MIN_VOXELS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            jack = Jackknife(**options).transform(result)
            counts = FocusCounter(**options).transform(result)
        finally:
            logging.disable(logging.NOTSET)
    suffix = "tab-counts_tail-positive"
    return (
        jack.maps["label_tail-positive"].astype(np.int64),
        jack.tables[f"z_diag-Jackknife_{suffix}"].set_index("id"),
        counts.tables[f"z_diag-FocusCounter_{suffix}"].set_index("id"),
    )


def _column_map(ours: np.ndarray, ids: list[int], theirs: np.ndarray) -> dict[str, str]:
    """Our column name -> NiMARE's, for clusters made of exactly the same voxels."""
    mapping = {}
    for name, cluster in zip(cluster_columns(ids), ids, strict=True):
        their_ids = np.unique(theirs[ours == cluster])
        assert their_ids.size == 1 and their_ids[0] > 0
        assert np.array_equal(theirs == their_ids[0], ours == cluster)
        mapping[name] = f"PositiveTail {their_ids[0]}"
    assert len(mapping) == np.unique(theirs[theirs > 0]).size
    return mapping


@pytest.mark.parametrize("method", ["ale", "mkda_weighted", "kda"])
def test_jackknife_and_focus_counter_equal_nimare(method) -> None:
    their_labels, their_jack, their_counts = _nimare_tables(method)
    result = _our_estimator(method).fit(pain_case().coordinates)
    labels, ids = cluster_labels(result, "z", Z_001, min_cluster_voxels=MIN_VOXELS)
    assert len(ids) > 5
    mapping = _column_map(labels, ids, their_labels)

    ours = jackknife(result, (labels, ids)).rename(columns=mapping)
    assert sorted(ours.index) == sorted(their_jack.index)
    assert sorted(ours.columns) == sorted(their_jack.columns)
    ours = ours.loc[their_jack.index, their_jack.columns]
    np.testing.assert_allclose(ours.to_numpy(), their_jack.to_numpy(np.float64), atol=1e-6)
    assert (ours.to_numpy() > 0.01).any()

    counts = focus_counter(result, (labels, ids)).rename(columns=mapping)
    counts = counts.loc[their_counts.index, their_counts.columns]
    np.testing.assert_array_equal(counts.to_numpy(), their_counts.to_numpy(np.int64))
    assert counts.to_numpy().sum() > 0


# --- contributions, by hand ----------------------------------------------------------------


def _tiny_result(foci: list[tuple[str, tuple[float, float, float]]]):
    xyz = [point for _, point in foci]
    experiments = [name for name, _ in foci]
    coordinates = CoordinateSet.from_arrays(xyz, experiments)
    return ALE(fwhm=10.0).fit(coordinates)


def _voxels_near(result, point: tuple[float, float, float], n: int) -> np.ndarray:
    """Labels with one cluster (id 1): the ``n`` mask voxels nearest ``point``."""
    grid, mask = result.space.grid, result.space.mask
    xyz = grid.voxel_to_world(np.argwhere(mask))
    nearest = np.argsort(((xyz - np.asarray(point)) ** 2).sum(axis=1), kind="stable")[:n]
    labels = np.zeros(result.space.n_voxels, dtype=np.int32)
    labels[nearest] = 1
    return labels


def test_two_identical_experiments_share_a_cluster_equally() -> None:
    point = (0.0, 0.0, 0.0)
    result = _tiny_result([("a", point), ("b", point), ("c", (40.0, -60.0, 30.0))])
    labels = _voxels_near(result, point, 7)
    table = contributions(result, labels)
    assert list(table.experiment) == ["a", "b"]  # c's kernel never reaches the cluster
    np.testing.assert_allclose(table.contribution_pct, [50.0, 50.0])
    assert list(table.n_foci) == [1, 1]
    # With both MA values m, ALE = 1 - (1 - m)^2 and ALE without one is m, so each experiment's
    # jackknife value is the cluster mean of 1 - m / (1 - (1 - m)^2) = 1 - 1 / (2 - m).
    stat = result.get_map("stat")[labels == 1]
    m = 1.0 - np.sqrt(1.0 - stat)
    expected = np.mean(1.0 - 1.0 / (2.0 - m))
    np.testing.assert_allclose(jackknife(result, labels)["PositiveTail 1"][:2], expected, rtol=1e-6)
    np.testing.assert_allclose(table.ma_sum, m.sum(), rtol=1e-6)
    np.testing.assert_allclose(table.max_contribution_pct, 100 * np.max(1 - 1 / (2 - m)), rtol=1e-6)


def test_contributions_follow_the_formula_on_three_experiments() -> None:
    """Dense MA of three overlapping experiments; the formula written out with numpy."""
    from neuroreview.cbma.ma import ale_ma

    result = _tiny_result(
        [
            ("a", (0.0, 0.0, 0.0)),
            ("b", (4.0, 0.0, 0.0)),
            ("b", (0.0, 6.0, 0.0)),
            ("c", (8.0, 2.0, 0.0)),
        ]
    )
    labels = _voxels_near(result, (2.0, 2.0, 0.0), 5)
    fit = result.estimator._fitted()
    ma = ale_ma(fit.coordinates, result.space, fit.kernels).toarray()[:, labels == 1]
    ma = ma.astype(np.float64)
    ale = 1 - np.prod(1 - ma, axis=0)
    without = np.array([1 - np.prod(1 - np.delete(ma, e, axis=0), axis=0) for e in range(3)])
    reduction = 1 - without / ale
    share = 100 * reduction.mean(axis=1) / reduction.mean(axis=1).sum()

    table = contributions(result, labels).set_index("experiment").loc[["a", "b", "c"]]
    np.testing.assert_allclose(table.contribution_pct, share, rtol=1e-5)
    np.testing.assert_allclose(table.max_contribution_pct, 100 * reduction.max(axis=1), rtol=1e-5)
    np.testing.assert_allclose(table.ma_sum, ma.sum(axis=1), rtol=1e-6)
    np.testing.assert_allclose(table.ma_mean_pct, 100 * ma.mean(axis=1), rtol=1e-6)
    assert table.contribution_pct.sum() == pytest.approx(100.0)
    np.testing.assert_allclose(
        jackknife(result, labels)["PositiveTail 1"], reduction.mean(axis=1), rtol=1e-5
    )


# --- labels --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pain_result():
    return ALE().fit(pain_case().coordinates)


def test_cluster_labels_are_numbered_as_the_cluster_table(pain_result) -> None:
    labels, ids = cluster_labels(pain_result, "z", Z_001, min_cluster_voxels=MIN_VOXELS)
    table = cluster_table(pain_result, "z", threshold=Z_001, min_cluster_voxels=MIN_VOXELS)
    main = table[~table.subpeak]
    assert ids == list(main.cluster_id)
    assert [int((labels == c).sum()) for c in ids] == list(main.size_voxels)
    assert set(np.unique(labels)) == {0, *ids}


def test_cluster_labels_two_sided_gives_negative_ids(pain_result) -> None:
    signed = pain_result.with_maps({"signed": 3.0 - pain_result.get_map("z")})
    _, both_ids = cluster_labels(signed, "signed", 2.5, two_sided=True)
    assert any(c < 0 for c in both_ids) and any(c > 0 for c in both_ids)
    negative = sorted(-c for c in both_ids if c < 0)
    assert negative == list(range(1, len(negative) + 1))
    assert cluster_columns([2, -1]) == ["PositiveTail 2", "NegativeTail 1"]
    with pytest.raises(ValueError, match="give a threshold"):
        cluster_labels(pain_result, "z")


def test_refitted_estimator_is_refused(pain_result) -> None:
    labels = cluster_labels(pain_result, "z", Z_001, min_cluster_voxels=MIN_VOXELS)
    estimator = ALE()
    result = estimator.fit(pain_case().coordinates)
    estimator.fit(synthetic_case("other", 5, 12, (3, 8), (10, 20)).coordinates)
    with pytest.raises(ValueError, match="refitted"):
        jackknife(result, labels)


# --- fail-safe N ---------------------------------------------------------------------------


def test_failsafe_n_is_deterministic_and_monotonic(pain_result) -> None:
    labels = cluster_labels(pain_result, "z", Z_001, min_cluster_voxels=100)
    options = {"min_cluster_voxels": 100, "max_null_experiments": 25}
    first = failsafe_n(pain_result, labels, seed=7, **options)
    again = failsafe_n(pain_result, labels, seed=7, **options)
    pd.testing.assert_frame_equal(first, again)
    assert list(first.cluster_id) == labels[1]
    assert first.failsafe_n.notna().any()  # some cluster dies within 25 null experiments
    assert (first.seed == 7).all() and first.attrs["settings"]["min_cluster_voxels"] == 100

    # The same null experiments come first whatever the bound: a shorter search agrees or is
    # censored.
    short = failsafe_n(pain_result, labels, seed=7, min_cluster_voxels=100, max_null_experiments=8)
    for long_n, short_n in zip(first.failsafe_n, short.failsafe_n, strict=True):
        if pd.isna(short_n):
            assert pd.isna(long_n) or long_n > 8
        else:
            assert short_n == long_n

    # A larger size cut-off can only make a cluster fail sooner.
    strict = failsafe_n(
        pain_result, labels, seed=7, min_cluster_voxels=200, max_null_experiments=25
    )
    loose_n = first.failsafe_n.fillna(26).to_numpy(np.int64)
    strict_n = strict.failsafe_n.fillna(26).to_numpy(np.int64)
    assert np.all(strict_n <= loose_n)
    # Clusters smaller than the cut-off fail before any null experiment is added.
    small = strict.size_voxels.to_numpy() < 200
    assert np.all(strict_n[small] == 0)


def test_failsafe_n_needs_a_cut_off_and_ale(pain_result) -> None:
    labels = cluster_labels(pain_result, "z", Z_001, min_cluster_voxels=100)
    with pytest.raises(ValueError, match="Monte Carlo null"):
        failsafe_n(pain_result, labels)
    mkda = MKDADensity().fit(pain_case().coordinates)
    with pytest.raises(TypeError, match="ALE"):
        failsafe_n(mkda, labels, min_cluster_voxels=10)
