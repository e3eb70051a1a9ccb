"""The counting engine (unweighted MKDA and KDA) gives the general engine's bytes.

``montecarlo._count_layout`` is patched to None to force the general engine, which the NiMARE
comparisons in ``test_cbma_montecarlo.py`` pin; here the two engines run the same draws on
NiMARE's pain example and on synthetic problems built to reach the counting engine's corners:
experiments of many overlapping foci (large units, many runs per grid row), spheres that touch
the end of a grid row (the -1 past a run's end is dropped there), two kernels, 32-bit counts,
and no cluster inference.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from cbma_data import pain_case
from neuroreview.cbma import montecarlo
from neuroreview.cbma.base import Combine, NullProblem
from neuroreview.cbma.kda import KDA
from neuroreview.cbma.kernels import sphere_kernel
from neuroreview.cbma.mkda import MKDADensity
from neuroreview.cbma.montecarlo import run_null


def _both(monkeypatch: pytest.MonkeyPatch, problem: NullProblem, n_iters: int, **kw):
    """(counting engine's null, general engine's null) as 3 x n arrays, and whether the
    counting engine was the one chosen."""
    counting = montecarlo._Engine(problem)._counts is not None
    fast = run_null(problem, n_iters, seed=5, **kw)
    with monkeypatch.context() as patch:
        patch.setattr(montecarlo, "_count_layout", lambda *_: None)
        slow = run_null(problem, n_iters, seed=5, **kw)
    stack = lambda n: np.stack([n.max_stat, n.max_cluster_size, n.max_cluster_mass])  # noqa: E731
    return stack(fast), stack(slow), counting


@functools.cache
def _pain(method: str):
    estimator = {"mkda": MKDADensity, "kda": KDA}[method]()
    estimator.fit(pain_case().coordinates)
    return estimator


@pytest.mark.parametrize("method", ["mkda", "kda"])
@pytest.mark.parametrize("threshold", ["p001", "none"])
def test_pain_nulls_are_the_general_engines_bytes(
    monkeypatch: pytest.MonkeyPatch, method: str, threshold: str
) -> None:
    estimator = _pain(method)
    value = float(estimator.p_to_summarystat(0.001)) if threshold == "p001" else math.inf
    fast, slow, counting = _both(monkeypatch, estimator.null_problem(value), 200)
    assert counting
    assert np.array_equal(fast, slow)
    if threshold == "p001":
        assert slow[1].max() > 0  # clusters formed, so sizes and masses were compared
    else:
        assert not slow[1:].any()


def _dense_problem(combine: Combine, threshold: float, two_kernels: bool) -> NullProblem:
    """Few experiments with many foci on a small grid whose mask reaches the grid's last
    slice, so spheres overlap heavily and touch the end of grid rows."""
    mask = np.zeros((14, 12, 10), dtype=bool)
    mask[1:13, 1:11, 2:10] = True  # reaches k = 9, the last slice
    kernels = (sphere_kernel(4.0, (2.0, 2.0, 2.0)),)
    if two_kernels:
        kernels += (sphere_kernel(6.0, (2.0, 2.0, 2.0)),)
    sizes = [1, 2, 30, 5, 1, 12, 40, 3]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    return NullProblem(
        combine=combine,
        kernels=kernels,
        experiment_kernel=np.arange(len(sizes)) % len(kernels),
        experiment_starts=starts,
        weights=None,
        mask=mask,
        null_ijk=np.argwhere(mask),
        cluster_threshold=threshold,
    )


@pytest.mark.parametrize("combine", [Combine.MKDA, Combine.KDA])
@pytest.mark.parametrize("two_kernels", [False, True])
@pytest.mark.parametrize("level", ["low", "high", "none"])
def test_dense_overlapping_foci_give_the_general_engines_bytes(
    monkeypatch: pytest.MonkeyPatch, combine: Combine, two_kernels: bool, level: str
) -> None:
    high = 4.5 if combine is Combine.MKDA else 12.5
    threshold = {"low": 2.5, "high": high, "none": math.inf}[level]
    problem = _dense_problem(combine, threshold, two_kernels)
    fast, slow, counting = _both(monkeypatch, problem, 300)
    assert counting
    assert np.array_equal(fast, slow)
    # MKDA never counts more than the 8 experiments; KDA counts the 94 foci.
    assert slow[0].max() <= 8 if combine is Combine.MKDA else slow[0].max() > 8
    if math.isfinite(threshold):
        assert slow[1].max() > 0


def test_an_experiment_counts_once_where_its_spheres_overlap() -> None:
    """Hand case: one experiment's two foci 2 voxels apart along k, one other experiment."""
    mask = np.ones((9, 9, 12), dtype=bool)
    kernel = np.ones((3, 3, 3))
    problem = NullProblem(
        combine=Combine.MKDA,
        kernels=(kernel,),
        experiment_kernel=np.zeros(2, dtype=np.intp),
        experiment_starts=np.array([0, 2, 3]),
        weights=None,
        mask=mask,
        null_ijk=np.argwhere(mask),
        cluster_threshold=1.5,
    )
    index = {tuple(v): i for i, v in enumerate(np.argwhere(mask).tolist())}
    draws = np.array([[index[(4, 4, 4)], index[(4, 4, 6)], index[(4, 4, 11)]]])
    null = run_null(problem, 1, None, draws=draws)
    # Experiment 0 covers k = 3..7 (once, though both boxes hold k = 5), experiment 1 k = 10..11:
    # nowhere do two experiments meet.
    assert null.max_stat[0] == 1.0
    assert null.max_cluster_size[0] == 0
    moved = np.array([[index[(4, 4, 4)], index[(4, 4, 6)], index[(4, 4, 8)]]])
    null = run_null(problem, 1, None, draws=moved)
    # Now experiment 1 covers k = 7..9: they meet on the 3 x 3 slab at k = 7.
    assert null.max_stat[0] == 2.0
    assert null.max_cluster_size[0] == 9
    assert null.max_cluster_mass[0] == pytest.approx(9 * 0.5)


