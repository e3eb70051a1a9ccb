"""CBMA estimators: NiMARE 0.22.1's numbers on shared datasets, and cases computed by hand.

Tolerances. NiMARE returns every map as float32, so its values carry ~7 significant digits;
we compare with ``rtol=1e-5`` and ``atol`` = the smallest *normal* float32 (1.2e-38). Below that
float32 holds denormals with fewer and fewer significant digits (a p of 1.8e-41 keeps 5), so
relative agreement is meaningless there; the atol covers exactly those values, since both
sides are then below it. Where we claim more (MA maps, ALE statistics, histogram bins) the
tests assert bit equality.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from nimare.correct import FDRCorrector
from nimare.meta.cbma import ALE as NiALE
from nimare.meta.cbma import KDA as NiKDA
from nimare.meta.cbma import MKDAChi2 as NiMKDAChi2
from nimare.meta.cbma import MKDADensity as NiMKDADensity
from nimare.meta.kernel import ALEKernel, KDAKernel, MKDAKernel

from cbma_data import CBMACase, pain_case, synthetic_cases
from neuroreview.cbma.ale import ALE
from neuroreview.cbma.base import AnalysisSpace, Combine
from neuroreview.cbma.inputs import CBMAInputError, CoordinateSet
from neuroreview.cbma.kda import KDA
from neuroreview.cbma.kernels import ale_fwhm_mm, ale_kernel, sphere_kernel
from neuroreview.cbma.ma import ale_kernels, ale_ma, combine_order, sphere_ma
from neuroreview.cbma.mkda import MKDAChi2, MKDADensity
from neuroreview.model import Analysis, Focus, Space, Study
from neuroreview.space import MNI152_2MM, brain_mask_array

pytestmark = [
    pytest.mark.filterwarnings("ignore:Passing a Dataset:FutureWarning"),
    pytest.mark.filterwarnings("ignore:nimare.dataset.Dataset is deprecated:FutureWarning"),
    pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning:nimare"),
]

TINY32 = float(np.finfo(np.float32).tiny)
RTOL = 1e-5
SPACE = AnalysisSpace.default()
MASK = brain_mask_array()
N_VOXELS = int(MASK.sum())
CASES = {"pain": pain_case, **{c.name: (lambda c=c: c) for c in synthetic_cases()}}


def assert_matches(ours, theirs, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(ours, np.asarray(theirs, dtype=np.float64), rtol=rtol, atol=TINY32)


# --- NiMARE, once per module and dataset --------------------------------------------------


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request) -> CBMACase:
    return CASES[request.param]()


@pytest.fixture(scope="module")
def nimare_dataset(case: CBMACase):
    return case.nimare_dataset()


@pytest.fixture(scope="module")
def nimare_ale(nimare_dataset):
    estimator = NiALE()
    return estimator, estimator.fit(nimare_dataset)


@pytest.fixture(scope="module")
def nimare_kda(nimare_dataset):
    estimator = NiKDA()
    return estimator, estimator.fit(nimare_dataset)


@pytest.fixture(scope="module")
def nimare_mkda(nimare_dataset):
    fits = {}
    for weighting in (None, "sample_size"):
        estimator = NiMKDADensity(weighting=weighting)
        fits[weighting] = (estimator, estimator.fit(nimare_dataset))
    return fits


# --- agreement with NiMARE ----------------------------------------------------------------


@pytest.mark.parametrize("kernel", ["ale", "mkda", "kda"])
def test_ma_maps_are_nimares_to_the_bit(case: CBMACase, nimare_dataset, kernel: str) -> None:
    coordinates = case.coordinates
    if kernel == "ale":
        ours = ale_ma(coordinates, SPACE, ale_kernels(coordinates, MNI152_2MM.voxel_size))
        transformer = ALEKernel()
    else:
        ours = sphere_ma(coordinates, SPACE, 10.0, summed=kernel == "kda")
        transformer = MKDAKernel() if kernel == "mkda" else KDAKernel()
    theirs = transformer.transform(nimare_dataset, return_type="sparse")
    ours = ours[combine_order(coordinates)]  # NiMARE's rows are in sorted-id order
    assert ours.shape == theirs.shape == (coordinates.n_experiments, N_VOXELS)
    assert ours.dtype == theirs.dtype == np.float32
    assert ours.nnz == theirs.nnz > 0
    assert (ours != theirs).nnz == 0


def test_ale_matches_nimare(case: CBMACase, nimare_ale) -> None:
    estimator = ALE()
    result = estimator.fit(case.coordinates)
    theirs, their_result = nimare_ale
    assert np.array_equal(result.maps["stat"], their_result.maps["stat"])
    for name in ("p", "z", "logp"):
        assert result.maps[name].dtype == np.float64
        assert_matches(result.maps[name], their_result.maps[name])
    nulls = theirs.null_distributions_
    assert set(result.null_distributions) == set(nulls)
    assert np.array_equal(result.null_distributions["histogram_bins"], nulls["histogram_bins"])
    np.testing.assert_allclose(
        result.null_distributions["histweights_corr-none_method-approximate"],
        nulls["histweights_corr-none_method-approximate"],
        rtol=1e-12,
        atol=0,
    )
    assert estimator.p_to_summarystat(0.001) == theirs._p_to_summarystat(0.001)
    assert estimator.p_to_summarystat(0.01) == theirs._p_to_summarystat(0.01)


def test_kda_matches_nimare(case: CBMACase, nimare_kda) -> None:
    estimator = KDA()
    result = estimator.fit(case.coordinates)
    theirs, their_result = nimare_kda
    assert np.array_equal(result.maps["stat"], their_result.maps["stat"])
    for name in ("p", "z", "logp"):
        assert_matches(result.maps[name], their_result.maps[name])
    nulls = theirs.null_distributions_
    assert np.array_equal(result.null_distributions["histogram_bins"], nulls["histogram_bins"])
    np.testing.assert_allclose(
        result.null_distributions["histweights_corr-none_method-approximate"],
        nulls["histweights_corr-none_method-approximate"],
        rtol=1e-12,
        atol=1e-300,
    )
    assert estimator.p_to_summarystat(0.001) == theirs._p_to_summarystat(0.001)


@pytest.mark.parametrize("weighting", [None, "sample_size"])
def test_mkda_density_matches_nimare(case: CBMACase, nimare_mkda, weighting) -> None:
    """NiMARE's prior of activation is float32 (its MA sums are); ours is exact, hence rtol."""
    estimator = MKDADensity(weighting=weighting)
    result = estimator.fit(case.coordinates)
    theirs, their_result = nimare_mkda[weighting]
    for name in ("stat", "p", "z", "logp"):
        assert_matches(result.maps[name], their_result.maps[name])
    nulls = theirs.null_distributions_
    assert set(result.null_distributions) == set(nulls)
    assert np.array_equal(result.null_distributions["histogram_bins"], nulls["histogram_bins"])
    for key in ("histogram_means", "histweights_corr-none_method-approximate"):
        np.testing.assert_allclose(result.null_distributions[key], nulls[key], rtol=1e-6)
    assert estimator.p_to_summarystat(0.001) == theirs._p_to_summarystat(0.001)


