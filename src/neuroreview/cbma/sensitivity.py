"""How firmly each surviving cluster stands: does it survive under another tool's conventions,
and when every focus moves within its reporting precision?

Clusters at the cluster-level FWE cutoff can hinge on single foci: moving one focus by 2 mm
(which is all that separates NiMARE's and pyALE's placement of an odd coordinate) can split or
join a cluster. The pipeline reruns the analysis under each convention (a full fit and Monte
Carlo, since kernels and therefore the null change); the jitter reruns need only the ALE of the moved foci, because
the null of the largest cluster's size does not depend on where the observed foci are: each is
thresholded at the main analysis's cluster-forming value and judged against its Monte Carlo
null. A cluster survives a rerun when a surviving cluster of the rerun covers its peak voxel.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from neuroreview.cbma.inputs import CoordinateSet
from neuroreview.cbma.stats import null_to_p

_FACES = ndimage.generate_binary_structure(3, 1)


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


def surviving_by_size(
    stat: NDArray[np.float64],
    threshold: float,
    mask: NDArray[np.bool_],
    null_sizes: NDArray[np.float64],
    alpha: float,
    percentile: bool = False,
) -> NDArray[np.bool_]:
    """Voxels of the face-connected clusters above ``threshold`` whose size FWE p (against the
    Monte Carlo null of the largest cluster's size) is below ``alpha``; with ``percentile``,
    whose size is above the null's ``1 - alpha`` percentile (pyALE's rule)."""
    above = (stat > threshold) & (stat > 0) & mask
    labels, n = ndimage.label(above, structure=_FACES)
    if n == 0:
        return np.zeros(stat.shape, dtype=bool)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:].astype(np.float64)
    if percentile:
        passed = sizes > np.percentile(np.asarray(null_sizes, dtype=np.float64), 100 * (1 - alpha))
    else:
        passed = null_to_p(sizes, null_sizes) < alpha
    kept = np.concatenate([[False], passed])
    return kept[labels]


def survives(peaks_ijk: NDArray[np.intp], surviving: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Whether each peak voxel lies in a surviving cluster of a rerun."""
    peaks = np.asarray(peaks_ijk, dtype=np.intp).reshape(-1, 3)
    return surviving[tuple(peaks.T)] if len(peaks) else np.zeros(0, dtype=bool)
