"""Compiled inner loops of the Monte Carlo null: stamp kernels, find the maximum, label clusters.

The grid is padded by the widest kernel's half-width (so a kernel never needs bounds checks)
and cut into columns of ``TILE`` x ``TILE`` rows that run the full depth of the third axis. Each
column is computed on its own in a small buffer that stays in the CPU cache: every kernel that
reaches the column is stamped into it, the column is scanned for its maximum and its
suprathreshold voxels, and the buffer is reset for the next column. Stamping into one shared
full-volume array instead costs three times more, because kernels placed at random points of a
12 MB volume miss the cache on nearly every row.

A kernel is stored as runs (one contiguous stretch of values per (di, dj) row), so the
innermost loops walk memory in order and vectorise. Per iteration:

1. Foci of one experiment whose kernel boxes overlap are joined into a unit (union-find): ALE
   and MKDA count an experiment once per voxel (its maximum over foci), and only foci of one
   unit can share a voxel. KDA sums every focus, so each focus is its own unit.
2. Each focus is listed under every column its box reaches, unit by unit.
3. Per column, rows of a focus that no other focus of its unit covers are multiplied (ALE keeps
   the product of 1 - MA; ALE = 1 - product) or added (MKDA, KDA) straight into the buffer.
   Rows two foci of a unit share first take their per-voxel maximum in a scratch buffer, which
   is then applied once and cleared (a voxel in two such rows is applied twice; the second
   time applies zero, a no-op).
4. The column's mask voxels are scanned for the maximum and the voxels above the
   cluster-forming threshold, and the buffer is reset.
5. Union-find over the suprathreshold voxels, each joined to its lower neighbour along each
   axis (face connectivity, NiMARE's ``generate_binary_structure(3, 1)``), gives the largest
   cluster's size and mass (sum of statistic - threshold).

For ALE, step 0 bounds the statistic from above and steps 3-4 compute only the rows'
stretches (one depth span per row) where the bound reaches the smaller of the
cluster-forming threshold and a lower bound of the maximum. A column lists those rows, and
each focus walks that list rather than its own kernel rows: on NeuroStore a column has ~20
such rows and a kernel ~280. A focus whose box meets none of them is skipped, and is no
partner of its unit's other members there (it writes no voxel they could share), so most
live foci go straight into the buffer. Where nothing reaches the cut, no voxel can hold the maximum or a
suprathreshold voxel, and every value computed is exact (same operations, same order), so
the output is bit-for-bit the output without pruning. Two bounds, chosen by how deep the
kernels overlap (``montecarlo.PRUNE_COVERAGE``):

* Shallow (few kernels per voxel): each cell of ``CELL``^3 voxels is bounded by the product
  over foci of (1 - the kernel's largest value over the cell), and the maximum is at least
  the largest kernel peak (see :func:`_bound_spans`).
* Deep (e.g. 900 experiments, ~175 kernels per voxel): the box bounds pass nearly everywhere,
  because each kernel's box maximum is several times its value. ALE kernels are Gaussians,
  so separable: kernel[i, j, k] <= a[i] b[j] c[k], and with the envelope sum
  S = sum over foci of a b c, ALE <= 1 - exp(-S / (1 - peak)) (from 1 - m >=
  exp(-m / (1 - m)) and max within an experiment <= sum). S costs a 2-D stamp per focus plus
  one 1-D convolution over the grid (:func:`_stamp_planes`, :func:`_separable_spans`),
  about a tenth of stamping every kernel, and passes ~1% of the mask on NeuroStore. The
  maximum is at least the exact ALE where S peaks (:func:`_ale_at`); that is usually above
  the cluster-forming threshold, so one sweep decides; otherwise a second sweep lowers the
  cut to it. Measured on NeuroStore (9,492 foci, 2 mm grid): 48 -> ~22 ms per iteration
  with spans per block of CELL x CELL rows walked kernel row by kernel row; spans per row
  walked from the column's list: 150M -> 89M instructions per iteration (callgrind).

Everything is float64, so values equal NiMARE's to rounding (NiMARE sums logs of float32
kernel values and stores float32 maps).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: ``combine`` codes, in the order of :class:`neuroreview.cbma.base.Combine`'s members.
ALE, MKDA, KDA = 0, 1, 2

#: Edge (voxels) of the cells whose box bounds decide where a shallow ALE needs exact values
#: (the rows of a CELL x CELL block share one depth span). 2 rather than 4: the spans hug the
#: suprathreshold voxels closer and the box bounds cost about the same.
CELL = 2

#: Rows per column side: 16 x 16 rows of ~110 float64 voxels, plus scratch, fit in L2.
TILE = 16


@njit(cache=True, nogil=True)
def _find(parent, p):
    """Root of p's set, halving the path on the way."""
    while parent[p] != p:
        parent[p] = parent[parent[p]]
        p = parent[p]
    return p


@njit(cache=True, nogil=True)
def _union(parent, p, q):
    """Join the sets of p and q under the smaller root."""
    a = _find(parent, p)
    b = _find(parent, q)
    if a != b:
        parent[max(a, b)] = min(a, b)