def test_ale_fixed_kernels_match_nimare() -> None:
    case = pain_case()
    dataset = case.nimare_dataset()
    for ours, theirs in (
        (ALE(fwhm=10), NiALE(kernel__fwhm=10)),
        (ALE(fwhm=8.5), NiALE(kernel__fwhm=8.5)),
        (ALE(sample_size=20), NiALE(kernel__sample_size=20)),
    ):
        result = ours.fit(case.coordinates)
        their_result = theirs.fit(dataset)
        assert np.array_equal(result.maps["stat"], their_result.maps["stat"])
        assert_matches(result.maps["p"], their_result.maps["p"])
        assert ours.p_to_summarystat(0.001) == theirs._p_to_summarystat(0.001)


def _pain_halves():
    case = pain_case()
    ids = list(case.coordinates.experiment_ids)
    dataset = case.nimare_dataset()
    return (
        (case.coordinates.subset(ids[:10]), case.coordinates.subset(ids[10:])),
        (dataset.slice(ids[:10]), dataset.slice(ids[10:])),
    )


def _synthetic_pair():
    small, medium = synthetic_cases()[:2]
    return (
        (small.coordinates, medium.coordinates),
        (small.nimare_dataset(), medium.nimare_dataset()),
    )


@pytest.mark.parametrize(
    "pair", [_pain_halves, _synthetic_pair], ids=["pain-halves", "small-medium"]
)
def test_mkda_chi2_matches_nimare(pair) -> None:
    (ours1, ours2), (theirs1, theirs2) = pair()
    estimator = MKDAChi2()
    result = estimator.correct_fdr(estimator.fit(ours1, ours2))
    their_result = FDRCorrector(method="indep").transform(NiMKDAChi2().fit(theirs1, theirs2))
    assert set(result.maps) == set(their_result.maps)
    assert np.isnan(result.maps["prob_desc-FgA"]).any()  # voxels no experiment reaches
    for name, theirs in their_result.maps.items():
        ours = result.maps[name]
        assert np.array_equal(np.isnan(ours), np.isnan(theirs)), name
        known = ~np.isnan(theirs)
        if name.endswith("FDR_method-indep"):
            # NiMARE corrects its float32 p map, whose denormals keep only 2-5 digits. A
            # corrected p is some uncorrected p_j * n / j, so above n * TINY32 it comes from a
            # normal p_j and is exact; below, NiMARE's corrected maps are imprecise and we
            # only check that ours are tiny there too.
            their_p = their_result.maps[name.replace(name.split("_")[0], "p", 1)]
            exact = their_p > N_VOXELS * TINY32
            ours_p = result.maps[name.replace(name.split("_")[0], "p", 1)]
            assert np.all(ours_p[~exact] < 1.1 * N_VOXELS * TINY32)
            known &= exact
        assert_matches(ours[known], theirs[known])
    assert estimator.p_to_summarystat(0.001) == pytest.approx(10.827566, rel=1e-6)


