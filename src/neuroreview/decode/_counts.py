"""Per-voxel counts of active experiments for many groups of experiments in one pass.

MKDA counts an experiment once at a voxel if any of its foci lies within r mm (Wager et al.
2007). NiMARE, and :class:`~neuroreview.cbma.mkda.MKDAChi2`, build a sparse map per experiment
and sum them per set; for the 50 Neurosynth topics over 14,371 studies that would hold about
10^8 map entries per comparison and redo the work 50 times. Here every experiment's sphere union
is painted once into a list of voxels, and that list is added to the count row of each group the
experiment belongs to and to a total row. Memory is the count matrix (groups + 1 rows of int32
over the mask) plus two mask-sized scratch arrays.

Spheres are placed as in :func:`neuroreview.cbma.ma.sphere_ma`: centred on the voxel nearest the
focus, clipped to the grid and then to the mask, foci outside the mask kept.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from neuroreview.cbma.base import AnalysisSpace
from neuroreview.cbma.inputs import CoordinateSet
from neuroreview.cbma.kernels import sphere_offsets
from neuroreview.cbma.ma import focus_voxels, sphere_union


@numba.njit(cache=True, nogil=True)
def _count_kernel(
    ijk, starts, offsets, shape, lookup, member_indptr, member_groups, n_groups, n_voxels
):
    """Counts (n_groups + 1, n_voxels) int32; the last row counts every experiment.

    ``stamp[col]`` holds the last experiment that marked voxel ``col``, so a voxel reached by
    several foci of one experiment is listed once without clearing anything between
    experiments.
    """
    counts = np.zeros((n_groups + 1, n_voxels), dtype=np.int32)
    stamp = np.full(n_voxels, -1, dtype=np.int64)
    touched = np.empty(n_voxels, dtype=np.int64)
    n_experiments = starts.shape[0] - 1
    for e in range(n_experiments):
        n_touched = sphere_union(
            ijk, starts[e], starts[e + 1], offsets, shape, lookup, stamp, e, touched
        )
        for m in range(member_indptr[e], member_indptr[e + 1]):
            row = counts[member_groups[m]]
            for t in range(n_touched):
                row[touched[t]] += 1
        total = counts[n_groups]
        for t in range(n_touched):
            total[touched[t]] += 1
    return counts


def active_counts(
    coordinates: CoordinateSet,
    membership: sparse.spmatrix | NDArray[np.bool_],
    space: AnalysisSpace,
    r: float = 10.0,
) -> NDArray[np.int32]:
    """Number of experiments active at each mask voxel, per group and over all experiments.

    ``membership`` is (n_experiments, n_groups), true where the experiment is in the group
    (experiments may be in several groups or none). Returns (n_groups + 1, n_voxels) int32: row
    g counts group g's experiments, the last row all experiments. Row g equals the column sums
    of ``sphere_ma`` over group g's experiments.
    """
    member = sparse.csr_matrix(membership, dtype=bool)
    member.eliminate_zeros()
    member.sort_indices()
    if member.shape[0] != coordinates.n_experiments:
        raise ValueError(
            f"membership has {member.shape[0]} rows for {coordinates.n_experiments} experiments"
        )
    return _count_kernel(
        focus_voxels(coordinates, space).astype(np.int64),
        np.asarray(coordinates.experiment_starts, dtype=np.int64),
        sphere_offsets(r, space.grid.voxel_size).astype(np.int64),
        np.array(space.grid.shape, dtype=np.int64),
        space.column_lookup(),
        member.indptr.astype(np.int64),
        member.indices.astype(np.int64),
        member.shape[1],
        space.n_voxels,
    )