@njit(cache=True, nogil=True)
def _largest_cluster(sidx, sval, n_supra, threshold, label, parent, size, mass, strides):
    """Largest size and mass among face-connected clusters of the listed voxels.

    ``label`` (over the padded grid) is -1 everywhere on entry and is restored on exit.
    """
    if n_supra == 0:
        return 0.0, 0.0
    for p in range(n_supra):
        label[sidx[p]] = p
        parent[p] = p
        size[p] = 0
        mass[p] = 0.0
    for p in range(n_supra):
        for axis in range(3):
            q = label[sidx[p] - strides[axis]]
            if q >= 0:
                _union(parent, p, q)
    for p in range(n_supra):
        root = _find(parent, p)
        size[root] += 1
        mass[root] += sval[p] - threshold
    best_size = 0
    best_mass = 0.0
    for p in range(n_supra):
        if parent[p] == p:
            best_size = max(best_size, size[p])
            best_mass = max(best_mass, mass[p])
        label[sidx[p]] = -1
    return float(best_size), best_mass


@njit(cache=True, nogil=True)
def _place_draws(draws, it, null_ijk, ijk):
    """Put iteration ``it``'s foci on their drawn null voxels (``ijk``, one row per focus)."""
    for f in range(draws.shape[1]):
        d = draws[it, f]
        ijk[f, 0] = null_ijk[d, 0]
        ijk[f, 1] = null_ijk[d, 1]
        ijk[f, 2] = null_ijk[d, 2]


@njit(cache=True, nogil=True)
def _iteration_buffers(n_foci, n_mask, label):
    """(unit_of, found): scratch for grouping foci into units and for the clusters, where
    ``found`` is (sidx, sval, label, parent, size, mass) as :func:`_record` takes it (``parent``
    serves both)."""
    parent = np.empty(max(n_foci, n_mask), dtype=np.int64)
    unit_of = np.empty(n_foci, dtype=np.int64)
    sidx = np.empty(n_mask, dtype=np.int64)
    sval = np.empty(n_mask, dtype=np.float64)
    size = np.empty(n_mask, dtype=np.int64)
    mass = np.empty(n_mask, dtype=np.float64)
    return unit_of, (sidx, sval, label, parent, size, mass)


@njit(cache=True, nogil=True)
def _record(it, best, clusters, n_supra, threshold, found, strides, outputs):
    """Write iteration ``it``'s maximum and largest cluster (size, mass) to ``outputs``
    (statistic, size, mass); ``found`` is (sidx, sval, label, parent, size, mass) as
    :func:`_largest_cluster` takes them."""
    sidx, sval, label, parent, size, mass = found
    out_stat, out_size, out_mass = outputs
    out_stat[it] = best
    if clusters:
        out_size[it], out_mass[it] = _largest_cluster(
            sidx, sval, n_supra, threshold, label, parent, size, mass, strides
        )
    else:
        out_size[it] = 0.0
        out_mass[it] = 0.0


@njit(cache=True, nogil=True)
def _form_units(combine, exp_starts, exp_kernel, kernel_reach, ijk, parent, unit_of):
    """Group each experiment's overlapping foci; returns (unit_starts, units).

    ``units`` lists foci unit by unit, in focus order within a unit.
    """
    n_foci = ijk.shape[0]
    for f in range(n_foci):
        parent[f] = f
    if combine != KDA:
        for e in range(exp_starts.shape[0] - 1):
            reach = kernel_reach[exp_kernel[e]]
            for f in range(exp_starts[e], exp_starts[e + 1]):
                for g in range(f + 1, exp_starts[e + 1]):
                    if (
                        abs(ijk[f, 0] - ijk[g, 0]) <= reach[0]
                        and abs(ijk[f, 1] - ijk[g, 1]) <= reach[1]
                        and abs(ijk[f, 2] - ijk[g, 2]) <= reach[2]
                    ):
                        _union(parent, f, g)
    # Roots are their unit's smallest focus, so numbering roots in focus order and placing
    # foci by a stable counting sort keeps each unit's members in focus order.
    n_units = 0
    for f in range(n_foci):
        if parent[f] == f:
            unit_of[f] = n_units
            n_units += 1
        else:
            unit_of[f] = unit_of[_find(parent, f)]
    starts = np.zeros(n_units + 1, dtype=np.int64)
    for f in range(n_foci):
        starts[unit_of[f] + 1] += 1
    for u in range(n_units):
        starts[u + 1] += starts[u]
    fill = starts[:-1].copy()
    units = np.empty(n_foci, dtype=np.int64)
    for f in range(n_foci):
        units[fill[unit_of[f]]] = f
        fill[unit_of[f]] += 1
    return starts, units


