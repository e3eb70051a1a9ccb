"""FWE and FDR corrections of a CBMA result, against NiMARE's correctors."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
from scipy import ndimage

from cbma_data import pain_case
from neuroreview.cbma import inference
from neuroreview.cbma.ale import ALE
from neuroreview.cbma.inference import (
    FWE_SUFFIX,
    NULL_KEYS,
    _cluster_measures,
    correct_fdr,
    correct_fwe_montecarlo,
)
from neuroreview.cbma.mkda import MKDADensity
from neuroreview.cbma.montecarlo import EarlyStop, run_null
from test_cbma_montecarlo import EXACT_ITERS, nimare_draws, nimare_fwe

FWE_MAPS = (
    "logp_level-voxel",
    "z_level-voxel",
    "logp_desc-size_level-cluster",
    "z_desc-size_level-cluster",
    "logp_desc-mass_level-cluster",
    "z_desc-mass_level-cluster",
)
#: Iterations and seeds of the independent-seed comparison (NiMARE: about 35 s on 2 cores).
INDEPENDENT_ITERS = 2000
NIMARE_SEED = 1
OUR_SEED = 2


@functools.cache
def pain_ale():
    return ALE().fit(pain_case().coordinates)


def test_maps_from_nimares_draws_are_nimares_maps(monkeypatch) -> None:
    """With NiMARE's draws, every FWE map and null equals NiMARE's FWECorrector output."""
    result = pain_ale()
    case = pain_case()
    nimare_estimator, theirs = nimare_fwe(case, "ale", EXACT_ITERS, 11)
    draws = nimare_draws(result.estimator, case.coordinates, nimare_estimator, EXACT_ITERS)

    def with_nimares_draws(problem, n_iters, seed, **_):
        return run_null(problem, n_iters, None, draws=draws)

    monkeypatch.setattr(inference, "run_null", with_nimares_draws)
    ours = correct_fwe_montecarlo(result, n_iters=EXACT_ITERS)
    for name in FWE_MAPS:
        np.testing.assert_allclose(
            ours.get_map(name + FWE_SUFFIX),
            theirs.get_map(name + FWE_SUFFIX, return_type="array"),
            rtol=1e-5,
            atol=1e-6,
            err_msg=name,
        )
    for key in NULL_KEYS.values():
        np.testing.assert_allclose(
            ours.null_distributions[key],
            theirs.estimator.null_distributions_[key],
            rtol=1e-6,
            err_msg=key,
        )


@functools.cache
def independent_runs():
    """NiMARE and us on the pain ALE, 2,000 iterations each, different seeds."""
    _, theirs = nimare_fwe(pain_case(), "ale", INDEPENDENT_ITERS, NIMARE_SEED, n_cores=2)
    ours = correct_fwe_montecarlo(pain_ale(), n_iters=INDEPENDENT_ITERS, seed=OUR_SEED, n_jobs=2)
    return ours, theirs


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(NULL_KEYS.values()))
def test_independent_nulls_have_nimares_95th_percentile(key: str) -> None:
    """The FWE thresholds (95th percentiles of the nulls) agree within 5%.

    With 2,000 iterations a 95th percentile carries about 1% (statistic) and 2-3% (cluster
    size, mass) Monte Carlo error per tool. Over 10 seeds of ours against 6 of NiMARE's the
    largest differences were 1.6%, 5.9% and 5.6%; this fixed pair differs by 1.1%, 2.9% and
    3.7%.
    """
    ours, theirs = independent_runs()
    q_ours = np.percentile(ours.null_distributions[key], 95)
    q_theirs = np.percentile(theirs.estimator.null_distributions_[key], 95)
    assert q_ours == pytest.approx(q_theirs, rel=0.05)


def _critical(null: np.ndarray, alpha: float = 0.05) -> float:
    """The value a statistic must exceed for p < alpha against ``null``."""
    return float(np.sort(null)[null.size - int(round(alpha * null.size))])


@pytest.mark.slow
def test_independent_runs_keep_nimares_surviving_clusters() -> None:
    """Cluster-size FWE: the same voxels survive p < 0.05 (no cluster is near the threshold)."""
    ours, theirs = independent_runs()
    name = f"logp_desc-size_level-cluster{FWE_SUFFIX}"
    ours_survive = ours.get_map(name) > -np.log10(0.05)
    theirs_survive = theirs.get_map(name, return_type="array") > -np.log10(0.05)
    assert ours_survive.sum() > 1000
    np.testing.assert_array_equal(ours_survive, theirs_survive)


@pytest.mark.slow
def test_independent_runs_keep_nimares_surviving_voxels() -> None:
    """Voxel FWE: the survivors differ only between the two tools' critical values.

    Each tool's critical value is a Monte Carlo estimate, so voxels between the two may fall
    either way (NiMARE's own seeds disagree on 5-10% of them); every other voxel must agree,
    and so must the set of clusters with a surviving voxel.
    """
    ours, theirs = independent_runs()
    key = NULL_KEYS["max_stat"]
    name = f"logp_level-voxel{FWE_SUFFIX}"
    stat = ours.get_map("stat")
    ours_survive = ours.get_map(name) > -np.log10(0.05)
    theirs_survive = theirs.get_map(name, return_type="array") > -np.log10(0.05)
    low, high = sorted(
        (
            _critical(ours.null_distributions[key]),
            _critical(theirs.estimator.null_distributions_[key]),
        )
    )
    differ = ours_survive != theirs_survive
    assert ours_survive.sum() > 100 and differ.sum() < 0.15 * ours_survive.sum()
    assert np.all((stat[differ] >= low * (1 - 1e-6)) & (stat[differ] <= high * (1 + 1e-6)))
    above = ours.volume("stat") > ours.settings["cluster_forming_threshold"]
    labels = ndimage.label(above, ndimage.generate_binary_structure(3, 1))[0][ours.space.mask]
    assert set(np.unique(labels[ours_survive])) == set(np.unique(labels[theirs_survive]))


def test_fdr_maps_are_nimares() -> None:
    from nimare.correct import FDRCorrector
    from nimare.meta.cbma import ALE as NiALE

    ours = correct_fdr(pain_ale(), alpha=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = FDRCorrector(method="indep", alpha=0.05).transform(
            NiALE().fit(pain_case().nimare_dataset())
        )
    for kind in ("p", "z", "logp"):
        name = f"{kind}_corr-FDR_method-indep"
        np.testing.assert_allclose(
            ours.get_map(name), theirs.get_map(name, return_type="array"), rtol=1e-6, atol=1e-6
        )
    assert ours.settings["fdr_alpha"] == 0.05


def test_bh_in_log_space_matches_the_textbook_procedure() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.2, np.nan])
    adjusted = np.exp(inference.bh_nlogp(np.log(p)))
    # n = 5 tests (the NaN counts): sorted 0.01, 0.03, 0.04, 0.2 -> 0.05, 0.0667, 0.0667, 0.25.
    np.testing.assert_allclose(adjusted[:4], [0.05, 0.2 / 3, 0.2 / 3, 0.25])
    assert np.isnan(adjusted[4])


def test_cluster_measures_label_faces_and_sum_excess() -> None:
    volume = np.zeros((4, 4, 4))
    volume[1, 1, 1:3] = [3.0, 4.0]  # one face-connected pair
    volume[2, 2, 3] = 5.0  # diagonal to the pair: a cluster of its own
    volume[3, 3, 0] = 2.0  # at the threshold: not a cluster
    mask = np.ones_like(volume, dtype=bool)
    size, mass = _cluster_measures(volume, 2.0, mask)
    sizes = size.reshape(volume.shape)
    masses = mass.reshape(volume.shape)
    assert sizes[1, 1, 1] == sizes[1, 1, 2] == 2 and masses[1, 1, 1] == 3.0
    assert sizes[2, 2, 3] == 1 and masses[2, 2, 3] == 3.0
    assert sizes[3, 3, 0] == 0 and sizes.sum() == 2 * 2 + 1


def test_voxel_only_correction_adds_only_voxel_maps() -> None:
    result = correct_fwe_montecarlo(pain_ale(), n_iters=120, seed=1, vfwe_only=True)
    added = {name for name in result.maps if name.endswith(FWE_SUFFIX)}
    assert added == {f"logp_level-voxel{FWE_SUFFIX}", f"z_level-voxel{FWE_SUFFIX}"}
    assert set(result.null_distributions) >= {NULL_KEYS["max_stat"]}
    assert NULL_KEYS["max_cluster_size"] not in result.null_distributions


def test_settings_record_the_run_and_a_tolerance_means_early_stopping() -> None:
    result = MKDADensity().fit(pain_case().coordinates)
    corrected = correct_fwe_montecarlo(result, n_iters=3000, seed=4, early_stop=0.5)
    settings = corrected.settings
    assert settings["stopped_early"] and settings["n_iters_run"] < 3000
    assert settings["n_iters_requested"] == 3000 and settings["seed"] == 4
    assert settings["early_stop"] == {
        "tolerance": 0.5,
        "confidence": 0.95,
        "check_every": EarlyStop().check_every,
        "alpha": 0.05,
    }
    assert settings["cluster_forming_threshold"] == result.estimator.p_to_summarystat(0.001)
    assert corrected.null_distributions[NULL_KEYS["max_stat"]].shape == (settings["n_iters_run"],)
    assert "stopping early after" in corrected.descriptions[-1]
    # Maps of the original result are kept.
    assert set(result.maps) < set(corrected.maps)


@pytest.mark.parametrize(
    ("null_mask", "source"),
    [
        ("brain", "any of the 228483 voxels of the brain mask"),
        ("gm", "the 186779 grey-matter voxels of the 228483-voxel brain mask"),
    ],
)
def test_methods_text_names_where_null_foci_come_from_and_the_seed(null_mask, source) -> None:
    from neuroreview.cbma.base import AnalysisSpace

    fitted = MKDADensity(space=AnalysisSpace.default(null_mask)).fit(pain_case().coordinates)
    text = correct_fwe_montecarlo(fitted, n_iters=100, seed=7).descriptions[-1]
    assert source in text
    assert "100 such null datasets were generated (seed 7)" in text
    assert "uncorrected p is 0.001" in text
