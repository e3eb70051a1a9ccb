"""ALE subtraction against NiMARE 0.22.1's ALESubtraction, and the conjunction.

NiMARE seeds permutation i with ``default_rng(i)`` when it has no random_state; replaying those
relabellings through ours (``labels=``) must give NiMARE's maps, p and z included, exactly (to
NiMARE's float32 storage). With our own seeded stream the z maps must still correlate > 0.99.
"""

from __future__ import annotations

import numpy as np
import pytest
from nimare.meta.cbma import ALESubtraction as NiALESubtraction

from cbma_data import pain_case
from neuroreview.cbma.base import AnalysisSpace
from neuroreview.cbma.clusters import CLUSTER_FWE_MAP
from neuroreview.cbma.conjunction import conjunction
from neuroreview.cbma.inputs import CBMAInputError
from neuroreview.cbma.results import CBMAResult
from neuroreview.cbma.stats import p_to_z
from neuroreview.cbma.subtraction import ALESubtraction, permutation_labels

pytestmark = [
    pytest.mark.filterwarnings("ignore:Passing a Dataset:FutureWarning"),
    pytest.mark.filterwarnings("ignore:nimare.dataset.Dataset is deprecated:FutureWarning"),
    pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning:nimare"),
]

N_ITERS = 1000
Z = "z_desc-group1MinusGroup2"
P = "p_desc-group1MinusGroup2"
TINY32 = float(np.finfo(np.float32).tiny)


def _halves():
    case = pain_case()
    ids = list(case.coordinates.experiment_ids)
    return case, ids[:10], ids[10:]


@pytest.fixture(scope="module")
def groups():
    case, first, second = _halves()
    return case.coordinates.subset(first), case.coordinates.subset(second)


@pytest.fixture(scope="module")
def nimare_result():
    case, first, second = _halves()
    dataset = case.nimare_dataset()
    return NiALESubtraction(n_iters=N_ITERS).fit(dataset.slice(first), dataset.slice(second))


def nimare_labels(n_iters: int, n_total: int, n_group1: int) -> np.ndarray:
    """NiMARE's relabellings without random_state: permutation i shuffles with seed i."""
    labels = np.zeros((n_iters, n_total), dtype=np.uint8)
    for i in range(n_iters):
        order = np.arange(n_total)
        np.random.default_rng(seed=i).shuffle(order)
        labels[i, order[:n_group1]] = 1
    return labels


@pytest.mark.slow
def test_nimare_permutations_give_nimare_maps(groups, nimare_result) -> None:
    labels = nimare_labels(N_ITERS, 21, 10)
    ours = ALESubtraction(n_iters=N_ITERS).fit(*groups, labels=labels)
    assert set(ours.maps) == set(nimare_result.maps)
    for name, theirs in nimare_result.maps.items():
        theirs = np.asarray(theirs, dtype=np.float64)
        if name.startswith("stat"):
            assert np.array_equal(ours.maps[name], theirs), name  # float32 values, bit for bit
        elif name == P:
            assert np.array_equal(ours.maps[name].astype(np.float32), theirs), name
        elif name.endswith("group1MinusGroup2"):
            # NiMARE converts its float32 p; ours converts the float64 p it rounds from.
            np.testing.assert_allclose(ours.maps[name], theirs, rtol=1e-5, atol=1e-6)
        else:
            np.testing.assert_allclose(ours.maps[name], theirs, rtol=1e-5, atol=TINY32)
    vfwe = "values_level-voxel_corr-fwe_method-montecarlo"
    np.testing.assert_allclose(
        ours.null_distributions[vfwe],
        nimare_result.estimator.null_distributions_[vfwe],
        rtol=1e-6,
    )


@pytest.mark.slow
def test_our_stream_correlates_with_nimare(groups, nimare_result) -> None:
    ours = ALESubtraction(n_iters=N_ITERS, seed=0, n_jobs=2).fit(*groups)
    theirs = np.asarray(nimare_result.maps[Z], dtype=np.float64)
    assert np.corrcoef(ours.maps[Z], theirs)[0, 1] > 0.99
    assert np.array_equal(
        ours.maps["stat_desc-group1MinusGroup2"],
        nimare_result.maps["stat_desc-group1MinusGroup2"].astype(np.float64),
    )


def test_same_bytes_for_any_worker_count_and_seeded(groups) -> None:
    one = ALESubtraction(n_iters=700, seed=3, n_jobs=1).fit(*groups)
    two = ALESubtraction(n_iters=700, seed=3, n_jobs=2).fit(*groups)
    again = ALESubtraction(n_iters=700, seed=3).fit(*groups)
    other = ALESubtraction(n_iters=700, seed=4).fit(*groups)
    for name in one.maps:
        assert one.maps[name].tobytes() == two.maps[name].tobytes(), name
        assert one.maps[name].tobytes() == again.maps[name].tobytes(), name
    key = "values_level-voxel_corr-fwe_method-montecarlo"
    assert one.null_distributions[key].tobytes() == two.null_distributions[key].tobytes()
    assert one.maps[P].tobytes() != other.maps[P].tobytes()
    assert one.settings["seed"] == 3 and one.settings["n_iters"] == 700
    assert one.settings["group_sizes"] == [10, 11]
    assert "Eickhoff et al., 2012" in one.descriptions[0]
    assert "700 permutations, seed 3" in one.descriptions[0]


def test_permutation_k_depends_only_on_seed_and_k() -> None:
    short = permutation_labels(5, 700, 21, 10)
    long = permutation_labels(5, 1200, 21, 10)
    assert np.array_equal(short, long[:700])
    assert np.all(long.sum(axis=1) == 10)