# --- hand-computed cases ------------------------------------------------------------------


def paint(cube: np.ndarray, ijk, shape=MNI152_2MM.shape) -> np.ndarray:
    """``cube`` centred on voxel ``ijk`` of an empty volume, cut off at the grid's edges."""
    volume = np.zeros(shape)
    half = np.array(cube.shape) // 2
    low, high = np.array(ijk) - half, np.array(ijk) + half + 1
    dst_low, dst_high = np.maximum(low, 0), np.minimum(high, shape)
    src_low = dst_low - low
    src_high = src_low + (dst_high - dst_low)
    volume[tuple(slice(a, b) for a, b in zip(dst_low, dst_high, strict=True))] = cube[
        tuple(slice(a, b) for a, b in zip(src_low, src_high, strict=True))
    ]
    return volume


def ball(ijk, radius_mm: float = 10.0) -> np.ndarray:
    """1 at every grid voxel whose centre lies within ``radius_mm`` of voxel ``ijk``'s centre."""
    grid = np.indices(MNI152_2MM.shape).reshape(3, -1).T
    distance = np.linalg.norm((grid - np.array(ijk)) * 2.0, axis=1)
    return (distance <= radius_mm).reshape(MNI152_2MM.shape).astype(float)


def kernel32(n: float) -> np.ndarray:
    """NiMARE's kernel for n subjects at float32, the precision MA maps are stored at."""
    return ale_kernel(ale_fwhm_mm(n)).astype(np.float32).astype(float)


def one_experiment(voxels, n: float = 20.0, experiment: str = "e1") -> CoordinateSet:
    return CoordinateSet.from_arrays(
        MNI152_2MM.voxel_to_world(np.atleast_2d(voxels)),
        [experiment] * len(voxels),
        {experiment: n},
    )


DEEP = (59, 61, 38)  # the n = 20 kernel (17 voxels wide) around it lies wholly in the mask
NEAR = (62, 61, 38)  # 6 mm from DEEP, its kernel in the mask too


def test_single_focus_ale_is_the_kernel() -> None:
    result = ALE().fit(one_experiment([DEEP]))
    expected = paint(kernel32(20), DEEP)
    assert expected[MASK].sum() == pytest.approx(expected.sum())  # nothing left the mask
    np.testing.assert_allclose(result.volume("stat"), expected, rtol=1e-6, atol=1e-15)


