"""Fail-safe N for ALE clusters (Acar et al. 2018, PLoS One 13(11): e0208177).

Publication bias in CBMA hides null results: experiments that found nothing near a cluster are
never reported. Acar et al. ask how many such null experiments the literature would have to be
hiding for a cluster to disappear: add "noise" experiments (random foci, sample sizes and foci
counts like the observed experiments') one after another and find the number at which the cluster
no longer survives. A cluster that dies after a handful is fragile; one that needs many times the
number of observed experiments is robust.

What "survives" means here, and where it departs from a full re-analysis (say so when reporting):

* At every step the ALE map, its analytic null and so the cluster-forming threshold (the ALE
  whose uncorrected p is the main analysis's ``voxel_thresh``) are recomputed exactly: the null
  experiments' MA maps are added to the log-survival sum and their histograms are convolved into
  the running null, one experiment at a time, so a step costs one histogram convolution.
* The cluster-size cut-off is held at the main analysis's: the smallest size whose Monte Carlo
  cluster-level FWE p is below ``alpha`` (or a size given outright). Acar et al. re-ran the
  cluster-level FWE Monte Carlo at every step; its maximum-cluster-size null changes only
  slowly as random experiments are added (each null dataset is random anyway), and one Monte
  Carlo per step would cost thousands of times more. So the numbers answer "how many null
  experiments until the cluster, formed as before, is smaller than the cut-off of the
  reported analysis".
* A cluster survives a step if some supra-threshold cluster of the augmented map overlapping
  its voxels is at least the cut-off large. Its fail-safe N is the first number of added null
  experiments at which it does not; if it survives all ``max_null_experiments``, it is reported
  as censored (NA) with that bound.

Null experiments are drawn with ``numpy.random.default_rng(seed)`` one at a time (an observed
experiment is picked uniformly and lends its number of foci and sample size; its foci go to voxels
drawn uniformly from the null mask, as the Monte Carlo draws them), so the first k null
experiments are the same whatever the bound, and the same seed gives the same numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import ndimage

from neuroreview.cbma.diagnostics import _clusters, cluster_columns

if TYPE_CHECKING:
    from neuroreview.cbma.results import CBMAResult

__all__ = ["failsafe_n"]

_FACES = ndimage.generate_binary_structure(3, 1)


def _size_cutoff(result: CBMAResult, alpha: float) -> int:
    """Smallest cluster size (voxels) whose Monte Carlo cluster-size FWE p is below ``alpha``."""
    from neuroreview.cbma.inference import NULL_KEYS
    from neuroreview.cbma.stats import null_to_p

    null = result.null_distributions.get(NULL_KEYS["max_cluster_size"])
    if null is None:
        raise ValueError(
            "the result has no cluster-size Monte Carlo null: run correct_fwe_montecarlo "
            "first, or give min_cluster_voxels"
        )
    sizes = np.arange(1, int(np.max(null)) + 2, dtype=np.float64)
    passing = np.flatnonzero(null_to_p(sizes, null) < alpha)
    if passing.size == 0:
        raise ValueError(f"no cluster size reaches p < {alpha} with this null")
    return int(sizes[passing[0]])


def _null_experiments(result: CBMAResult, n: int, seed: int):
    """``n`` null experiments as a CoordinateSet, drawn one after another from ``seed``."""
    from neuroreview.cbma.inputs import CoordinateSet

    coordinates = result.estimator._fitted().coordinates
    space = result.space
    null_ijk = space.null_ijk()
    counts = np.diff(coordinates.experiment_starts)
    rng = np.random.default_rng(seed)
    blocks, sizes = [], []
    for _ in range(n):
        donor = int(rng.integers(coordinates.n_experiments))
        picks = rng.integers(null_ijk.shape[0], size=int(counts[donor]))
        blocks.append(space.grid.voxel_to_world(null_ijk[picks]))
        sizes.append(coordinates.sample_sizes[donor])
    index = np.repeat(np.arange(n), [len(b) for b in blocks])
    ids = tuple(f"null-{i:05d}" for i in range(n))
    return CoordinateSet(ids, np.array(sizes), np.vstack(blocks), index)


def _experiment_histograms(ma, bins_inv_step: float, n_bins: int, n_voxels: int):
    """Each MA row's histogram over the mask (NiMARE's binning), as (occupied bins, mass)."""
    from neuroreview.cbma.null import _nearest_bins

    for row in range(ma.shape[0]):
        values = ma.data[ma.indptr[row] : ma.indptr[row + 1]]
        hist = np.bincount(_nearest_bins(values, bins_inv_step, n_bins), minlength=n_bins)
        hist = hist.astype(np.float64)
        hist[0] += n_voxels - values.size
        hist /= n_voxels
        occupied = np.flatnonzero(hist > 0)
        yield occupied, hist[occupied]


def failsafe_n(
    result: CBMAResult,
    labels: NDArray[np.integer] | tuple[NDArray[np.integer], list[int]],
    ids: list[int] | None = None,
    *,
    seed: int = 0,
    max_null_experiments: int | None = None,
    voxel_thresh: float | None = None,
    alpha: float = 0.05,
    min_cluster_voxels: int | None = None,
) -> pd.DataFrame:
    """Per cluster, how many null experiments must be added before it stops surviving.

    ``labels`` as in :func:`~neuroreview.cbma.diagnostics.jackknife` (usually the clusters
    surviving cluster-level FWE). ``voxel_thresh`` defaults to the cluster-forming p of the
    result's Monte Carlo correction (0.001 without one); the size cut-off is
    ``min_cluster_voxels`` if given, else derived from the result's cluster-size null at
    ``alpha``. ``max_null_experiments`` bounds the search (default: 10 times the number of
    observed experiments). ALE results only. See the module docstring for the approximation
    (fixed cut-off instead of a Monte Carlo per step).

    Returns one row per cluster: ``cluster_id``, ``cluster`` (column name as in the other
    diagnostics), ``size_voxels``, ``failsafe_n`` (Int64; NA when it survived every step),
    ``censored``, ``max_null_experiments`` and ``seed``; ``table.attrs`` records the threshold
    p, the size cut-off and the method.
    """
    from neuroreview.cbma.ale import ALE
    from neuroreview.cbma.ma import ale_kernels, ale_ma, combine_order
    from neuroreview.cbma.null import (
        ALE_STEP,
        _combine_ale,
        ale_histogram_bins,
        nullhist_to_summarystat,
    )

    estimator = result.estimator
    if not isinstance(estimator, ALE):
        raise TypeError(f"fail-safe N is defined for ALE results, not {type(estimator).__name__}")
    clusters = _clusters(result, labels, ids)
    fit = estimator._fitted()
    coordinates = fit.coordinates
    space = result.space
    n_voxels = space.n_voxels
    if voxel_thresh is None:
        voxel_thresh = float(result.settings.get("voxel_thresh", 0.001))
    cutoff = (
        int(min_cluster_voxels) if min_cluster_voxels is not None else _size_cutoff(result, alpha)
    )
    k_max = 10 * coordinates.n_experiments if max_null_experiments is None else max_null_experiments
    if k_max < 0:
        raise ValueError(f"max_null_experiments must be non-negative, got {k_max}")

    observed = ale_ma(coordinates, space, fit.kernels, placement=estimator.placement)
    observed = observed[combine_order(coordinates)]
    if k_max:
        extra = _null_experiments(result, k_max, seed)
        kernels = ale_kernels(
            extra,
            space.grid.voxel_size,
            fwhm=estimator.fwhm,
            sample_size=estimator.sample_size,
            voxel_exact=estimator.voxel_exact,
            shape=estimator.kernel,
        )
        added = ale_ma(extra, space, kernels)  # null foci sit on voxel centres
    else:
        added = observed[:0]

    # Bins wide enough for the largest ALE any prefix can reach: zero-mass bins above a
    # prefix's maximum change neither its p-values nor its thresholds.
    row_max = np.zeros(observed.shape[0] + added.shape[0], dtype=np.float32)
    for i, matrix in enumerate((observed, added)):
        filled = np.diff(matrix.indptr) > 0
        offset = 0 if i == 0 else observed.shape[0]
        maxima = np.zeros(matrix.shape[0], dtype=np.float32)
        if filled.any():
            maxima[filled] = np.maximum.reduceat(matrix.data, matrix.indptr[:-1][filled])
        row_max[offset : offset + matrix.shape[0]] = maxima
    bins = ale_histogram_bins(row_max)
    inv_step = 1.0 / ALE_STEP
    n_bins = bins.size

    null: NDArray[np.float64] | None = None
    scratch = np.zeros(n_bins)

    def combine(occupied: NDArray[np.intp], mass: NDArray[np.float64]) -> None:
        nonlocal null, scratch
        if null is None:
            null = np.zeros(n_bins)
            null[occupied] = mass
            return
        running = np.flatnonzero(null > 0)
        _combine_ale(running, null[running], occupied, mass, bins, inv_step, scratch)
        null, scratch = scratch, null

    for occupied, mass in _experiment_histograms(observed, inv_step, n_bins, n_voxels):
        combine(occupied, mass)
    survival = np.bincount(
        observed.indices, weights=np.log1p(-observed.data.astype(np.float64)), minlength=n_voxels
    )

    cluster_of_voxel = clusters.column
    failsafe = np.full(clusters.n, -1, dtype=np.int64)

    def check(k: int) -> None:
        assert null is not None
        threshold = nullhist_to_summarystat(null, bins, voxel_thresh)
        stat = (1.0 - np.exp(survival)).astype(np.float32).astype(np.float64)
        above = np.zeros(space.grid.shape, dtype=bool)
        above[space.mask] = (stat > threshold) & (stat > 0)
        components, _ = ndimage.label(above, structure=_FACES)
        flat = components[space.mask]
        sizes = np.bincount(flat)
        sizes[0] = 0
        big = sizes[flat] >= cutoff
        alive = np.zeros(clusters.n, dtype=bool)
        hit = (cluster_of_voxel >= 0) & big
        alive[np.unique(cluster_of_voxel[hit])] = True
        newly_dead = (~alive) & (failsafe < 0)
        failsafe[newly_dead] = k

    check(0)
    histograms = _experiment_histograms(added, inv_step, n_bins, n_voxels)
    for k in range(1, k_max + 1):
        if np.all(failsafe >= 0):
            break
        row = slice(added.indptr[k - 1], added.indptr[k])
        np.add.at(survival, added.indices[row], np.log1p(-added.data[row].astype(np.float64)))
        combine(*next(histograms))
        check(k)

    censored = failsafe < 0
    table = pd.DataFrame(
        {
            "cluster_id": clusters.ids,
            "cluster": cluster_columns(clusters.ids),
            "size_voxels": clusters.sizes,
            "failsafe_n": pd.array(np.where(censored, 0, failsafe), dtype="Int64"),
            "censored": censored,
            "max_null_experiments": k_max,
            "seed": seed,
        }
    )
    table.loc[censored, "failsafe_n"] = pd.NA
    table.attrs["settings"] = {
        "method": "failsafe_n (Acar et al. 2018), fixed cluster-size cut-off",
        "voxel_thresh": voxel_thresh,
        "min_cluster_voxels": cutoff,
        "alpha": alpha if min_cluster_voxels is None else None,
        "seed": seed,
        "max_null_experiments": k_max,
        "null_mask_voxels": int(space.null_ijk().shape[0]),
    }
    return table
