"""Analytic null distributions of CBMA summary statistics (NiMARE's "approximate" null).

Under the null, every experiment's modelled activation (MA) map is spatially random: a voxel
draws its MA value from the experiment's own histogram of MA values over the mask, independently
of the other experiments. The summary statistic's null is then the histograms combined
experiment by experiment: products of (1 - MA) for ALE (Eickhoff et al. 2012), sums for MKDA
and KDA. A statistic's uncorrected p is the upper tail of that histogram at the statistic's bin.

Everything here reproduces NiMARE 0.22.1 to the bin, because a p-value read off a histogram is
a step function: two implementations that bin differently disagree by a whole bin's mass, not by
rounding. Hence the details that look arbitrary:

* ALE bins are *centres* ``0, 1e-5, 2e-5, ...`` (``np.round(..., 5)``) up to the largest ALE
  the data can reach (per-experiment maxima rounded *up* to 1e-5, computed in float32 as NiMARE
  computes them, plus one bin). A value belongs to the nearest centre, ties upwards.
* The ALE null is accumulated in the order of sorted experiment ids: the per-step rounding to
  the bin grid makes the result depend (slightly) on the order, and sorted ids make it
  independent of how the input happened to be ordered (NiMARE sorts the same way).
* MKDA's unweighted statistic counts experiments, so its null is exact on the integers; the
  sample-size weighted statistic lives on NiMARE's 100 000-bin grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from neuroreview.cbma.stats import p_to_logp, p_to_z

#: ALE histogram resolution (NiMARE 0.22.1: bins of 1e-5 in ALE units).
ALE_INV_STEP = 100_000
ALE_STEP = 1.0 / ALE_INV_STEP
#: Grid size for the weighted MKDA null (NiMARE's ``n_histogram_bins`` default).
WEIGHTED_MKDA_BINS = 100_000

BINS_KEY = "histogram_bins"
WEIGHTS_KEY = "histweights_corr-none_method-approximate"
MEANS_KEY = "histogram_means"


@dataclass(frozen=True, eq=False)
class HistogramNull:
    """A null distribution as unnormalised weights over equally spaced bin *centres*."""

    bins: NDArray[np.float64]
    weights: NDArray[np.float64]

    def p_values(self, stat: ArrayLike) -> NDArray[np.float64]:
        return nullhist_to_p(stat, self.weights, self.bins)

    def threshold(self, p: float) -> float:
        return nullhist_to_summarystat(self.weights, self.bins, p)

    def distributions(self) -> dict[str, NDArray[np.float64]]:
        """The arrays under NiMARE's names, so saved results can be compared key by key."""
        return {BINS_KEY: self.bins, WEIGHTS_KEY: self.weights}


def _round_half_up(x: NDArray[np.float64]) -> NDArray[np.intp]:
    """Nearest integer, ties away from zero (for x >= 0), as NiMARE looks values up.

    ``floor(x + 0.5)`` is not used: 0.49999999999999994 + 0.5 rounds to 1.0 in float64.
    """
    lower = np.floor(x)
    return (lower + (x - lower >= 0.5)).astype(np.intp)


