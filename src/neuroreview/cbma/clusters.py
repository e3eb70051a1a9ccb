"""Cluster tables: each cluster of a thresholded map with its size, peak and sub-peaks.

The table is the one readers of a meta-analysis look for, and it follows nilearn's
``get_clusters_table`` (which NiMARE's reports use) so numbers can be checked against it:
clusters are face-connected (6-neighbour) groups of voxels strictly above the threshold; a peak is
a local maximum over the 26 neighbours within its cluster; sub-peaks are the next-highest local
maxima lying more than ``min_distance_mm`` (8 mm) from every peak already listed for the cluster,
at most three per cluster, with ids "1a", "1b", ... Three things differ from nilearn, on purpose:

* Clusters are numbered by descending size (ties: higher peak, then position), not by peak
  height. CBMA results are reported after cluster-size FWE inference, where a larger cluster has a
  smaller p, so cluster 1 is the most significant one; GingerALE numbers its clusters the same way.
* Sub-peaks keep their distance from *every* higher listed peak. nilearn compares each candidate
  with the last retained peak only, so it can list a sub-peak within 8 mm of the main peak.
* A run of equal values (a plateau, common in maps derived from histogram nulls) counts as one
  local maximum only if nothing next to it is higher; it is reported at its voxel nearest to its
  centre. nilearn would report the plateau's rim, a voxel next to a higher one, as a peak.

Where a map is flat because of how it was made (z from a histogram null is one value over
several voxels near a peak), a second map can order the tied voxels: result tables break z ties
with the summary statistic, so the peak is the voxel of highest ALE, as GingerALE reports it.
Sizes in mm3 are rounded to whole mm3 (exact on the 2 mm grid). Voxel labelling and maxima use
``scipy.ndimage``; nilearn stays a test-time reference.
"""

from __future__ import annotations

from collections.abc import Callable
from string import ascii_lowercase
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage, special

from neuroreview.cbma.stats import null_to_p, p_to_z
from neuroreview.space import MNI152_2MM, Grid

if TYPE_CHECKING:
    from neuroreview.cbma.results import CBMAResult

__all__ = [
    "CLUSTER_FWE_MAP",
    "COLUMNS",
    "Labeler",
    "cluster_id_volume",
    "cluster_table",
    "clusters_at_voxel_threshold",
    "clusters_for_correction",
    "suprathreshold_voxels",
    "surviving_voxels",
]

#: NiMARE's name for the z map of cluster-size FWE-corrected p-values.
CLUSTER_FWE_MAP = "z_desc-size_level-cluster_corr-FWE_method-montecarlo"

#: Columns of every cluster table, in order. ``size_voxels`` and ``size_mm3`` are empty on
#: sub-peak rows, as in nilearn's table, so summing them counts each cluster once.
COLUMNS = (
    "cluster_id",
    "peak_id",
    "subpeak",
    "x",
    "y",
    "z",
    "peak_stat",
    "size_voxels",
    "size_mm3",
    "label",
)

#: Names a peak from its MNI coordinates (mm); the Regions work plugs an atlas in here.
Labeler = Callable[[tuple[float, float, float]], str]

_FACES = ndimage.generate_binary_structure(3, 1)
_CUBE = np.ones((3, 3, 3), dtype=bool)


def cluster_table(
    source: CBMAResult | ArrayLike,
    stat_map: str | None = None,
    *,
    threshold: float | None = None,
    within: ArrayLike | None = None,
    tiebreak_map: str | None = None,
    grid: Grid | None = None,
    min_distance_mm: float = 8.0,
    n_subpeaks: int = 3,
    min_cluster_voxels: int = 0,
    labeler: Labeler | None = None,
) -> pd.DataFrame:
    """Clusters of ``stat_map`` (a map of a result, "z" by default) or of a 3-D volume.

    Voxels form clusters where the value is strictly above ``threshold`` and, if given, the
    boolean volume ``within`` is set: pass ``within`` alone to tabulate, say, the z map over the
    voxels a corrected map lets through. A result brings its own grid and mask; a bare volume is
    on ``grid`` (MNI152 2 mm by default). ``tiebreak_map`` (results only) orders voxels whose
    values are equal: z maps from histogram nulls are flat over neighbouring voxels, and the
    summary statistic ("stat") they came from still says which voxel is highest. Clusters smaller
    than ``min_cluster_voxels`` are left out. ``labeler`` fills the ``label`` column of every row
    from the row's x, y, z.
    """
    values, mask, grid = _resolve(source, stat_map, grid)
    tiebreak = _tiebreak(source, tiebreak_map)
    table, _ = _tabulate(
        values,
        _included(values, mask, threshold, within),
        grid,
        tiebreak=tiebreak,
        min_distance_mm=min_distance_mm,
        n_subpeaks=n_subpeaks,
        min_cluster_voxels=min_cluster_voxels,
        labeler=labeler,
    )
    return table


