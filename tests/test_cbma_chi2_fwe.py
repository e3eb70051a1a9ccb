"""MKDA chi-square Monte Carlo FWE against NiMARE 0.22.1 on the pain example split in two.

What is asserted, and why:

* Fed NiMARE's own random draws (label permutations for its default null; focus draws for
  ``random-foci``), every iteration's maxima equal NiMARE's: the largest chi-square of each
  test bit for bit, the largest cluster size exactly, its mass to NiMARE's float32 rounding.
  Every corrected map then equals NiMARE's ``FWECorrector(method="montecarlo")`` output,
  except voxel-level p where NiMARE's float32 copy of the observed chi-square rounds across
  a value of the null (discrete counts make exact ties common); those voxels are checked
  to be exactly the ones where the float32 rounding changes the p.
* With independent random streams (our seeded blocks vs NiMARE's per-iteration seeds) the
  nulls agree within Monte Carlo error: each test's 95th percentile of the maximum chi-square
  (the FWE threshold) lies inside the other's distribution-free 99.9% interval, and the sets
  of voxels significant at FWE p < 0.05 almost coincide. NiMARE takes ~0.5 s an iteration
  here, so the independent comparison draws NiMARE's permutations with NiMARE's rule rather
  than running NiMARE a thousand times; the exact tests tie that rule to NiMARE itself.
* A seed gives the same bytes for one or two workers, and another seed other draws.
"""

from __future__ import annotations

import functools
import logging
import math
import warnings

import numpy as np
import pytest
from scipy import stats

from cbma_data import pain_case
from neuroreview.cbma import chi2_null
from neuroreview.cbma.chi2_null import TESTS, run_chi2_null
from neuroreview.cbma.inference import FWE_SUFFIX, correct_fwe_montecarlo
from neuroreview.cbma.ma import combine_order
from neuroreview.cbma.mkda import MKDAChi2
from neuroreview.cbma.stats import null_to_p
from neuroreview.space import MNI152_2MM

pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
]

#: NiMARE's iterations in the exact comparisons (~0.5 s each on the shared machine).
EXACT_ITERS = 12
#: Iterations of the independent-stream comparison (ours: ~1.3 s per 500).
STREAM_ITERS = 1000
NIMARE_KEYS = {"uniformity": "pAgF", "group2": "group2", "association": "pFgA"}
LEVELS = ("_level-voxel", "Size_level-cluster", "Mass_level-cluster")


def _halves():
    coordinates = pain_case().coordinates
    ids = list(coordinates.experiment_ids)
    return ids[:10], ids[10:]


@functools.cache
def fitted(null_method: str = "label-permutation"):
    coordinates = pain_case().coordinates
    first, second = _halves()
    estimator = MKDAChi2(fwe_null_method=null_method)
    logging.disable(logging.WARNING)  # foci off the mask are reported; that is not tested here
    try:
        result = estimator.fit(coordinates.subset(first), coordinates.subset(second))
    finally:
        logging.disable(logging.NOTSET)
    return estimator, result


