"""ALE pruning is exact: every bound gives the bytes of the unpruned Monte Carlo null.

The engine picks the box bound (shallow coverage) or the separable envelope (deep coverage);
here both are forced on NiMARE's pain example (nine kernels, so the envelope is shared across
kernels) and compared with no pruning at all, with clusters, with a threshold so high that no
voxel passes it (the maximum then comes from the lower bound's second sweep), and without
cluster inference.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from cbma_data import pain_case
from neuroreview.cbma import montecarlo
from neuroreview.cbma.ale import ALE
from neuroreview.cbma.montecarlo import run_null


@functools.cache
def _pain_ale() -> ALE:
    estimator = ALE()
    estimator.fit(pain_case().coordinates)
    return estimator


def _run(monkeypatch: pytest.MonkeyPatch, bound: str, threshold: float) -> np.ndarray:
    problem = _pain_ale().null_problem(threshold)
    with monkeypatch.context() as patch:
        if bound == "box":
            patch.setattr(montecarlo, "PRUNE_COVERAGE", math.inf)
        else:
            patch.setattr(montecarlo, "PRUNE_COVERAGE", -1.0)
            if bound == "none":
                patch.setattr(montecarlo, "_separable_envelope", lambda *_: None)
        null = run_null(problem, 150, seed=3)
    return np.stack([null.max_stat, null.max_cluster_size, null.max_cluster_mass])


@pytest.mark.parametrize("threshold", ["p001", "unreachable", "none"])
def test_bounds_give_the_unpruned_bytes(monkeypatch: pytest.MonkeyPatch, threshold: str) -> None:
    value = {
        "p001": float(_pain_ale().p_to_summarystat(0.001)),
        "unreachable": 0.99,
        "none": math.inf,
    }[threshold]
    exact = _run(monkeypatch, "none", value)
    for bound in ("box", "separable"):
        assert np.array_equal(_run(monkeypatch, bound, value), exact), bound
    if threshold == "p001":
        assert exact[1].max() > 0  # clusters were formed, so they were compared too


def test_the_envelope_bounds_every_kernel() -> None:
    problem = _pain_ale().null_problem(0.01)
    halves = np.array([np.asarray(k.shape) // 2 for k in problem.kernels])
    sep_a, sep_b, sep_c = montecarlo._separable_envelope(problem.kernels, halves)
    wide = halves.max(axis=0)
    for index, (kernel, half) in enumerate(zip(problem.kernels, halves, strict=True)):
        cut = tuple(slice(w - h, w + h + 1) for w, h in zip(wide, half, strict=True))
        outer = sep_a[cut[0], None, None] * sep_b[index, cut[1]][None, :, None]
        outer = outer * sep_c[index, cut[2]][None, None, :]
        assert np.all(kernel <= outer)
    # Tight for the widest kernel (the shared i-factor is its own): a Gaussian is separable.
    widest = int(np.argmin([k.max() for k in problem.kernels]))
    kernel = problem.kernels[widest]
    outer = sep_a[:, None, None] * sep_b[widest][None, :, None] * sep_c[widest][None, None, :]
    assert kernel.shape == outer.shape
    assert np.all(outer <= kernel * 1.01)