@njit(cache=True, nogil=True)
def _column_lists(unit_starts, units, ijk, half_of, n_cols_i, n_cols_j):
    """CSR lists of the foci whose box reaches each column, unit by unit.

    Foci of one unit are consecutive in every list, so a column processes a unit's members
    together; a member whose box misses the column is not listed there.
    """
    n_cols = n_cols_i * n_cols_j
    starts = np.zeros(n_cols + 1, dtype=np.int64)
    for f in range(ijk.shape[0]):
        for ci in range(
            (ijk[f, 0] - half_of[f, 0]) // TILE, (ijk[f, 0] + half_of[f, 0]) // TILE + 1
        ):
            for cj in range(
                (ijk[f, 1] - half_of[f, 1]) // TILE, (ijk[f, 1] + half_of[f, 1]) // TILE + 1
            ):
                starts[ci * n_cols_j + cj + 1] += 1
    for c in range(n_cols):
        starts[c + 1] += starts[c]
    fill = starts[:-1].copy()
    lists = np.empty(starts[n_cols], dtype=np.int64)
    for m in range(units.shape[0]):
        f = units[m]
        for ci in range(
            (ijk[f, 0] - half_of[f, 0]) // TILE, (ijk[f, 0] + half_of[f, 0]) // TILE + 1
        ):
            for cj in range(
                (ijk[f, 1] - half_of[f, 1]) // TILE, (ijk[f, 1] + half_of[f, 1]) // TILE + 1
            ):
                c = ci * n_cols_j + cj
                lists[fill[c]] = f
                fill[c] += 1
    return starts, lists


#: :func:`_apply_rows` operations.
PRODUCT, WEIGHTED_SUM, SUM, MAXIMUM = 0, 1, 2, 3


@njit(cache=True, nogil=True)
def _span(spans, prune, gi, gj, k0, n):
    """The part [lo, hi) of depths [k0, k0 + n) of grid row (gi, gj) that the scan reads.

    All of it, unless pruning: then only the row's depths that may hold the maximum or a
    suprathreshold voxel (``spans``, one [lo, hi) per row).
    """
    if not prune:
        return k0, k0 + n
    return max(k0, spans[0, gi, gj]), min(k0 + n, spans[1, gi, gj])


@njit(cache=True, nogil=True)
def _collect_rows(
    fi,
    fj,
    fk,
    runs,
    half,
    i0,
    i1,
    j0,
    j1,
    depth,
    partner_ij,
    n_partners,
    direct,
    shared,
    n_shared,
):
    """List one focus's kernel rows inside the column [i0, i1) x [j0, j1) (unpruned: a pruned
    pass lists only the rows with depths to compute, :func:`_active_kernel_rows`).

    ``runs`` holds the kernel's (k0, length, first value) per (di, dj) row, row-major, as three
    rows. Each row is clipped to the stretch of its grid row inside the mask's extent (nothing
    outside is ever written, so the scan that reads those stretches also resets everything).
    A row goes to ``direct`` (start in the column buffer, first value, length) unless a
    partner's box (a focus of the same unit whose box meets this one, at ``partner_ij``) covers
    it too; then it goes to ``shared`` from position ``n_shared`` on. Returns the new counts.
    Only voxels of shared rows can be reached by two foci of one experiment, so only those
    need the per-voxel maximum. Walking rows and combining them are separate steps so each
    combining loop is one tight loop per operation: picking the operation per row runs twice
    as slow.
    """
    width_j = 2 * half[1] + 1
    gj0 = max(fj - half[1], j0)
    gj1 = min(fj + half[1] + 1, j1)
    n_direct = 0
    for gi in range(max(fi - half[0], i0), min(fi + half[0] + 1, i1)):
        cell = (gi - fi + half[0]) * width_j - fj + half[1]
        local = (gi - i0) * TILE - j0
        for gj in range(gj0, gj1):
            lo = fk + runs[0, cell + gj]
            hi = lo + runs[1, cell + gj]
            if lo >= hi:
                continue
            n_direct, n_shared = _list_row(
                gi,
                gj,
                half,
                partner_ij,
                n_partners,
                (local + gj) * depth + lo,
                runs[2, cell + gj],
                hi - lo,
                direct,
                shared,
                n_direct,
                n_shared,
            )
    return n_direct, n_shared


@njit(cache=True, nogil=True)
def _list_row(
    gi, gj, half, partner_ij, n_partners, start, first, length, direct, shared, n_direct, n_shared
):
    """Add one kernel row (start in the column buffer, first value, length) to ``shared`` if a
    partner's box covers grid row (gi, gj), else to ``direct``; returns the new counts."""
    for p in range(n_partners):
        if abs(gi - partner_ij[p, 0]) <= half[0] and abs(gj - partner_ij[p, 1]) <= half[1]:
            shared[0, n_shared] = start
            shared[1, n_shared] = first
            shared[2, n_shared] = length
            return n_direct, n_shared + 1
    direct[0, n_direct] = start
    direct[1, n_direct] = first
    direct[2, n_direct] = length
    return n_direct + 1, n_shared


# The combining loops index with unsigned integers: numba checks signed indices for
# wraparound, which keeps LLVM from vectorising them and roughly doubles their cost.