def test_single_experiment_ale_p_is_the_share_of_voxels_at_least_as_high() -> None:
    """With one experiment the null is its own histogram: p = share of mask voxels whose MA
    falls in the same 1e-5 bin or a higher one."""
    result = ALE().fit(one_experiment([DEEP]))
    values = paint(kernel32(20), DEEP)[MASK]
    bins = np.floor(values * 1e5 + 0.5)
    for voxel in np.flatnonzero(values > 1e-3)[::50]:
        expected = (bins >= bins[voxel]).sum() / N_VOXELS
        assert result.maps["p"][voxel] == pytest.approx(expected, rel=1e-12)
    assert np.all(result.maps["p"][values == 0] == 1.0)


def test_single_focus_mkda_and_kda_are_the_sphere() -> None:
    expected = ball(DEEP)
    assert expected.sum() == 515
    mkda = MKDADensity().fit(one_experiment([DEEP]))
    kda = KDA().fit(one_experiment([DEEP]))
    assert np.array_equal(mkda.volume("stat"), expected)
    assert np.array_equal(kda.volume("stat"), expected)
    # One experiment: active with probability 515 / n_voxels, so that is p inside the sphere.
    np.testing.assert_allclose(mkda.maps["p"][expected[MASK] == 1], 515 / N_VOXELS, rtol=1e-12)
    assert np.all(mkda.maps["p"][expected[MASK] == 0] == 1.0)


def test_overlapping_foci_of_one_experiment_take_the_max_for_ale_and_mkda() -> None:
    coordinates = one_experiment([DEEP, NEAR])
    first, second = paint(kernel32(20), DEEP), paint(kernel32(20), NEAR)
    ale = ALE().fit(coordinates).volume("stat")
    np.testing.assert_allclose(ale, np.maximum(first, second), rtol=1e-6, atol=1e-15)
    assert ale[DEEP] < first[DEEP] + second[DEEP] - 1e-4  # not a sum
    mkda = MKDADensity().fit(coordinates).volume("stat")
    assert np.array_equal(mkda, np.maximum(ball(DEEP), ball(NEAR)))


def test_overlapping_foci_of_one_experiment_add_up_for_kda() -> None:
    kda = KDA().fit(one_experiment([DEEP, NEAR]))
    expected = ball(DEEP) + ball(NEAR)
    assert expected.max() == 2
    assert np.array_equal(kda.volume("stat"), expected)
    # One experiment: p of a count of 2 is the share of the mask covered twice.
    twice = expected[MASK] == 2
    np.testing.assert_allclose(kda.maps["p"][twice], twice.sum() / N_VOXELS, rtol=1e-12)


def _edge_voxel():
    """The most superior mask voxel of the column i = 45, j = 60: the top of the brain."""
    top = int(np.flatnonzero(MASK[45, 60])[-1])
    return (45, 60, top)


def test_foci_at_the_mask_edge_lose_the_kernel_outside_it() -> None:
    edge = _edge_voxel()
    ale = ALE().fit(one_experiment([edge])).volume("stat")
    expected = paint(kernel32(20), edge) * MASK
    np.testing.assert_allclose(ale, expected, rtol=1e-6, atol=1e-15)
    assert expected.sum() < 0.75 * kernel32(20).sum()  # clipped, and not renormalised
    mkda = MKDADensity().fit(one_experiment([edge])).volume("stat")
    assert np.array_equal(mkda, ball(edge) * MASK)
    assert mkda.sum() < 0.75 * 515


def test_one_subject_experiment_gets_the_widest_kernel_clipped_to_31_voxels() -> None:
    """n = 1: FWHM 19.07 mm, sigma 4.05 voxels, so scipy's 4-sigma support would be 16 voxels
    each side; NiMARE's 31-voxel working cube cuts it at 15. Built here from the formula."""
    to_sd = 2.0 * math.sqrt(2.0 / math.pi)
    to_fwhm = math.sqrt(8.0 * math.log(2.0))
    fwhm = math.hypot(11.6 / to_sd * to_fwhm, 5.7 / to_sd * to_fwhm)
    sigma = fwhm / math.sqrt(8.0) * math.sqrt(2.0) / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    assert fwhm == pytest.approx(19.07, abs=0.01)
    radius = int(4.0 * sigma + 0.5)
    assert radius == 16
    steps = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 * (steps / sigma) ** 2)
    weights /= weights.sum()
    line = weights[1:-1]  # the 31 central values
    cube = line[:, None, None] * line[None, :, None] * line[None, None, :]
    stat = ALE().fit(one_experiment([DEEP], n=1)).volume("stat")
    expected = paint(cube.astype(np.float32).astype(float), DEEP) * MASK
    np.testing.assert_allclose(stat, expected, rtol=1e-5, atol=1e-15)
    i, j, k = DEEP
    assert stat[i - 15, j, k] > 0 and stat[i - 16, j, k] == 0
    assert stat[DEEP] < ALE().fit(one_experiment([DEEP], n=2)).volume("stat")[DEEP]