def nullhist_to_p(
    stat: ArrayLike, weights: NDArray[np.float64], bins: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Upper-tail p of each statistic value: the null mass in its bin and above.

    p is 1 for a statistic of 0 and never below the smallest non-zero tail, so a p of 0 is
    impossible (NiMARE's ``nullhist_to_p``).
    """
    values = np.asarray(stat, dtype=np.float64)
    tail = np.cumsum((weights / weights.sum())[::-1])[::-1]
    tail /= tail.max()
    smallest = tail[tail != 0].min()
    inv_step = 1.0 / (bins[1] - bins[0])
    p = np.ones(values.shape)
    positive = values > 0
    index = np.minimum(_round_half_up(values[positive] * inv_step), bins.size - 1)
    p[positive] = tail[index]
    return np.maximum(smallest, np.minimum(p, 1.0))


def nullhist_to_summarystat(
    weights: NDArray[np.float64], bins: NDArray[np.float64], p: float
) -> float:
    """The statistic value used as the threshold for an uncorrected ``p``.

    The last bin whose tail probability still exceeds ``p``: conservative by at most one
    bin, and exactly NiMARE's ``_nullhist_to_summarystat``.
    """
    mass = np.asarray(weights, dtype=np.float64).ravel()
    if mass.sum() <= 0:
        return float(bins[0])
    tail = np.cumsum(mass[::-1])[::-1]
    tail /= tail[0]
    below = np.flatnonzero(tail <= p)
    if below.size == 0:
        return float(bins[-1])
    return float(bins[max(0, below[0] - 1)])


def summary_maps(stat: NDArray[np.float64], null: HistogramNull) -> dict[str, NDArray[np.float64]]:
    """``stat``, ``p``, ``z`` and ``logp`` maps (NiMARE's names) from the analytic null."""
    p = null.p_values(stat)
    return {"stat": stat, "p": p, "z": p_to_z(p, tail="one"), "logp": p_to_logp(p)}


# --- ALE ---------------------------------------------------------------------------------


def ale_histogram_bins(max_ma: NDArray[np.float32]) -> NDArray[np.float64]:
    """Bin centres from 0 to the largest attainable ALE, one bin of headroom.

    The float32 arithmetic is NiMARE's (its per-experiment maxima are float32); doing it in
    float64 would occasionally add or drop the last bin.
    """
    ceiled = np.ceil(np.asarray(max_ma, dtype=np.float32) * ALE_INV_STEP) / ALE_INV_STEP
    max_ale = 1.0 - np.prod(1.0 - ceiled, axis=0)
    return np.round(np.arange(0, max_ale + 1.5 * ALE_STEP, ALE_STEP), 5)


def _nearest_bins(values: NDArray[np.floating], inv_step: float, n_bins: int) -> NDArray[np.intp]:
    index = _round_half_up(values.astype(np.float64) * inv_step)
    return np.clip(index, 0, n_bins - 1)


@numba.njit(cache=True)
def _combine_ale(ale_bins, ale_mass, exp_bins, exp_mass, centres, inv_step, out):
    """Histogram of 1 - (1 - a)(1 - e) for independent a ~ ale_mass, e ~ exp_mass.

    Compiled: each step pairs every occupied bin of the running null with every occupied bin
    of the experiment (~1e7 pairs), each rounded to its nearest centre.
    """
    out[:] = 0.0
    n_bins = out.shape[0]
    for e in range(exp_bins.shape[0]):
        keep = 1.0 - centres[exp_bins[e]]
        mass = exp_mass[e]
        for a in range(ale_bins.shape[0]):
            scaled = (1.0 - keep * (1.0 - centres[ale_bins[a]])) * inv_step
            lower = np.floor(scaled)
            index = int(lower)
            if scaled - lower >= 0.5:
                index += 1
            if index < 0:
                index = 0
            elif index >= n_bins:
                index = n_bins - 1
            out[index] += mass * ale_mass[a]


def ale_null(ma: sparse.csr_matrix, n_voxels: int) -> HistogramNull:
    """The ALE null from MA rows given in the order they are to be combined (sorted ids).

    Each experiment's histogram counts its non-zero MA values at their nearest bin and puts
    the remaining mask voxels at 0; each is scaled by 1 / n_voxels.
    """
    row_max = np.zeros(ma.shape[0], dtype=np.float32)
    lengths = np.diff(ma.indptr)
    filled = lengths > 0
    if filled.any():
        row_max[filled] = np.maximum.reduceat(ma.data, ma.indptr[:-1][filled])
    bins = ale_histogram_bins(row_max)
    inv_step = 1.0 / (bins[1] - bins[0])
    n_bins = bins.size
    scale = 1.0 / n_voxels
    null: NDArray[np.float64] | None = None
    scratch = np.zeros(n_bins)
    for row in range(ma.shape[0]):
        values = ma.data[ma.indptr[row] : ma.indptr[row + 1]]
        hist = np.bincount(_nearest_bins(values, inv_step, n_bins), minlength=n_bins)
        hist = hist.astype(np.float64)
        hist[0] += n_voxels - values.size
        hist *= scale
        if null is None:
            null = hist
            continue
        occupied = np.flatnonzero(null > 0)
        exp_occupied = np.flatnonzero(hist > 0)
        _combine_ale(
            occupied, null[occupied], exp_occupied, hist[exp_occupied], bins, inv_step, scratch
        )
        null, scratch = scratch, null
    assert null is not None  # CoordinateSet guarantees at least one experiment
    return HistogramNull(bins, null)


# --- KDA ---------------------------------------------------------------------------------


def kda_null(ma: sparse.csr_matrix, n_voxels: int, n_foci: int) -> HistogramNull:
    """The KDA null: per-experiment histograms of sphere counts, convolved.

    KDA's statistic counts overlapping spheres, so bins are the integers 0 .. n_foci + 1
    (NiMARE's range) and the convolution is exact; no mass can pass the top bin because an
    experiment's MA never exceeds its number of foci.
    """
    bins = np.arange(0, n_foci + 1.5, 1.0)
    n_bins = bins.size
    null: NDArray[np.float64] | None = None
    for row in range(ma.shape[0]):
        values = ma.data[ma.indptr[row] : ma.indptr[row + 1]]
        hist = np.bincount(_nearest_bins(values, 1.0, n_bins), minlength=n_bins).astype(float)
        hist[0] += n_voxels - values.size
        hist /= hist.sum()
        null = hist if null is None else np.convolve(null, hist)[:n_bins]
    assert null is not None
    return HistogramNull(bins, null)


# --- MKDA --------------------------------------------------------------------------------


def mkda_null(prop_active: NDArray[np.float64]) -> HistogramNull:
    """The unweighted MKDA null: the number of experiments active at a voxel.

    Each experiment is active with probability equal to the share of the mask its spheres
    cover, independently, so the count is Poisson-binomial; its law is exact by convolution.
    """
    null = np.ones(1)
    for p in prop_active:
        null = np.convolve(null, [1.0 - p, p])
    return HistogramNull(np.arange(prop_active.size + 1, dtype=np.float64), null)


def mkda_weighted_null(
    weights: NDArray[np.float64], prop_active: NDArray[np.float64]
) -> HistogramNull:
    """The null of sum_e w_e * active_e on NiMARE's grid of 100 000 bins.

    Each weight is rounded to a whole number of bins (at least one), so the convolution is a
    shift-and-add per experiment (Wager et al. 2009 weighting; NiMARE 0.22's weighted null).
    """
    step = weights.sum() / (WEIGHTED_MKDA_BINS - 1)
    shifts = np.maximum(np.rint(weights / step).astype(np.int64), 1)
    n_top = max(int(shifts.sum()), int(np.ceil(weights.sum() / step)))
    bins = np.arange(n_top + 1, dtype=np.float64) * step
    null = np.zeros(bins.size)
    null[0] = 1.0
    for shift, p in zip(shifts, prop_active, strict=True):
        moved = null[: bins.size - shift] * p
        null *= 1.0 - p
        null[shift:] += moved
    return HistogramNull(bins, null)