@njit(cache=True, nogil=True)
def _apply_rows(op, target, values, one_minus, rows, r0, r1, weight):
    """Combine kernel rows ``r0:r1`` of ``rows`` into ``target`` (``PRODUCT`` ... ``MAXIMUM``)."""
    starts = rows[0]
    firsts = rows[1]
    lengths = rows[2]
    if op == PRODUCT:
        for r in range(r0, r1):
            a = np.uint64(starts[r])
            s = np.uint64(firsts[r])
            for t in range(np.uint64(lengths[r])):
                target[a + t] *= one_minus[s + t]
    elif op == WEIGHTED_SUM:
        for r in range(r0, r1):
            a = np.uint64(starts[r])
            s = np.uint64(firsts[r])
            for t in range(np.uint64(lengths[r])):
                target[a + t] += weight * values[s + t]
    elif op == SUM:
        for r in range(r0, r1):
            a = np.uint64(starts[r])
            s = np.uint64(firsts[r])
            for t in range(np.uint64(lengths[r])):
                target[a + t] += values[s + t]
    else:
        for r in range(r0, r1):
            a = np.uint64(starts[r])
            s = np.uint64(firsts[r])
            for t in range(np.uint64(lengths[r])):
                target[a + t] = max(target[a + t], values[s + t])


@njit(cache=True, nogil=True)
def _apply_focus(
    op,
    target,
    fi,
    fj,
    fk,
    runs,
    half,
    values,
    one_minus,
    i0,
    i1,
    j0,
    j1,
    depth,
    weight,
):
    """Combine one focus's kernel rows inside the column straight into ``target`` (unpruned).

    For a focus no other focus of its unit can reach here: listing its rows first (as
    :func:`_collect_rows` must, to split them) would cost a third more.
    """
    width_j = 2 * half[1] + 1
    gj0 = max(fj - half[1], j0)
    gj1 = min(fj + half[1] + 1, j1)
    for gi in range(max(fi - half[0], i0), min(fi + half[0] + 1, i1)):
        cell = (gi - fi + half[0]) * width_j - fj + half[1]
        local = (gi - i0) * TILE - j0
        for gj in range(gj0, gj1):
            lo = fk + runs[0, cell + gj]
            n = np.uint64(runs[1, cell + gj])
            if n == 0:
                continue
            a = np.uint64((local + gj) * depth + lo)
            s = np.uint64(runs[2, cell + gj])
            if op == PRODUCT:
                for t in range(n):
                    target[a + t] *= one_minus[s + t]
            elif op == WEIGHTED_SUM:
                for t in range(n):
                    target[a + t] += weight * values[s + t]
            else:
                for t in range(n):
                    target[a + t] += values[s + t]


@njit(cache=True, nogil=True)
def _active_rows(spans, i0, i1, j0, j1, active):
    """List the column's rows that have depths to compute, as (gi, gj, lo, hi) in
    ``active``; returns how many. Pruning passes ~1% of a deep dataset's mask, so a column
    has a few dozen such rows among its 256: walking them, rather than every row of every
    kernel that reaches the column, is what keeps the exact pass cheap."""
    n = 0
    for gi in range(i0, i1):
        for gj in range(j0, j1):
            lo = spans[0, gi, gj]
            hi = spans[1, gi, gj]
            if lo < hi:
                active[0, n] = gi
                active[1, n] = gj
                active[2, n] = lo
                active[3, n] = hi
                n += 1
    return n


@njit(cache=True, nogil=True)
def _reaches_active(fi, fj, fk, half, active, n_active):
    """Whether the focus's box meets the depths of any listed row."""
    for r in range(n_active):
        if (
            abs(active[0, r] - fi) <= half[0]
            and abs(active[1, r] - fj) <= half[1]
            and active[2, r] <= fk + half[2]
            and active[3, r] > fk - half[2]
        ):
            return True
    return False


@njit(cache=True, nogil=True)
def _active_kernel_rows(
    fi,
    fj,
    fk,
    runs,
    half,
    active,
    n_active,
    i0,
    j0,
    depth,
    partner_ij,
    n_partners,
    direct,
    shared,
    n_shared,
):
    """:func:`_collect_rows` over the listed rows only: the focus's kernel rows there, clipped
    to their depths, split into ``direct`` and ``shared`` (from ``n_shared`` on). These are
    the rows and stretches the walk over every kernel row keeps, so the values written are
    the same, bit for bit. Returns the new counts."""
    width_j = 2 * half[1] + 1
    n_direct = 0
    for r in range(n_active):
        gi = active[0, r]
        gj = active[1, r]
        if abs(gi - fi) > half[0] or abs(gj - fj) > half[1]:
            continue
        cell = (gi - fi + half[0]) * width_j + gj - fj + half[1]
        k0 = fk + runs[0, cell]
        lo = max(k0, active[2, r])
        hi = min(k0 + runs[1, cell], active[3, r])
        if lo >= hi:
            continue
        n_direct, n_shared = _list_row(
            gi,
            gj,
            half,
            partner_ij,
            n_partners,
            ((gi - i0) * TILE + gj - j0) * depth + lo,
            runs[2, cell] + lo - k0,
            hi - lo,
            direct,
            shared,
            n_direct,
            n_shared,
        )
    return n_direct, n_shared