def test_identical_experiments_combine_as_a_union() -> None:
    xyz = MNI152_2MM.voxel_to_world([DEEP] * 3)
    coordinates = CoordinateSet.from_arrays(xyz, ["a", "b", "c"], {"a": 20, "b": 20, "c": 20})
    stat = ALE().fit(coordinates).volume("stat")
    ma = paint(kernel32(20), DEEP)
    np.testing.assert_allclose(stat, 1.0 - (1.0 - ma) ** 3, rtol=1e-6, atol=1e-15)


# --- inputs -------------------------------------------------------------------------------


def test_missing_sample_size_names_the_experiment() -> None:
    xyz = MNI152_2MM.voxel_to_world([DEEP, NEAR])
    coordinates = CoordinateSet.from_arrays(xyz, ["has-n", "lacks-n"], {"has-n": 20})
    with pytest.raises(CBMAInputError, match="'lacks-n'") as raised:
        ALE().fit(coordinates)
    assert "'has-n'" not in str(raised.value)
    with pytest.raises(CBMAInputError, match="'lacks-n'"):
        MKDADensity(weighting="sample_size").fit(coordinates)
    # A fixed kernel needs no sample sizes, nor does unweighted MKDA.
    assert ALE(fwhm=10.0).fit(coordinates).maps["stat"].max() > 0
    assert ALE(sample_size=15).fit(coordinates).maps["stat"].max() > 0
    assert MKDADensity().fit(coordinates).maps["stat"].max() == 2


def test_foci_outside_the_mask_are_logged_and_kept(caplog) -> None:
    i, j, k = _edge_voxel()
    outside = (i, j, k + 3)  # 6 mm above the top of the brain, still on the grid
    assert not MASK[outside]
    coordinates = CoordinateSet.from_arrays(
        MNI152_2MM.voxel_to_world([DEEP, outside]), ["inside", "scalp"], {"inside": 20, "scalp": 20}
    )
    with caplog.at_level(logging.WARNING, logger="neuroreview.cbma.ma"):
        stat = ALE().fit(coordinates).volume("stat")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "'scalp'" in warnings[0] and "'inside'" not in warnings[0]
    assert "outside the image grid" not in warnings[0]
    scalp = paint(kernel32(20), outside) * MASK
    assert scalp.max() > 0.001  # the kernel reaches the brain, so it counts
    inside = paint(kernel32(20), DEEP)
    np.testing.assert_allclose(stat, 1 - (1 - inside) * (1 - scalp), rtol=1e-6, atol=1e-15)


def test_foci_outside_the_grid_count_where_their_kernel_reaches_it_as_in_nimare(caplog) -> None:
    """NiMARE keeps foci off the grid and clips their kernels; so do we, with a warning."""
    studies = []
    for name, n, foci in (
        ("offgrid", 1, [(-96.0, -20.0, 10.0)]),  # i = -3: a wide kernel reaches the brain
        ("far", 10, [(98.0, 0.0, 0.0), (0.0, 20.0, -90.0)]),  # too far for any voxel
        ("normal", 15, [(40.0, 20.0, 30.0)]),
    ):
        analysis = Analysis(
            id="1", n_subjects=n, space=Space.MNI, foci=[Focus(x=x, y=y, z=z) for x, y, z in foci]
        )
        studies.append(Study(id=name, analyses=[analysis]))
    case = CBMACase("edge", tuple(studies))
    dataset = case.nimare_dataset()
    coordinates = case.coordinates
    with caplog.at_level(logging.WARNING, logger="neuroreview.cbma.ma"):
        ale = ale_ma(coordinates, SPACE, ale_kernels(coordinates, MNI152_2MM.voxel_size))
    message = caplog.records[0].getMessage()
    assert "outside the image grid" in message and "'offgrid-1'" in message and "'far-1'" in message
    assert "'normal-1'" not in message
    order = combine_order(coordinates)
    theirs = ALEKernel().transform(dataset, return_type="sparse")
    assert (ale[order] != theirs).nnz == 0
    rows = ale.getnnz(axis=1)  # input order: offgrid, far, normal
    assert rows[0] > 0 and rows[1] == 0
    spheres = sphere_ma(coordinates, SPACE)
    assert (spheres[order] != MKDAKernel().transform(dataset, return_type="sparse")).nnz == 0
    assert_matches(ALE().fit(coordinates).maps["p"], NiALE().fit(dataset).maps["p"])