def clusters_for_correction(
    result: CBMAResult,
    corrected: str = CLUSTER_FWE_MAP,
    alpha: float = 0.05,
    *,
    stat_map: str = "z",
    min_distance_mm: float = 8.0,
    n_subpeaks: int = 3,
    labeler: Labeler | None = None,
) -> pd.DataFrame:
    """The clusters whose voxels survive ``corrected`` at p < ``alpha``, peaks from ``stat_map``.

    ``corrected`` is a z map of corrected p-values (NiMARE's ``z_..._corr-FWE_...`` maps); a voxel
    survives where its z exceeds the z of ``alpha``: p < alpha, computed through the same p-to-z
    conversion the map was made with, so a p of exactly ``alpha`` does not pass. Peaks and
    sub-peaks are located on the uncorrected z map, as NiMARE's diagnostics do: the cluster-level
    map is constant over a cluster (one p per cluster) and so has no peaks, and z, unlike the
    summary statistic, reads the same for ALE, MKDA and KDA. Equal z values are ordered by the
    summary statistic. Two columns are added: ``stat``, the summary statistic (ALE, density, ...)
    at each row's voxel, which GingerALE-style tables report beside z, and ``p_corrected``, the
    corrected p there (the cluster's p for cluster-level maps).
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie between 0 and 1, got {alpha}")
    if not corrected.startswith("z"):
        raise ValueError(f"{corrected!r} is not a z map; give the z map of corrected p-values")
    corrected_volume = result.volume(corrected)
    table, ijk = _result_table(
        result,
        corrected_volume > p_to_z(alpha),
        stat_map,
        min_distance_mm=min_distance_mm,
        n_subpeaks=n_subpeaks,
        labeler=labeler,
    )
    p_corrected = special.ndtr(-corrected_volume[tuple(ijk.T)])
    table.insert(table.columns.get_loc("size_voxels"), "p_corrected", p_corrected)
    return table


def clusters_at_voxel_threshold(
    result: CBMAResult,
    voxel_thresh: float = 0.001,
    *,
    stat_map: str = "z",
    min_distance_mm: float = 8.0,
    n_subpeaks: int = 3,
    labeler: Labeler | None = None,
) -> pd.DataFrame:
    """Clusters at the uncorrected cluster-forming threshold, before any FWE correction.

    Voxels are included exactly as the Monte Carlo cluster inference forms its clusters: where
    the summary statistic exceeds the value whose analytic p is ``voxel_thresh``. So this table
    lists the very clusters the cluster-level correction would test; peaks and the ``stat``
    column are as in :func:`clusters_for_correction`.
    """
    if not 0.0 < voxel_thresh < 1.0:
        raise ValueError(f"voxel_thresh must lie between 0 and 1, got {voxel_thresh}")
    cutoff = result.estimator.p_to_summarystat(voxel_thresh)
    table, _ = _result_table(
        result,
        result.volume("stat") > cutoff,
        stat_map,
        min_distance_mm=min_distance_mm,
        n_subpeaks=n_subpeaks,
        labeler=labeler,
    )
    return table


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


def clusters_above_percentile(
    result: CBMAResult,
    null_sizes: ArrayLike,
    alpha: float = 0.05,
    voxel_thresh: float = 0.001,
    *,
    corrected: str = CLUSTER_FWE_MAP,
    stat_map: str = "z",
    min_distance_mm: float = 8.0,
    n_subpeaks: int = 3,
    labeler: Labeler | None = None,
) -> tuple[pd.DataFrame, NDArray[np.bool_]]:
    """pyALE's cluster-level rule: the clusters at the cluster-forming threshold whose size is
    above the ``1 - alpha`` percentile of the null's largest cluster sizes (``np.percentile``,
    linear interpolation; ``analysis/main_effect.py`` and ``compute_cluster``).

    Returns the table (``p_corrected`` still the share-of-null p of ``corrected``, which can
    differ from the percentile rule by one null value) and the voxels it lists.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie between 0 and 1, got {alpha}")
    included = surviving_by_size(
        result.volume("stat"),
        result.estimator.p_to_summarystat(voxel_thresh),
        result.space.mask,
        np.asarray(null_sizes, dtype=np.float64),
        alpha,
        percentile=True,
    )
    table, ijk = _result_table(
        result,
        included,
        stat_map,
        min_distance_mm=min_distance_mm,
        n_subpeaks=n_subpeaks,
        labeler=labeler,
    )
    p_corrected = special.ndtr(-result.volume(corrected)[tuple(ijk.T)])
    table.insert(table.columns.get_loc("size_voxels"), "p_corrected", p_corrected)
    return table, included


