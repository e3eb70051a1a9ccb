"""How firmly each surviving cluster stands: does it survive under another tool's conventions,
and when every focus moves within its reporting precision?

Clusters at the cluster-level FWE cutoff can hinge on single foci: moving one focus by 2 mm
(which is all that separates NiMARE's and pyALE's placement of an odd coordinate) can split or
join a cluster. The pipeline reruns the analysis under each convention (a full fit and Monte
Carlo, since kernels and therefore the null change); the jitter reruns need only the ALE of
the moved foci, because the null of the largest cluster's size does not depend on where the
observed foci are: each is thresholded at the main analysis's cluster-forming value and judged
against its Monte Carlo null. A cluster survives a rerun when a surviving cluster of the rerun covers its peak voxel.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from neuroreview.cbma.clusters import surviving_by_size
from neuroreview.cbma.inputs import CoordinateSet

__all__ = ["jittered", "surviving_by_size", "survives"]


def jittered(coordinates: CoordinateSet, jitter_mm: float, seed: int, draw: int) -> CoordinateSet:
    """The foci each moved by a uniform offset in [-jitter_mm, jitter_mm] along every axis.

    Draw ``draw`` of ``seed`` comes from its own spawned stream, so draws do not depend on how
    many are made or in which order.
    """
    if not jitter_mm > 0:
        raise ValueError(f"jitter must be a positive number of mm, got {jitter_mm!r}")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(draw,)))
    offsets = rng.uniform(-jitter_mm, jitter_mm, size=coordinates.xyz.shape)
    return CoordinateSet(
        coordinates.experiment_ids,
        coordinates.sample_sizes,
        coordinates.xyz + offsets,
        coordinates.experiment_index,
    )


def survives(peaks_ijk: NDArray[np.intp], surviving: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Whether each peak voxel lies in a surviving cluster of a rerun."""
    peaks = np.asarray(peaks_ijk, dtype=np.intp).reshape(-1, 3)
    return surviving[tuple(peaks.T)] if len(peaks) else np.zeros(0, dtype=bool)
