"""Compiled inner loop of the ALE subtraction's label-permutation null.

A voxel's ALE difference under a relabelling depends only on which of the experiments that
reach it (non-zero MA) land in group 1. Voxels reached by the same experiments (a "set") share
that dependence, so per set the loop

1. encodes every permutation as a bit pattern over the set's k experiments (bit j: its j-th
   experiment is in group 1),
2. lists the distinct patterns that occur and how many permutations gave each (a table of
   2**k slots when that is small, else a sort),
3. evaluates each voxel of the set once per distinct pattern, not once per permutation: the
   group log-survivals a (group 1) and b (group 2) are sums of the voxel's log(1 - MA) over the
   pattern's experiments and the others (:func:`set_sums`); the caller takes
   (1 - exp(a)) - (1 - exp(b)) with numpy, the expression and the exp NiMARE evaluates, so
   values agree with its to the last bits and exact ties stay ties,
4. (:func:`tally_set`) adds the pattern's permutation count to the voxel's upper tail (difference >= observed)
   and lower tail (difference <= observed), and keeps per pattern the largest |difference|
   over the set's voxels, from which each permutation's maximum over the brain follows.

Ties. Comparisons are exact, as NiMARE's, about the float32 observed map. The exp is numpy's
on purpose: a compiled libm exp differs from numpy's (SIMD on AVX-512 machines) in the last bit
for a few percent of arguments, and where ALE is below ~1e-6, 1 - exp(a) is so cancelled that
NiMARE's float64 null can equal its float32 observed value exactly, so a last-bit difference
would break ties NiMARE keeps. The observed pattern can be appended as one more pattern (count
0) so that callers can take the observed difference in the null's own arithmetic.

On NiMARE's pain example 228,483 voxels fall into about 3,000 sets, and a voxel sees at most a
few hundred distinct patterns, so 10,000 permutations cost about as much as a few hundred
dense ones. Sets of more than 62 experiments (possible at hot spots of very large datasets)
cannot be encoded in one word and are evaluated permutation by permutation, the same
arithmetic. Counts are integers and maxima are order-free, so splitting the sets among workers
cannot change a byte of the result.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Sets of more experiments than this are not encoded: each permutation is its own pattern.
MAX_ENCODED = 62


@njit(cache=True, nogil=True)
def encode_set(s, member_ptr, members, labels, table_bits, slot, codes, pattern_of, ucode, ucount):
    """The distinct patterns of set ``s`` over all permutations; returns how many.

    Fills ``ucode``/``ucount`` (pattern, permutations giving it) and ``pattern_of`` (each
    permutation's pattern). ``slot`` (2**table_bits entries) must be -1 on entry and is left
    so. Sets of more than :data:`MAX_ENCODED` experiments get one pattern per permutation.
    """
    n_perm = labels.shape[0]
    m0 = member_ptr[s]
    k = member_ptr[s + 1] - m0
    if k > MAX_ENCODED:
        for p in range(n_perm):
            ucode[p] = p
            ucount[p] = 1
            pattern_of[p] = p
        return n_perm
    for p in range(n_perm):
        code = 0
        for j in range(k):
            if labels[p, members[m0 + j]]:
                code |= 1 << j
        codes[p] = code
    n_u = 0
    if k <= table_bits:
        for p in range(n_perm):
            code = codes[p]
            u = slot[code]
            if u < 0:
                u = n_u
                slot[code] = u
                ucode[u] = code
                ucount[u] = 0
                n_u += 1
            ucount[u] += 1
            pattern_of[p] = u
        for u in range(n_u):
            slot[ucode[u]] = -1
    else:
        order = np.argsort(codes)
        previous = -1
        for i in range(n_perm):
            p = order[i]
            code = codes[p]
            if code != previous:
                ucode[n_u] = code
                ucount[n_u] = 0
                n_u += 1
                previous = code
            ucount[n_u - 1] += 1
            pattern_of[p] = n_u - 1
    return n_u


@njit(cache=True, nogil=True)
def set_sums(
    s,
    first,
    last,
    n_u,
    with_observed,
    member_ptr,
    members,
    voxels,
    col_ptr,
    log_keep,
    labels,
    n_group1,
    ucode,
    a_out,
    b_out,
):
    """Group log-survivals of voxels ``first:last`` (positions in ``voxels``) of set ``s``.

    Row-major (voxel, pattern): entry ``(position - first) * width + u`` with ``width`` =
    ``n_u`` (+1 with ``with_observed``: the last column is the observed grouping). Sums run in
    experiment order from 0.0, NiMARE's order when a group has at most two of the voxel's
    experiments (and within a rounding error otherwise).
    """
    m0 = member_ptr[s]
    k = member_ptr[s + 1] - m0
    width = n_u + 1 if with_observed else n_u
    for position in range(first, last):
        d0 = col_ptr[voxels[position]]
        row = (position - first) * width
        for u in range(width):
            a = 0.0
            b = 0.0
            observed = u == n_u
            code = ucode[u] if not observed else 0
            for j in range(k):
                if observed:
                    in_group1 = members[m0 + j] < n_group1
                elif k > MAX_ENCODED:
                    in_group1 = labels[code, members[m0 + j]] != 0
                else:
                    in_group1 = (code >> j) & 1 == 1
                if in_group1:
                    a += log_keep[d0 + j]
                else:
                    b += log_keep[d0 + j]
            a_out[row + u] = a
            b_out[row + u] = b


@njit(cache=True, nogil=True)
def tally_set(
    first, last, n_u, with_observed, voxels, observed, diff, ucount, umax, base, upper, lower
):
    """Tail counts of voxels ``first:last`` from their pattern differences ``diff``.

    Raises ``umax`` (per pattern, the largest |difference| so far); ``upper``/``lower`` are
    indexed by position minus ``base``. With ``with_observed`` the observed value is each
    voxel's last column, else ``observed[voxel]``.
    """
    width = n_u + 1 if with_observed else n_u
    for position in range(first, last):
        row = (position - first) * width
        target = diff[row + n_u] if with_observed else observed[voxels[position]]
        up = 0
        lo = 0
        for u in range(n_u):
            value = diff[row + u]
            if value >= target:
                up += ucount[u]
            if value <= target:
                lo += ucount[u]
            if abs(value) > umax[u]:
                umax[u] = abs(value)
        upper[position - base] = up
        lower[position - base] = lo


@njit(cache=True, nogil=True)
def raise_maxima(n_u, umax, pattern_of, absmax):
    """Each permutation's maximum |difference| raised to its pattern's maximum over a set."""
    for p in range(pattern_of.shape[0]):
        value = umax[pattern_of[p]]
        if value > absmax[p]:
            absmax[p] = value