def median_centres(
    table: pd.DataFrame, cluster_ids: NDArray[np.integer], grid: Grid = MNI152_2MM
) -> NDArray[np.float64]:
    """Per main row of ``table``, the per-axis median of its cluster's voxel coordinates (mm),
    truncated toward zero as pyALE prints its "Center" (``utils/contribution.py``); NaN on
    sub-peak rows."""
    centres = np.full((len(table), 3), np.nan)
    for row, (cluster_id, subpeak) in enumerate(
        zip(table["cluster_id"], table["subpeak"], strict=True)
    ):
        if subpeak:
            continue
        voxels = np.argwhere(cluster_ids == int(cluster_id))
        centres[row] = np.trunc(np.median(grid.voxel_to_world(voxels), axis=0))
    return centres


def surviving_voxels(
    result: CBMAResult, corrected: str = CLUSTER_FWE_MAP, alpha: float = 0.05
) -> NDArray[np.bool_]:
    """The voxels :func:`clusters_for_correction` tabulates: corrected p < ``alpha``."""
    return (result.volume(corrected) > p_to_z(alpha)) & result.space.mask


def suprathreshold_voxels(result: CBMAResult, voxel_thresh: float = 0.001) -> NDArray[np.bool_]:
    """The voxels :func:`clusters_at_voxel_threshold` tabulates (the cluster-forming set)."""
    cutoff = result.estimator.p_to_summarystat(voxel_thresh)
    return (result.volume("stat") > cutoff) & result.space.mask


def cluster_id_volume(
    table: pd.DataFrame, included: NDArray[np.bool_], grid: Grid = MNI152_2MM
) -> NDArray[np.int16]:
    """Each tabulated cluster's voxels carrying its ``cluster_id`` (0 elsewhere).

    The image GingerALE writes beside its table, so a reader (or the region synthesis) can
    see exactly which voxels "cluster 3" is. A cluster is found through its main peak's voxel.
    """
    labels, _ = ndimage.label(included, structure=_FACES)
    volume = np.zeros(labels.shape, dtype=np.int16)
    for row in table[~table["subpeak"]].itertuples():
        i, j, k = grid.world_to_voxel([row.x, row.y, row.z])
        component = labels[i, j, k]
        if component == 0:
            raise ValueError(f"cluster {row.cluster_id}'s peak is not in the voxels given")
        volume[labels == component] = row.cluster_id
    return volume


# --- internals ---------------------------------------------------------------------------------


def _resolve(
    source: CBMAResult | ArrayLike, stat_map: str | None, grid: Grid | None
) -> tuple[NDArray[np.float64], NDArray[np.bool_], Grid]:
    """The values as a 3-D volume, the voxels that may count, and the grid they lie on."""
    from neuroreview.cbma.results import CBMAResult

    if isinstance(source, CBMAResult):
        space = source.space
        if grid is not None and grid != space.grid:
            raise ValueError("grid differs from the result's own grid; leave it out")
        return source.volume(stat_map or "z"), space.mask, space.grid
    if stat_map is not None:
        raise ValueError("stat_map names a map of a result; a volume is tabulated as it is")
    grid = grid or MNI152_2MM
    values = np.asarray(source, dtype=np.float64)
    if values.shape != grid.shape:
        raise ValueError(f"volume has shape {values.shape}, the grid {grid.shape}")
    return values, np.ones(grid.shape, dtype=bool), grid