@njit(cache=True, nogil=True)
def _drain_rows(combine, target, scratch, rows, n_rows, weight):
    """Apply a unit's per-voxel maximum from ``scratch`` over the listed rows, clearing it."""
    starts = rows[0]
    lengths = rows[2]
    for r in range(n_rows):
        a = np.uint64(starts[r])
        if combine == ALE:
            for t in range(np.uint64(lengths[r])):
                target[a + t] *= 1.0 - scratch[a + t]
                scratch[a + t] = 0.0
        else:
            for t in range(np.uint64(lengths[r])):
                target[a + t] += weight * scratch[a + t]
                scratch[a + t] = 0.0


@njit(cache=True, nogil=True)
def _scan_column(
    combine,
    acc,
    i0,
    i1,
    j0,
    j1,
    k0,
    k1,
    n_pj,
    depth,
    spans,
    prune,
    inmask,
    row_mask_lo,
    row_mask_hi,
    threshold,
    clusters,
    sidx,
    sval,
    n_supra,
):
    """Maximum and suprathreshold voxels of a column's mask voxels; resets the column.

    Kernels wrote only within depths [k0, k1) (and, when pruning, each row's span), so only
    that is read and reset. Returns (maximum, new n_supra); suprathreshold voxels are
    recorded by their index in the padded grid.
    """
    empty = 1.0 if combine == ALE else 0.0
    best = 0.0
    for gi in range(i0, i1):
        for gj in range(j0, j1):
            local = ((gi - i0) * TILE + gj - j0) * depth
            row = gi * n_pj + gj
            w_lo, w_hi = _span(spans, prune, gi, gj, k0, k1 - k0)
            if w_lo >= w_hi:
                continue
            lo = max(row_mask_lo[row], w_lo)
            hi = min(row_mask_hi[row], w_hi)
            if lo < hi:
                a = np.uint64(local + lo)
                g = np.uint64(row * depth + lo)
                n = np.uint64(hi - lo)
                row_best = 0.0
                if combine == ALE:
                    for t in range(n):
                        row_best = max(row_best, (1.0 - acc[a + t]) * inmask[g + t])
                else:
                    for t in range(n):
                        row_best = max(row_best, acc[a + t] * inmask[g + t])
                if clusters and row_best > threshold:
                    for t in range(n):
                        v = (1.0 - acc[a + t]) if combine == ALE else acc[a + t]
                        if inmask[g + t] > 0.0 and v > threshold and v > 0.0:
                            sidx[n_supra] = g + t
                            sval[n_supra] = v
                            n_supra += 1
                best = max(best, row_best)
            a = np.uint64(local + w_lo)
            for t in range(np.uint64(w_hi - w_lo)):
                acc[a + t] = empty
    return best, n_supra