# --- the contract with inference ----------------------------------------------------------


def test_ale_null_problem() -> None:
    coordinates = pain_case().coordinates
    estimator = ALE()
    with pytest.raises(RuntimeError, match="fit"):
        estimator.null_problem(0.01)
    estimator.fit(coordinates)
    problem = estimator.null_problem(0.0123)
    assert problem.combine is Combine.ALE
    assert problem.cluster_threshold == 0.0123
    assert problem.weights is None
    assert problem.mask is SPACE.mask
    assert problem.null_ijk.shape == (N_VOXELS, 3)
    assert np.array_equal(problem.experiment_starts, coordinates.experiment_starts)
    assert problem.n_foci == coordinates.n_foci
    assert len(problem.kernels) == len(np.unique(coordinates.sample_sizes))
    for e, n in enumerate(coordinates.sample_sizes):
        assert np.array_equal(problem.kernels[problem.experiment_kernel[e]], kernel32(n))
    for cube in problem.kernels:
        assert cube.dtype == np.float64 and all(side % 2 == 1 for side in cube.shape)


def test_sphere_null_problems() -> None:
    coordinates = pain_case().coordinates
    sphere = sphere_kernel(10.0, (2.0, 2.0, 2.0))
    for estimator, combine in ((MKDADensity(), Combine.MKDA), (KDA(), Combine.KDA)):
        estimator.fit(coordinates)
        problem = estimator.null_problem(3.0)
        assert problem.combine is combine
        assert len(problem.kernels) == 1 and np.array_equal(problem.kernels[0], sphere)
        assert np.all(problem.experiment_kernel == 0)
        assert problem.weights is None
    weighted = MKDADensity(weighting="sample_size")
    weighted.fit(coordinates)
    root_n = np.sqrt(coordinates.sample_sizes)
    expected = root_n * coordinates.n_experiments / root_n.sum()
    np.testing.assert_allclose(weighted.null_problem(3.0).weights, expected, rtol=1e-14)
    # MKDA chi-square compares two sets: a contract of its own, with no one-set null problem.
    from neuroreview.cbma.base import CBMAEstimator, TwoGroupEstimator

    assert isinstance(MKDAChi2(), TwoGroupEstimator)
    assert not isinstance(MKDAChi2(), CBMAEstimator)
    assert not hasattr(MKDAChi2(), "null_problem")


def test_results_carry_descriptions_and_settings() -> None:
    coordinates = synthetic_cases()[0].coordinates
    ale = ALE(voxel_exact=True, subvoxel=True).fit(coordinates)
    assert "Eickhoff et al. (2012)" in ale.descriptions[0]
    assert "GingerALE" in ale.descriptions[0]
    assert ale.settings["method"] == "ale" and ale.settings["subvoxel"] is True
    assert ale.settings["fwhm_rule"] == "experiment_sample_size"
    assert set(ale.maps) == {"stat", "p", "z", "logp"}
    assert ale.estimator.null_problem(0.01).kernels[0].shape[0] % 2 == 1
    mkda = MKDADensity(weighting="sample_size").fit(coordinates)
    assert "Wager et al., 2009" in mkda.descriptions[0]
    assert mkda.settings == {
        "method": "mkda",
        "kernel": "sphere",
        "r_mm": 10.0,
        "overlap": "max",
        "weighting": "sample_size",
        "null_method": "approximate",
    }
    assert "Wager et al., 2003" in KDA().fit(coordinates).descriptions[0]
    chi2 = MKDAChi2().fit(coordinates, synthetic_cases()[1].coordinates)
    assert "Yarkoni et al., 2011" in chi2.descriptions[0]
    with pytest.raises(CBMAInputError, match="two sets"):
        MKDAChi2().fit(coordinates)
