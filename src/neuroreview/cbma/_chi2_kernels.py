"""Compiled inner loops of the MKDA chi-square Monte Carlo null.

An iteration needs each group's count of active experiments at every mask voxel; the three
chi-square tests (one-way for each group, two-way between them) are then a few operations per
voxel, followed by the largest face-connected cluster above the cluster-forming threshold
(:func:`neuroreview.cbma._mc_kernels._largest_cluster`, shared with the one-group engine).

Counts come from one of two nulls, as in NiMARE 0.22.1's ``MKDAChi2.correct_fwe_montecarlo``:

* label permutation: each experiment's indicator map (the mask columns within r of any of its
  foci) is computed once; an iteration adds the rows of the experiments a permutation assigns
  to group 1 (group 2's counts are the fixed total minus those);
* random foci: every focus moves to a random null voxel and each experiment's sphere union is
  stamped into its group's counts; a per-voxel tag (the experiment's number within the run)
  makes an experiment count once where its spheres overlap, the MKDA maximum over foci.

Counts are exact integers held as float64, and each statistic is computed with NiMARE's
operations in NiMARE's order, so a maximum equals NiMARE's to the last bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neuroreview.cbma._mc_kernels import _largest_cluster

#: Rows of the per-iteration output: (max chi2, largest cluster size, largest cluster mass) of
#: the uniformity (group 1), group 2 and association tests, in that order.
N_OUTPUTS = 9


@njit(cache=True, nogil=True)
def _one_way(count, n, mean, denominator, v):
    """NiMARE's ``one_way`` at one voxel: (c - mean)^2 * n / (mean * (n - mean)), 0 if 0/0."""
    if denominator == 0.0:
        return 0.0
    d = count[v] - mean
    return d**2 * n / denominator


@njit(cache=True, nogil=True)
def _two_way(a, b, n1, n2):
    """NiMARE's ``two_way_counts`` at one voxel; 2.0 where a table margin is empty."""
    total = n1 + n2
    row0 = a + b
    row1 = total - row0
    denominator = row0 * row1 * n1 * n2
    if denominator == 0.0:
        return 2.0
    return total * (a * n2 - b * n1) ** 2 / denominator


@njit(cache=True, nogil=True)
def _mean(count):
    """Mean of integer-valued counts: the sum is exact, so this equals ``np.mean``."""
    total = 0.0
    for v in range(count.shape[0]):
        total += count[v]
    return total / count.shape[0]


@njit(cache=True, nogil=True)
def chi2_tests(
    count1,
    count2,
    n1,
    n2,
    mask_padded,
    threshold,
    clusters,
    label,
    parent,
    size,
    mass,
    strides,
    sidx,
    sval,
    out,
    it,
):
    """Fill ``out[:, it]`` with the maxima of the three tests from the two count maps.

    ``mask_padded`` gives each mask voxel's index in the padded grid ``label`` covers.
    """
    n_vox = count1.shape[0]
    mean1 = _mean(count1)
    mean2 = _mean(count2)
    den1 = mean1 * (n1 - mean1)
    den2 = mean2 * (n2 - mean2)
    for test in range(3):
        best = 0.0
        n_supra = 0
        for v in range(n_vox):
            if test == 0:
                chi = _one_way(count1, n1, mean1, den1, v)
            elif test == 1:
                chi = _one_way(count2, n2, mean2, den2, v)
            else:
                chi = _two_way(count1[v], count2[v], n1, n2)
            best = max(best, abs(chi))
            if clusters and chi > threshold:
                sidx[n_supra] = mask_padded[v]
                sval[n_supra] = chi
                n_supra += 1
        out[3 * test, it] = best
        if clusters:
            out[3 * test + 1, it], out[3 * test + 2, it] = _largest_cluster(
                sidx, sval, n_supra, threshold, label, parent, size, mass, strides
            )
        else:
            out[3 * test + 1, it] = 0.0
            out[3 * test + 2, it] = 0.0


@njit(cache=True, nogil=True)
def run_label_permutations(
    permutations,
    n1,
    indptr,
    indices,
    total,
    mask_padded,
    threshold,
    clusters,
    label,
    strides,
    out,
):
    """One iteration per row of ``permutations`` (experiment orders; the first n1 are group 1).

    ``indptr``/``indices`` are the pooled experiments' indicator rows (CSR over mask voxels);
    ``total`` is the column sums of all of them, so group 2's counts are ``total - count1``.
    """
    n_vox = total.shape[0]
    n2 = permutations.shape[1] - n1
    count1 = np.zeros(n_vox)
    count2 = np.empty(n_vox)
    parent = np.empty(n_vox, dtype=np.int64)
    size = np.empty(n_vox, dtype=np.int64)
    mass = np.empty(n_vox)
    sidx = np.empty(n_vox, dtype=np.int64)
    sval = np.empty(n_vox)
    for it in range(permutations.shape[0]):
        count1[:] = 0.0
        for r in range(n1):
            e = permutations[it, r]
            for x in range(indptr[e], indptr[e + 1]):
                count1[indices[x]] += 1.0
        for v in range(n_vox):
            count2[v] = total[v] - count1[v]
        chi2_tests(
            count1,
            count2,
            float(n1),
            float(n2),
            mask_padded,
            threshold,
            clusters,
            label,
            parent,
            size,
            mass,
            strides,
            sidx,
            sval,
            out,
            it,
        )


@njit(cache=True, nogil=True)
def run_random_foci(
    draws,
    null_padded,
    exp_starts,
    n_exp1,
    offsets,
    lookup,
    mask_padded,
    threshold,
    clusters,
    label,
    strides,
    out,
):
    """One iteration per row of ``draws`` (indices into the null voxels, foci in order).

    ``null_padded`` holds the null voxels' padded-grid indices, ``offsets`` the sphere's
    padded-grid offsets and ``lookup`` each padded voxel's mask column (-1 off the mask).
    Experiments ``0:n_exp1`` form group 1, the rest group 2.
    """
    n_vox = mask_padded.shape[0]
    n_exp = exp_starts.shape[0] - 1
    count = np.zeros((2, n_vox))
    tag = np.full(n_vox, -1, dtype=np.int64)
    parent = np.empty(n_vox, dtype=np.int64)
    size = np.empty(n_vox, dtype=np.int64)
    mass = np.empty(n_vox)
    sidx = np.empty(n_vox, dtype=np.int64)
    sval = np.empty(n_vox)
    for it in range(draws.shape[0]):
        count[:, :] = 0.0
        for e in range(n_exp):
            group = 0 if e < n_exp1 else 1
            stamp = it * n_exp + e
            for f in range(exp_starts[e], exp_starts[e + 1]):
                base = null_padded[draws[it, f]]
                for o in range(offsets.shape[0]):
                    col = lookup[base + offsets[o]]
                    if col >= 0 and tag[col] != stamp:
                        tag[col] = stamp
                        count[group, col] += 1.0
        chi2_tests(
            count[0],
            count[1],
            float(n_exp1),
            float(n_exp - n_exp1),
            mask_padded,
            threshold,
            clusters,
            label,
            parent,
            size,
            mass,
            strides,
            sidx,
            sval,
            out,
            it,
        )