@njit(cache=True, nogil=True)
def _bound_spans(ijk, half_of, kern_of, box_max, cut, bound, spans):
    """Mark, per row, the depths whose cells may reach ``cut`` (ALE): a row takes the span
    of its CELL x CELL block of rows.

    A cell's ALE is at most 1 - prod over foci of (1 - the focus's largest kernel value over
    the cell) (``box_max``); the product over foci rather than over experiments' maxima only
    loosens the bound. Cells below ``cut`` hold neither the maximum (which is at least the
    largest kernel peak) nor a voxel above the cluster-forming threshold, so they are skipped.
    """
    bound[:] = 1.0
    n_ci, n_cj, n_ck = bound.shape
    for f in range(ijk.shape[0]):
        kern = kern_of[f]
        h = half_of[f]
        for ci in range((ijk[f, 0] - h[0]) // CELL, (ijk[f, 0] + h[0]) // CELL + 1):
            a = ci * CELL - ijk[f, 0] + h[0] + CELL - 1
            for cj in range((ijk[f, 1] - h[1]) // CELL, (ijk[f, 1] + h[1]) // CELL + 1):
                b = cj * CELL - ijk[f, 1] + h[1] + CELL - 1
                c0 = (ijk[f, 2] - h[2]) // CELL
                for ck in range(c0, (ijk[f, 2] + h[2]) // CELL + 1):
                    c = ck * CELL - ijk[f, 2] + h[2] + CELL - 1
                    bound[ci, cj, ck] *= 1.0 - box_max[kern, a, b, c]
    n_candidates = 0
    for ci in range(n_ci):
        for cj in range(n_cj):
            lo = n_ck * CELL
            hi = 0
            for ck in range(n_ck):
                if 1.0 - bound[ci, cj, ck] >= cut:
                    lo = min(lo, ck * CELL)
                    hi = ck * CELL + CELL
                    n_candidates += 1
            for gi in range(ci * CELL, min(ci * CELL + CELL, spans.shape[1])):
                for gj in range(cj * CELL, min(cj * CELL + CELL, spans.shape[2])):
                    spans[0, gi, gj] = lo
                    spans[1, gi, gj] = hi
    return n_candidates


@njit(cache=True, nogil=True)
def _stamp_planes(ijk, kern_of, sep_b, sep_c, planes, n_pj, depth, reset):
    """Add each focus's (j, k) factor outer product into its own i-plane of ``planes``.

    ``planes`` (the padded grid, flat) then holds the foci's separable envelopes convolved
    along j and k only; with ``reset`` the same voxels are set back to zero instead.
    """
    hb = sep_b.shape[1] // 2
    hc = sep_c.shape[1] // 2
    for f in range(ijk.shape[0]):
        kern = kern_of[f]
        row0 = ijk[f, 0] * n_pj
        for dj in range(sep_b.shape[1]):
            b = sep_b[kern, dj]
            if b == 0.0:
                continue
            a = np.uint64((row0 + ijk[f, 1] + dj - hb) * depth + ijk[f, 2] - hc)
            if reset:
                for t in range(np.uint64(sep_c.shape[1])):
                    planes[a + t] = 0.0
            else:
                for t in range(np.uint64(sep_c.shape[1])):
                    planes[a + t] += b * sep_c[kern, t]


@njit(cache=True, nogil=True)
def _separable_spans(
    planes, sep_a, s_cut, inmask, row_mask_lo, row_mask_hi, n_pi, n_pj, depth, spans, row
):
    """Finish the envelope sum S along i and mark, per row, the depths where S >= ``s_cut``;
    returns (largest S over mask voxels, its padded-grid index).

    Only mask stretches of rows are computed; a row with none gets an empty span. Spans per
    row rather than per block of rows: on NeuroStore the exact pass then computes 1,800
    voxels an iteration instead of 3,900 (1,270 reach the cut).
    """
    ha = sep_a.shape[0] // 2
    best = -1.0
    best_index = -1
    plane = n_pj * depth
    for gi in range(n_pi):
        for gj in range(n_pj):
            lo = depth
            hi = 0
            r = gi * n_pj + gj
            m_lo = row_mask_lo[r]
            m_hi = row_mask_hi[r]
            if m_lo < m_hi:
                n = np.uint64(m_hi - m_lo)
                for t in range(n):
                    row[t] = 0.0
                for d in range(sep_a.shape[0]):
                    w = sep_a[d]
                    src = np.uint64((gi + d - ha) * plane + gj * depth + m_lo)
                    for t in range(n):
                        row[t] += w * planes[src + t]
                g = np.uint64(r * depth + m_lo)
                for t in range(n):
                    v = row[t]
                    if v >= s_cut:
                        k = m_lo + np.int64(t)
                        lo = min(lo, k)
                        hi = max(hi, k + 1)
                    if v > best and inmask[g + t] > 0.0:
                        best = v
                        best_index = np.int64(g + t)
            spans[0, gi, gj] = lo
            spans[1, gi, gj] = hi
    return best, best_index


@njit(cache=True, nogil=True)
def _ale_at(index, ijk, exp_starts, exp_kernel, kernel_half, runs, values, n_pj, depth):
    """ALE at one padded-grid voxel: 1 - prod over experiments of (1 - their largest MA)."""
    vi = index // (n_pj * depth)
    vj = (index // depth) % n_pj
    vk = index % depth
    keep = 1.0
    for e in range(exp_starts.shape[0] - 1):
        kern = exp_kernel[e]
        h = kernel_half[kern]
        largest = 0.0
        for f in range(exp_starts[e], exp_starts[e + 1]):
            di = vi - ijk[f, 0] + h[0]
            dj = vj - ijk[f, 1] + h[1]
            if di < 0 or di > 2 * h[0] or dj < 0 or dj > 2 * h[1]:
                continue
            cell = di * (2 * h[1] + 1) + dj
            dk = vk - ijk[f, 2] - runs[kern, 0, cell]
            if 0 <= dk < runs[kern, 1, cell]:
                largest = max(largest, values[runs[kern, 2, cell] + dk])
        keep *= 1.0 - largest
    return 1.0 - keep


@njit(cache=True, nogil=True)
def _separable_cut(cut, peak):
    """The envelope sum S at and above which the ALE bound 1 - exp(-S / (1 - peak)) reaches
    ``cut``, less a slack far above the rounding of S."""
    return -np.log1p(-cut) * (1.0 - peak) * (1.0 - 1e-9)


@njit(cache=True, nogil=True)
def run_iterations(
    combine,
    draws,
    null_ijk,
    exp_starts,
    exp_kernel,
    weights,
    kernel_half,
    kernel_reach,
    runs,
    values,
    one_minus,
    padded_shape,
    inmask,
    row_mask_lo,
    row_mask_hi,
    box_max,
    peak,
    prune,
    sep_a,
    sep_b,
    sep_c,
    threshold,
    clusters,
    label,
    out_stat,
    out_size,
    out_mass,
):
    """Run one iteration per row of ``draws`` (indices into the null voxels).

    ``null_ijk`` holds the null voxels in padded-grid coordinates; ``inmask`` is 1.0 on mask
    voxels of the padded grid and 0.0 elsewhere; ``label`` is all -1 on entry and left so.
    With ``prune`` (ALE only), each iteration first bounds the ALE from above and computes
    exact values only where the bound reaches the smaller of the cluster-forming threshold
    and a lower bound of the maximum. With empty ``sep_a`` the bound is per cell of CELL^3
    voxels (``box_max``: each kernel's maximum over every cell-sized box) and the lower bound
    is the largest kernel ``peak`` (the maximum is never below it: every focus lies in the
    mask); otherwise it is the separable envelope ``sep_a`` x ``sep_b`` x ``sep_c`` (see the
    module docstring) and the lower bound is the exact ALE where the envelope sum peaks.
    """
    n_pi, n_pj, depth = padded_shape[0], padded_shape[1], padded_shape[2]
    n_cols_i = (n_pi + TILE - 1) // TILE
    n_cols_j = (n_pj + TILE - 1) // TILE
    strides = np.array([n_pj * depth, depth, 1], dtype=np.int64)
    n_foci = draws.shape[1]
    n_mask = int(inmask.sum())
    ijk = np.empty((n_foci, 3), dtype=np.int64)
    half_of = np.empty((n_foci, 3), dtype=np.int64)
    exp_of = np.empty(n_foci, dtype=np.int64)
    for e in range(exp_starts.shape[0] - 1):
        for f in range(exp_starts[e], exp_starts[e + 1]):
            exp_of[f] = e
            half_of[f] = kernel_half[exp_kernel[e]]
    unit_of, found = _iteration_buffers(n_foci, n_mask, label)
    sidx, sval = found[0], found[1]
    parent = found[3]
    outputs = (out_stat, out_size, out_mass)
    column = TILE * TILE * depth
    acc = np.full(column, 1.0 if combine == ALE else 0.0)
    scratch = np.zeros(column)
    largest_experiment = 1
    for e in range(exp_starts.shape[0] - 1):
        largest_experiment = max(largest_experiment, exp_starts[e + 1] - exp_starts[e])
    direct_rows = np.empty((3, TILE * TILE), dtype=np.int64)
    active = np.empty((4, TILE * TILE), dtype=np.int64)
    shared_rows = np.empty((3, TILE * TILE * largest_experiment), dtype=np.int64)
    partner_ij = np.empty((largest_experiment, 2), dtype=np.int64)
    live = np.empty(largest_experiment, dtype=np.int64)
    direct = PRODUCT if combine == ALE else (WEIGHTED_SUM if combine == MKDA else SUM)
    kern_of = np.empty(n_foci, dtype=np.int64)
    for e in range(exp_starts.shape[0] - 1):
        kern_of[exp_starts[e] : exp_starts[e + 1]] = exp_kernel[e]
    n_blocks = (n_pi + CELL - 1) // CELL, (n_pj + CELL - 1) // CELL
    bound = np.empty((n_blocks[0], n_blocks[1], (depth + CELL - 1) // CELL))
    spans = np.zeros((2, n_pi, n_pj), dtype=np.int64)
    # Rounding in the bound is far below this slack.
    cut = (min(threshold, peak) if clusters else peak) * (1.0 - 1e-9)
    separable = prune and sep_a.shape[0] > 0
    planes = np.zeros(n_pi * n_pj * depth if separable else 0)
    sweep_row = np.empty(depth)
    for it in range(draws.shape[0]):
        _place_draws(draws, it, null_ijk, ijk)
        unit_starts, units = _form_units(
            combine, exp_starts, exp_kernel, kernel_reach, ijk, parent, unit_of
        )
        col_starts, col_foci = _column_lists(unit_starts, units, ijk, half_of, n_cols_i, n_cols_j)
        if separable:
            _stamp_planes(ijk, kern_of, sep_b, sep_c, planes, n_pj, depth, False)
            s_cut = _separable_cut(threshold, peak) if clusters else np.inf
            top, top_index = _separable_spans(
                planes,
                sep_a,
                s_cut,
                inmask,
                row_mask_lo,
                row_mask_hi,
                n_pi,
                n_pj,
                depth,
                spans,
                sweep_row,
            )
            # The maximum is at least the ALE at any voxel, e.g. where the bound peaks.
            floor = 0.0
            if top_index >= 0:
                floor = _ale_at(
                    top_index, ijk, exp_starts, exp_kernel, kernel_half, runs, values, n_pj, depth
                ) * (1.0 - 1e-9)
            if not clusters or floor < threshold:
                _separable_spans(
                    planes,
                    sep_a,
                    _separable_cut(floor, peak),
                    inmask,
                    row_mask_lo,
                    row_mask_hi,
                    n_pi,
                    n_pj,
                    depth,
                    spans,
                    sweep_row,
                )
            _stamp_planes(ijk, kern_of, sep_b, sep_c, planes, n_pj, depth, True)
        elif prune:
            _bound_spans(ijk, half_of, kern_of, box_max, cut, bound, spans)
        best = 0.0
        n_supra = 0
        for ci in range(n_cols_i):
            for cj in range(n_cols_j):
                c = ci * n_cols_j + cj
                if col_starts[c] == col_starts[c + 1]:
                    continue
                i0 = ci * TILE
                i1 = min(i0 + TILE, n_pi)
                j0 = cj * TILE
                j1 = min(j0 + TILE, n_pj)
                n_active = _active_rows(spans, i0, i1, j0, j1, active) if prune else 0
                if prune and n_active == 0:
                    continue
                # The depths the column's kernels reach: only they need reading and resetting.
                k0 = depth
                k1 = 0
                for x in range(col_starts[c], col_starts[c + 1]):
                    f = col_foci[x]
                    k0 = min(k0, ijk[f, 2] - half_of[f, 2])
                    k1 = max(k1, ijk[f, 2] + half_of[f, 2] + 1)
                x0 = col_starts[c]
                while x0 < col_starts[c + 1]:
                    # The unit's members listed in this column: col_foci[x0:x1].
                    unit = unit_of[col_foci[x0]]
                    x1 = x0 + 1
                    while x1 < col_starts[c + 1] and unit_of[col_foci[x1]] == unit:
                        x1 += 1
                    e = exp_of[col_foci[x0]]
                    kern = exp_kernel[e]
                    half = kernel_half[kern]
                    reach = kernel_reach[kern]
                    # The members with anything here to compute. One that is pruned writes
                    # no voxel, so it cannot share one: it is nobody's partner (in a deep
                    # dataset most members are pruned, and most live ones then go direct).
                    n_live = 0
                    for x in range(x0, x1):
                        f = col_foci[x]
                        if prune and not _reaches_active(
                            ijk[f, 0], ijk[f, 1], ijk[f, 2], half, active, n_active
                        ):
                            continue
                        live[n_live] = f
                        n_live += 1
                    n_shared = 0
                    for x in range(n_live):
                        f = live[x]
                        n_partners = 0
                        for y in range(n_live):
                            g = live[y]
                            if (
                                g != f
                                and abs(ijk[f, 0] - ijk[g, 0]) <= reach[0]
                                and abs(ijk[f, 1] - ijk[g, 1]) <= reach[1]
                                and abs(ijk[f, 2] - ijk[g, 2]) <= reach[2]
                            ):
                                partner_ij[n_partners, 0] = ijk[g, 0]
                                partner_ij[n_partners, 1] = ijk[g, 1]
                                n_partners += 1
                        if prune:
                            first_shared = n_shared
                            n_direct, n_shared = _active_kernel_rows(
                                ijk[f, 0],
                                ijk[f, 1],
                                ijk[f, 2],
                                runs[kern],
                                half,
                                active,
                                n_active,
                                i0,
                                j0,
                                depth,
                                partner_ij,
                                n_partners,
                                direct_rows,
                                shared_rows,
                                n_shared,
                            )
                        elif n_partners == 0:
                            _apply_focus(
                                direct,
                                acc,
                                ijk[f, 0],
                                ijk[f, 1],
                                ijk[f, 2],
                                runs[kern],
                                half,
                                values,
                                one_minus,
                                i0,
                                i1,
                                j0,
                                j1,
                                depth,
                                weights[e],
                            )
                            continue
                        else:
                            first_shared = n_shared
                            n_direct, n_shared = _collect_rows(
                                ijk[f, 0],
                                ijk[f, 1],
                                ijk[f, 2],
                                runs[kern],
                                half,
                                i0,
                                i1,
                                j0,
                                j1,
                                depth,
                                partner_ij,
                                n_partners,
                                direct_rows,
                                shared_rows,
                                n_shared,
                            )
                        _apply_rows(
                            direct, acc, values, one_minus, direct_rows, 0, n_direct, weights[e]
                        )
                        _apply_rows(
                            MAXIMUM,
                            scratch,
                            values,
                            one_minus,
                            shared_rows,
                            first_shared,
                            n_shared,
                            0.0,
                        )
                    # A voxel in rows of two foci is drained twice; the second time applies
                    # zero, which leaves the buffer bit-for-bit unchanged.
                    _drain_rows(combine, acc, scratch, shared_rows, n_shared, weights[e])
                    x0 = x1
                column_best, n_supra = _scan_column(
                    combine,
                    acc,
                    i0,
                    i1,
                    j0,
                    j1,
                    k0,
                    k1,
                    n_pj,
                    depth,
                    spans,
                    prune,
                    inmask,
                    row_mask_lo,
                    row_mask_hi,
                    threshold,
                    clusters,
                    sidx,
                    sval,
                    n_supra,
                )
                best = max(best, column_best)
        _record(it, best, clusters, n_supra, threshold, found, strides, outputs)