def _tiebreak(source: CBMAResult | ArrayLike, tiebreak_map: str | None) -> NDArray | None:
    from neuroreview.cbma.results import CBMAResult

    if tiebreak_map is None:
        return None
    if not isinstance(source, CBMAResult):
        raise ValueError("tiebreak_map names a map of a result; a volume has none")
    return source.volume(tiebreak_map)


def _result_table(
    result: CBMAResult,
    within: NDArray[np.bool_],
    stat_map: str,
    **options,
) -> tuple[pd.DataFrame, NDArray[np.intp]]:
    """A result's table over ``within``, ties broken by and a column added for "stat"."""
    values, mask, grid = _resolve(result, stat_map, None)
    stat = result.volume("stat")
    table, ijk = _tabulate(
        values,
        _included(values, mask, None, within),
        grid,
        tiebreak=None if stat_map == "stat" else stat,
        min_cluster_voxels=0,
        **options,
    )
    if stat_map != "stat":
        table.insert(table.columns.get_loc("peak_stat") + 1, "stat", stat[tuple(ijk.T)])
    return table, ijk


def _included(
    values: NDArray[np.float64],
    mask: NDArray[np.bool_],
    threshold: float | None,
    within: ArrayLike | None,
) -> NDArray[np.bool_]:
    if threshold is None and within is None:
        raise ValueError("give a threshold, a `within` volume, or both")
    included = mask & np.isfinite(values)
    if threshold is not None:
        included &= values > threshold
    if within is not None:
        chosen = np.asarray(within)
        if chosen.shape != values.shape or chosen.dtype != np.bool_:
            raise ValueError(f"`within` must be a boolean volume of shape {values.shape}")
        included &= chosen
    return included


def _tabulate(
    values: NDArray[np.float64],
    included: NDArray[np.bool_],
    grid: Grid,
    *,
    tiebreak: NDArray[np.float64] | None,
    min_distance_mm: float,
    n_subpeaks: int,
    min_cluster_voxels: int,
    labeler: Labeler | None,
) -> tuple[pd.DataFrame, NDArray[np.intp]]:
    """The table, and the voxel (i, j, k) of each of its rows for callers adding columns."""
    if not min_distance_mm > 0:
        raise ValueError(f"min_distance_mm must be positive, got {min_distance_mm}")
    if not 0 <= n_subpeaks <= len(ascii_lowercase):
        raise ValueError(f"n_subpeaks must lie between 0 and 26, got {n_subpeaks}")
    labels, n_clusters = ndimage.label(included, structure=_FACES)
    sizes = np.bincount(labels.ravel(), minlength=n_clusters + 1)[1:]
    boxes = ndimage.find_objects(labels)
    voxel_mm3 = abs(float(np.linalg.det(grid.affine[:3, :3])))
    height = values if tiebreak is None else _lexicographic_rank(values, tiebreak, included)

    clusters = []
    for index, box in enumerate(boxes):
        if sizes[index] < min_cluster_voxels:
            continue
        ijk = _cluster_peaks(height, labels, index + 1, box)
        ijk = ijk[_keep_apart(ijk, grid, min_distance_mm, 1 + n_subpeaks)]
        clusters.append((int(sizes[index]), ijk, values[tuple(ijk.T)]))
    clusters.sort(key=lambda c: (-c[0], -c[2][0], tuple(c[1][0])))

    rows = []
    row_ijk = []
    for number, (size, ijk, peak_values) in enumerate(clusters, start=1):
        xyz = grid.voxel_to_world(ijk)
        for rank, (point, value) in enumerate(zip(xyz, peak_values, strict=True)):
            x, y, z = (float(c) for c in point)
            rows.append(
                {
                    "cluster_id": number,
                    "peak_id": f"{number}{ascii_lowercase[rank - 1]}" if rank else str(number),
                    "subpeak": rank > 0,
                    "x": x,
                    "y": y,
                    "z": z,
                    "peak_stat": float(value),
                    "size_voxels": None if rank else size,
                    "size_mm3": None if rank else round(size * voxel_mm3),
                    "label": labeler((x, y, z)) if labeler else "",
                }
            )
        row_ijk.append(ijk)
    table = pd.DataFrame(rows, columns=list(COLUMNS)).astype(
        {
            "cluster_id": "int64",
            "peak_id": "str",
            "subpeak": "bool",
            "x": "float64",
            "y": "float64",
            "z": "float64",
            "peak_stat": "float64",
            "size_voxels": "Int64",
            "size_mm3": "Int64",
            "label": "str",
        }
    )
    all_ijk = np.vstack(row_ijk) if row_ijk else np.empty((0, 3), dtype=np.intp)
    return table, all_ijk