def test_thirty_two_bit_counts_give_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    problem = _dense_problem(Combine.KDA, 7.0, True)
    fast = run_null(problem, 200, seed=5)
    with monkeypatch.context() as patch:
        patch.setattr(montecarlo, "COUNT_DTYPE_LIMIT", 0)
        assert montecarlo._Engine(problem)._diff.dtype == np.int32
        wide = run_null(problem, 200, seed=5)
    assert montecarlo._Engine(problem)._diff.dtype == np.int16
    for a, b in zip(
        (fast.max_stat, fast.max_cluster_size, fast.max_cluster_mass),
        (wide.max_stat, wide.max_cluster_size, wide.max_cluster_mass),
        strict=True,
    ):
        assert np.array_equal(a, b)


def test_statistics_that_are_not_counts_use_the_general_engine() -> None:
    base = _dense_problem(Combine.MKDA, 2.5, False)
    sphere = base.kernels[0]

    def layout(**changes) -> bool:
        fields = {name: getattr(base, name) for name in NullProblem.__dataclass_fields__}
        problem = NullProblem(**(fields | changes))
        return montecarlo._Engine(problem)._counts is not None

    assert layout()
    assert not layout(weights=np.full(base.n_experiments, 2.0))  # weighted MKDA
    assert layout(weights=np.ones(base.n_experiments))
    assert not layout(kernels=(sphere * 2.0,))  # a kernel value other than 1
    gapped = sphere.copy()
    gapped[tuple(np.asarray(sphere.shape) // 2)] = 0.0  # a hole in the middle row
    assert not layout(kernels=(gapped,))
    assert not layout(combine=Combine.ALE, kernels=(sphere * 0.5,))