@functools.cache
def nimare_fwe(null_method: str, n_iters: int):
    """NiMARE's MKDAChi2 (random_state None, seed 7 for random foci) after FWECorrector."""
    from nimare.correct import FWECorrector
    from nimare.meta.cbma import MKDAChi2 as NiMKDAChi2

    dataset = pain_case().nimare_dataset()
    first, second = _halves()
    random_state = None if null_method == "label-permutation" else 7
    estimator = NiMKDAChi2(fwe_null_method=null_method, random_state=random_state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = estimator.fit(dataset.slice(first), dataset.slice(second))
        corrected = FWECorrector(method="montecarlo", n_iters=n_iters).transform(result)
    return corrected


def nimare_permutations(n_iters: int, n_total: int, start: int = 0) -> np.ndarray:
    """NiMARE's label permutations with ``random_state=None``: iteration i shuffles with seed i."""
    orders = np.empty((n_iters, n_total), dtype=np.int64)
    for row, i in enumerate(range(start, start + n_iters)):
        orders[row] = np.arange(n_total)
        np.random.default_rng(seed=i).shuffle(orders[row])
    return orders


def nimare_rows(nimare, estimator: MKDAChi2) -> list[np.ndarray]:
    """Per group, the row of NiMARE's coordinates table holding each of our problem's foci.

    Our problem orders foci by experiment id, then as reported; rows are matched by
    experiment id and voxel (foci sharing both are interchangeable).
    """
    out = []
    for group, coordinates in zip((1, 2), estimator._fit, strict=True):
        table = nimare.inputs_[f"coordinates{group}"]
        starts = coordinates.experiment_starts
        order = np.concatenate(
            [np.arange(starts[e], starts[e + 1]) for e in combine_order(coordinates)]
        )
        ijk = coordinates.ijk(MNI152_2MM)
        pool: dict[tuple, list[int]] = {}
        for position, f in enumerate(order):
            key = (coordinates.experiment_ids[coordinates.experiment_index[f]], *ijk[f].tolist())
            pool.setdefault(key, []).append(position)
        rows = np.empty(order.size, dtype=np.intp)
        for row, key in enumerate(table[["id", "i", "j", "k"]].itertuples(index=False)):
            rows[pool[(key[0], int(key[1]), int(key[2]), int(key[3]))].pop()] = row
        out.append(rows)
    return out


def _assert_same_as_nimare(monkeypatch, null_method: str, draws_for) -> None:
    estimator, result = fitted(null_method)
    theirs = nimare_fwe(null_method, EXACT_ITERS)
    draws = draws_for(theirs, estimator)
    original = run_chi2_null

    def with_nimares_draws(problem, n_iters, seed, **_):
        return original(problem, n_iters, None, draws=draws)

    monkeypatch.setattr(chi2_null, "run_chi2_null", with_nimares_draws)
    ours = correct_fwe_montecarlo(result, n_iters=EXACT_ITERS)
    nulls = theirs.estimator.null_distributions_
    assert set(nulls) == set(ours.null_distributions)
    for key, values in nulls.items():
        values = np.asarray(values, dtype=np.float64)
        if "mass" in key:
            np.testing.assert_allclose(ours.null_distributions[key], values, rtol=1e-6, atol=1e-4)
        else:
            assert np.array_equal(ours.null_distributions[key], values), key
    corrected = [name for name in theirs.maps if "corr-FWE" in name]
    assert len(corrected) == 36
    assert set(corrected) == {name for name in ours.maps if "corr-FWE" in name}
    for name in corrected:
        mine = ours.get_map(name)
        their = theirs.get_map(name, return_type="array")
        differ = ~np.isclose(mine, their, rtol=1e-5, atol=1e-6)
        if differ.any():
            assert "_level-voxel" in name, name
            label = name.split("_desc-")[1].split("_")[0].replace("group1", "uniformity")
            chi2 = ours.get_map(f"chi2_desc-{label}")
            null = ours.null_distributions[
                f"values_desc-{NIMARE_KEYS[label]}_level-voxel_corr-fwe_method-montecarlo"
            ]
            as_float32 = null_to_p(chi2.astype(np.float32).astype(np.float64), null)
            rounding = as_float32 != null_to_p(chi2, null)
            assert np.all(rounding[differ]), name


@pytest.mark.slow
def test_label_permutations_give_nimares_maps(monkeypatch) -> None:
    """NiMARE's default null (label permutation), fed its permutations: NiMARE's numbers."""
    _assert_same_as_nimare(
        monkeypatch,
        "label-permutation",
        lambda theirs, estimator: nimare_permutations(EXACT_ITERS, 21),
    )


@pytest.mark.slow
def test_random_foci_iterations_are_nimares_computation() -> None:
    """Each random-foci iteration equals NiMARE's kernel and ``_compute_chi2_perm_stats``
    applied to the same relocated foci.

    Not compared with NiMARE's ``FWECorrector`` output: in NiMARE 0.22.1,
    ``MKDAChi2._run_fwe_permutation`` writes the random coordinates to the x/y/z columns while
    its kernel reads the i/j/k columns fitted earlier, so every "random" iteration recomputes
    the observed maps (its null is the observed maxima, repeated). We relocate the foci, as
    the one-group estimators and the method's documentation intend.
    """
    from nimare.meta.cbma import MKDAChi2 as NiMKDAChi2
    from scipy import ndimage

    estimator, _ = fitted("random-foci")
    dataset = pain_case().nimare_dataset()
    first, second = _halves()
    nimare = NiMKDAChi2(fwe_null_method="random-foci")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nimare.fit(dataset.slice(first), dataset.slice(second))
    threshold = estimator.p_to_summarystat(0.001)
    problem = estimator.fwe_null_problem(threshold)
    n_iters = 4
    draws = chi2_null.block_draws(9, 0, problem.null_ijk.shape[0], problem.n_foci)[:n_iters]
    ours = run_chi2_null(problem, n_iters, None, draws=draws)
    rows = nimare_rows(nimare, estimator)
    n1 = rows[0].size
    conn = ndimage.generate_binary_structure(3, 1)
    for it in range(n_iters):
        counts = []
        for group, (r, cols) in enumerate(((rows[0], slice(0, n1)), (rows[1], slice(n1, None)))):
            table = nimare.inputs_[f"coordinates{group + 1}"].copy()
            ijk = np.empty((r.size, 3), dtype=np.int64)
            ijk[r] = problem.null_ijk[draws[it, cols]]
            table[["i", "j", "k"]] = ijk
            counts.append(
                nimare.kernel_transformer.transform(
                    table, nimare.masker, return_type="summary_array"
                )
            )
        theirs = nimare._compute_chi2_perm_stats(
            counts[0], problem.n1, counts[1], problem.n2, conn, threshold
        )
        for k, value in enumerate(theirs):
            if k % 3 == 2:  # NiMARE sums float32 chi-squares for the mass
                assert ours.values[k, it] == pytest.approx(value, rel=1e-6, abs=1e-4)
            else:
                assert ours.values[k, it] == value, (it, k)


def _quantile_interval(sample: np.ndarray, q: float, confidence: float) -> tuple[float, float]:
    """Distribution-free interval of the q quantile from order statistics (binomial)."""
    n = sample.size
    tail = (1 - confidence) / 2
    lo = max(int(stats.binom.ppf(tail, n, q)), 1)
    hi = min(int(stats.binom.ppf(1 - tail, n, q)) + 1, n)
    ordered = np.sort(sample)
    return float(ordered[lo - 1]), float(ordered[hi - 1])


@pytest.mark.slow
def test_independent_streams_agree_within_monte_carlo_error() -> None:
    """Our seeded permutations vs NiMARE's permutation rule: same FWE thresholds and maps."""
    estimator, result = fitted()
    problem = estimator.fwe_null_problem(estimator.p_to_summarystat(0.001))
    ours = run_chi2_null(problem, STREAM_ITERS, seed=3)
    theirs = run_chi2_null(problem, STREAM_ITERS, None, draws=nimare_permutations(STREAM_ITERS, 21))
    for test in TESTS:
        for a, b in ((ours, theirs), (theirs, ours)):
            lo, hi = _quantile_interval(a.max_stat(test), 0.95, 0.999)
            assert lo <= np.quantile(b.max_stat(test), 0.95) <= hi, test
    # Corrected maps: voxels significant at FWE p < 0.05 nearly coincide, and where the
    # association test is significant under one null it is under the other.
    for test in TESTS:
        chi2 = result.get_map(f"chi2_desc-{test}")
        p_ours = null_to_p(chi2, ours.max_stat(test))
        p_theirs = null_to_p(chi2, theirs.max_stat(test))
        a, b = p_ours < 0.05, p_theirs < 0.05
        union = (a | b).sum()
        if union:
            assert (a & b).sum() / union > 0.8, test
        assert np.corrcoef(np.log(p_ours), np.log(p_theirs))[0, 1] > 0.99, test


@pytest.mark.parametrize("null_method", ["label-permutation", "random-foci"])
def test_same_bytes_for_any_worker_count_and_seed(null_method: str) -> None:
    estimator, result = fitted(null_method)
    one = correct_fwe_montecarlo(result, n_iters=250, seed=5, n_jobs=1)
    two = correct_fwe_montecarlo(result, n_iters=250, seed=5, n_jobs=2)
    other = correct_fwe_montecarlo(result, n_iters=250, seed=6, n_jobs=1)
    shorter = correct_fwe_montecarlo(result, n_iters=120, seed=5, n_jobs=2)
    assert set(one.null_distributions) == set(two.null_distributions)
    for key, values in one.null_distributions.items():
        assert values.tobytes() == two.null_distributions[key].tobytes(), key
        if key.startswith("values_"):
            # A shorter run is a prefix of a longer one: blocks draw from their own streams.
            assert values[:120].tobytes() == shorter.null_distributions[key].tobytes(), key
    for name, values in one.maps.items():
        assert values.tobytes() == two.maps[name].tobytes(), name
    voxel = f"values_desc-pAgF_level-voxel{'_corr-fwe_method-montecarlo'}"
    assert not np.array_equal(one.null_distributions[voxel], other.null_distributions[voxel])


def test_result_says_what_was_done() -> None:
    estimator, result = fitted()
    corrected = correct_fwe_montecarlo(result, n_iters=100, seed=4, vfwe_only=True)
    settings = corrected.settings
    assert settings["fwe_null_method"] == "label-permutation"
    assert settings["n_iters_run"] == 100 and settings["seed"] == 4
    assert settings["cluster_forming_threshold"] == pytest.approx(10.827566, rel=1e-6)
    text = corrected.descriptions[-1]
    assert "100 such null datasets" in text and "seed 4" in text and "label permutation" in text
    fwe = sorted(name for name in corrected.maps if name.endswith(FWE_SUFFIX))
    assert len(fwe) == 12  # p, z, logp of four voxel-level names: no cluster maps
    assert all("_level-voxel" in name for name in fwe)
    z = corrected.get_map(f"z_desc-association_level-voxel{FWE_SUFFIX}")
    sign = np.sign(result.get_map("z_desc-association"))
    assert np.all(np.sign(z)[sign != 0] == sign[sign != 0])
    p = corrected.get_map(f"p_desc-association_level-voxel{FWE_SUFFIX}")
    assert p.min() >= 1 / 100 and p.max() <= 1 - 1 / 100
    with pytest.raises(ValueError, match="stop early"):
        correct_fwe_montecarlo(result, n_iters=100, early_stop=0.01)
    with pytest.raises(ValueError, match="fwe_null_method"):
        MKDAChi2(fwe_null_method="labels")
    with pytest.raises(RuntimeError, match="fit"):
        MKDAChi2().fwe_null_problem(math.inf)