def _lexicographic_rank(
    values: NDArray[np.float64], tiebreak: NDArray[np.float64], included: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """A volume ordering the included voxels by value, then by ``tiebreak``; -inf elsewhere.

    Equal (value, tiebreak) pairs get equal ranks, so true ties remain plateaus.
    """
    where = np.flatnonzero(included)
    pairs = np.stack([values.flat[where], tiebreak.flat[where]])
    order = np.lexsort(pairs[::-1])
    changes = np.any(np.diff(pairs[:, order], axis=1) != 0, axis=0)
    rank = np.empty(where.size)
    rank[order] = np.concatenate([[0], np.cumsum(changes)])
    height = np.full(values.shape, -np.inf)
    height.flat[where] = rank
    return height


def _cluster_peaks(
    height: NDArray[np.float64], labels: NDArray[np.int32], label: int, box: tuple[slice, ...]
) -> NDArray[np.intp]:
    """Voxels (i, j, k) of the local maxima of one cluster, highest first (ties in C order).

    Works in the cluster's bounding box padded by one voxel, with everything outside the cluster
    at -inf, so neighbouring clusters and the volume's edge never affect which voxels are maxima.
    """
    inside = np.pad(labels[box] == label, 1)
    local = np.pad(np.where(labels[box] == label, height[box], -np.inf), 1, constant_values=-np.inf)

    # A voxel no lower than any neighbour is a candidate; candidates that touch each other are
    # equal, so each connected group is one flat top. The top is a true maximum unless one of its
    # voxels touches an equal voxel that does have a higher neighbour (a plateau's rim).
    highest_around = ndimage.maximum_filter(local, footprint=_CUBE, mode="constant", cval=-np.inf)
    candidate = inside & (local == highest_around)
    others = np.where(inside & ~candidate, local, -np.inf)
    highest_other = ndimage.maximum_filter(others, footprint=_CUBE, mode="constant", cval=-np.inf)
    rim = candidate & (highest_other == local)
    tops, _ = ndimage.label(candidate, structure=_CUBE)
    false_tops = set(np.unique(tops[rim]).tolist())

    ijk = []
    for top, where in enumerate(ndimage.find_objects(tops), start=1):
        if top in false_tops:
            continue
        voxels = np.argwhere(tops[where] == top) + [s.start for s in where]
        centre = voxels.mean(axis=0)
        ijk.append(voxels[np.argmin(((voxels - centre) ** 2).sum(axis=1))])
    points = np.array(ijk, dtype=np.intp)
    peak_values = local[tuple(points.T)]
    order = np.lexsort((points[:, 2], points[:, 1], points[:, 0], -peak_values))
    return points[order] - 1 + [s.start for s in box]


def _keep_apart(ijk: NDArray[np.intp], grid: Grid, min_distance_mm: float, limit: int) -> list[int]:
    """Indices of the peaks kept, greedily from the highest.

    Each kept peak lies more than ``min_distance_mm`` from every peak kept before it (strictly
    more, as in nilearn and SPM); stops once ``limit`` are kept.
    """
    xyz = grid.voxel_to_world(ijk)
    kept: list[int] = []
    for candidate in range(len(ijk)):
        if len(kept) == limit:
            break
        distances = np.sqrt(((xyz[kept] - xyz[candidate]) ** 2).sum(axis=1))
        if np.all(distances > min_distance_mm):
            kept.append(candidate)
    return kept