def test_null_matches_a_brute_force_refit(groups) -> None:
    """Each permutation's maximum |difference| equals the one a full recomputation gives."""
    from scipy import sparse

    from neuroreview.cbma.ale import ale_statistic
    from neuroreview.cbma.ma import ale_kernels, ale_ma, combine_order

    space = AnalysisSpace.default()
    mas = []
    for group in groups:
        kernels = ale_kernels(group, space.grid.voxel_size)
        mas.append(ale_ma(group, space, kernels)[combine_order(group)])
    pooled = sparse.vstack(mas, format="csr")
    labels = permutation_labels(9, 5, 21, 10)
    result = ALESubtraction(n_iters=5, seed=9).fit(*groups)
    for row, maximum in zip(
        labels,
        result.null_distributions["values_level-voxel_corr-fwe_method-montecarlo"],
        strict=True,
    ):
        log_keep = pooled.copy()
        log_keep.data = np.log1p(-log_keep.data).astype(np.float64)
        a = np.asarray(log_keep[row == 1].sum(axis=0)).ravel()
        b = np.asarray(log_keep[row == 0].sum(axis=0)).ravel()
        diff = (1.0 - np.exp(a)) - (1.0 - np.exp(b))
        assert maximum == pytest.approx(np.abs(diff).max(), rel=1e-9)
    assert ale_statistic(mas[0]).shape == (space.n_voxels,)


def test_exact_ties_removes_single_experiment_artefact(groups) -> None:
    """NiMARE's float32-vs-float64 comparison makes voxels reached by one experiment look
    significant; with exact_ties such a voxel's p is that of a tie, near 1."""
    from neuroreview.cbma.ma import ale_kernels, ale_ma

    plain = ALESubtraction(n_iters=500, seed=1).fit(*groups)
    fixed = ALESubtraction(n_iters=500, seed=1, exact_ties=True).fit(*groups)
    space = AnalysisSpace.default()
    reach = sum(
        ale_ma(g, space, ale_kernels(g, space.grid.voxel_size)).getnnz(axis=0) for g in groups
    )
    # Reached by one experiment: half the relabellings reproduce the observed difference.
    single = (reach == 1) & (np.abs(plain.maps["stat_desc-group1MinusGroup2"]) > 1e-3)
    assert single.sum() > 100
    assert np.all(fixed.maps[P][single] > 0.8)
    assert (plain.maps[P][single] < 0.01).any()  # the artefact, in NiMARE's arithmetic


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ((1, 5), "group 'healthy' has 1 experiment; a permutation test needs at least 2"),
        ((5, 1), "group 'patients' has 1 experiment; a permutation test needs at least 2"),
    ],
)
def test_small_groups_are_refused_by_name(groups, sizes, message) -> None:
    ids = groups[0].experiment_ids + groups[1].experiment_ids
    coordinates = pain_case().coordinates
    first = coordinates.subset(ids[: sizes[0]])
    second = coordinates.subset(ids[sizes[0] : sizes[0] + sizes[1]])
    with pytest.raises(CBMAInputError, match=message):
        ALESubtraction(n_iters=10).fit(first, second, names=("healthy", "patients"))


def test_missing_group_and_shared_experiments_are_refused(groups) -> None:
    with pytest.raises(CBMAInputError, match="group 'group2' has 0 experiments"):
        ALESubtraction(n_iters=10).fit(groups[0], None)  # type: ignore[arg-type]
    with pytest.raises(CBMAInputError, match="in both group"):
        ALESubtraction(n_iters=10).fit(groups[0], groups[0])


# --- conjunction --------------------------------------------------------------------------


class _Stub:
    method = "stub"


def _result(space: AnalysisSpace, z: np.ndarray, corrected: np.ndarray) -> CBMAResult:
    return CBMAResult(
        estimator=_Stub(),  # type: ignore[arg-type]
        space=space,
        maps={"z": z, CLUSTER_FWE_MAP: corrected},
    )


def test_conjunction_is_the_minimum_where_both_survive() -> None:
    space = AnalysisSpace.default()
    n = space.n_voxels
    passing = float(p_to_z(0.01)[()])
    z1, z2 = np.zeros(n), np.zeros(n)
    c1, c2 = np.zeros(n), np.zeros(n)
    z1[:4] = [3.0, 5.0, 4.0, 2.0]
    z2[:4] = [4.0, 2.5, 6.0, 3.0]
    c1[:4] = [passing, passing, passing, 0.0]  # voxel 3 fails in the first
    c2[:4] = [passing, passing, 0.0, passing]  # voxel 2 fails in the second
    out = conjunction(_result(space, z1, c1), _result(space, z2, c2))
    expected = np.zeros(n)
    expected[:2] = [3.0, 2.5]
    assert np.array_equal(out.maps["z_desc-conjunction"], expected)
    assert out.settings["n_voxels"] == 2
    assert "Nichols et al., 2005" in out.descriptions[0]


def test_conjunction_needs_one_space() -> None:
    space = AnalysisSpace.default()
    mask = space.mask.copy()
    mask[tuple(np.argwhere(mask)[0])] = False
    other = AnalysisSpace(space.grid, mask, mask)
    first = _result(space, np.zeros(space.n_voxels), np.zeros(space.n_voxels))
    second = _result(other, np.zeros(other.n_voxels), np.zeros(other.n_voxels))
    with pytest.raises(ValueError, match="same grid and mask"):
        conjunction(first, second)
