"""Per-cluster diagnostics: which experiments make each cluster (jackknife, foci, contributions).

A significant cluster is only as convincing as the experiments behind it: one driven by a single
experiment, or by one lab's five contrasts, says less than one many experiments agree on. Three
views, over a fitted result and a labelling of its clusters (:func:`cluster_labels`):

* :func:`jackknife`: NiMARE's ``nimare.diagnostics.Jackknife`` numbers. For each experiment e
  and cluster c, the mean over c's voxels of ``1 - stat_without_e / stat``, where ``stat`` is the
  fitted summary statistic (NiMARE's ``target_value_map`` for a CBMA result is ``"stat"``, not
  z or p, so the refit's null never enters) and ``stat_without_e`` the statistic refitted on the
  other experiments.
* :func:`focus_counter`: NiMARE's ``nimare.diagnostics.FocusCounter``: how many of each
  experiment's foci fall in each cluster (a focus counts where its nearest voxel lies).
* :func:`contributions`: each experiment's share (%) of each cluster, as the ALE lab's own tools
  report it (pyALE / GingerALE-style contribution tables; formula in the docstring).

None of them refits anything. The statistic without one experiment follows from the one sparse
MA matrix (experiments x mask voxels): ALE's log-survival ``S = sum_e log(1 - MA_e)`` loses just
``log(1 - MA_e)``, MKDA's and KDA's sums lose just ``w_e MA_e``; and only voxels inside e's kernel
support change (or, for sample-size weighted MKDA, change by one factor per experiment, since
NiMARE renormalises the weights of the remaining experiments). So all leave-one-out tables come
from a single pass over the MA matrix's non-zeros that lie in clusters.

Columns are named as NiMARE names them, ``"PositiveTail <id>"`` (``"NegativeTail <id>"`` for
clusters of a two-sided labelling), with our cluster ids: clusters numbered by descending size,
as in :func:`~neuroreview.cbma.clusters.cluster_table`, so the columns match the cluster tables
``neuroreview analyze`` writes. (NiMARE numbers by descending peak instead; the clusters, and
every value, are the same.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse

from neuroreview.cbma.clusters import CLUSTER_FWE_MAP, cluster_id_volume, cluster_table

if TYPE_CHECKING:
    from neuroreview.cbma.inputs import CoordinateSet
    from neuroreview.cbma.results import CBMAResult

__all__ = [
    "NEGATIVE_TAIL",
    "POSITIVE_TAIL",
    "cluster_columns",
    "cluster_labels",
    "contributions",
    "focus_counter",
    "jackknife",
]

#: NiMARE's names for the two tails of a labelling (``nimare.diagnostics.POSTAIL_LBL``, ...).
POSITIVE_TAIL = "PositiveTail"
NEGATIVE_TAIL = "NegativeTail"


# --- cluster labels ----------------------------------------------------------------------------


def cluster_labels(
    result: CBMAResult,
    map_name: str = CLUSTER_FWE_MAP,
    threshold: float | None = None,
    *,
    alpha: float = 0.05,
    min_cluster_voxels: int = 0,
    two_sided: bool = False,
) -> tuple[NDArray[np.int32], list[int]]:
    """Each mask voxel's cluster id (0: in no cluster) and the ids, as the diagnostics take them.

    Clusters are face-connected voxels of ``map_name`` strictly above ``threshold`` (NiMARE's
    diagnostics and nilearn's ``get_clusters_table`` form them the same way), at least
    ``min_cluster_voxels`` large (NiMARE's ``cluster_threshold``), numbered as
    :func:`~neuroreview.cbma.clusters.cluster_table` numbers them (by descending size), so ids
    match the cluster tables of an analysis. Without ``threshold`` the map must be a z map of
    corrected p-values (the default, cluster-size FWE) and the threshold is the z of ``alpha``:
    the clusters :func:`~neuroreview.cbma.clusters.clusters_for_correction` lists.

    ``two_sided`` also labels clusters below ``-threshold``, with negative ids (NiMARE's
    ``"NegativeTail"``); CBMA z maps are one-sided, so it matters only for maps that have a
    negative tail.
    """
    if threshold is None:
        if not (map_name.startswith("z") and "_corr-" in map_name):
            raise ValueError(
                f"give a threshold for {map_name!r}; only corrected z maps have a default "
                "(the z of alpha)"
            )
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must lie between 0 and 1, got {alpha}")
        from neuroreview.cbma.stats import p_to_z

        threshold = float(p_to_z(alpha))
    space = result.space
    volume = result.volume(map_name)
    labels = np.zeros(space.grid.shape, dtype=np.int32)
    ids: list[int] = []
    tails = [(1.0, 1)] + ([(-1.0, -1)] if two_sided else [])
    for factor, sign in tails:
        values = np.where(space.mask, volume * factor, -np.inf)
        table = cluster_table(
            values,
            threshold=threshold,
            grid=space.grid,
            n_subpeaks=0,
            min_cluster_voxels=min_cluster_voxels,
        )
        if table.empty:
            continue
        included = values > threshold
        tail_labels = cluster_id_volume(table, included, space.grid).astype(np.int32)
        labels += sign * tail_labels
        ids.extend(sign * int(c) for c in table["cluster_id"])
    return labels[space.mask], ids


def cluster_columns(ids: list[int]) -> list[str]:
    """NiMARE's column names for cluster ids: ``"PositiveTail 3"``, ``"NegativeTail 1"``."""
    return [f"{POSITIVE_TAIL if c > 0 else NEGATIVE_TAIL} {abs(c)}" for c in ids]


@dataclass(frozen=True, eq=False)
class _Clusters:
    """A labelling checked against the result: each mask voxel's column (-1: none), sizes."""

    ids: list[int]
    column: NDArray[np.intp]
    sizes: NDArray[np.int64]

    @property
    def n(self) -> int:
        return len(self.ids)


def _clusters(
    result: CBMAResult, labels: NDArray[np.integer] | tuple, ids: list[int] | None
) -> _Clusters:
    """Accept ``labels`` as :func:`cluster_labels` returns them (a pair) or as the array alone."""
    if isinstance(labels, tuple):
        labels, ids = labels
    values = np.asarray(labels)
    n_voxels = result.space.n_voxels
    if values.shape != (n_voxels,):
        if values.shape == tuple(result.space.grid.shape):
            values = values[result.space.mask]
        else:
            raise ValueError(
                f"labels must give one id per mask voxel ({n_voxels}) or be a volume of the "
                f"grid's shape; got shape {values.shape}"
            )
    values = values.astype(np.int64)
    if ids is None:
        present = np.unique(values[values != 0])
        ids = [int(c) for c in present[present > 0]] + [int(c) for c in present[present < 0]]
    ids = [int(c) for c in ids]
    if 0 in ids or len(set(ids)) != len(ids):
        raise ValueError("cluster ids must be distinct and non-zero (0 marks no cluster)")
    position = {c: i for i, c in enumerate(ids)}
    column = np.full(n_voxels, -1, dtype=np.intp)
    for c, i in position.items():
        column[values == c] = i
    sizes = np.bincount(column[column >= 0], minlength=len(ids)).astype(np.int64)
    if np.any(sizes == 0):
        missing = [ids[i] for i in np.flatnonzero(sizes == 0)]
        raise ValueError(f"cluster ids {missing} label no voxel")
    return _Clusters(ids, column, sizes)


# --- the MA matrix and the leave-one-out statistic ---------------------------------------------


@dataclass(frozen=True, eq=False)
class _LeaveOneOut:
    """The statistic without each experiment, on the non-zeros of the MA matrix.

    ``rows``/``cols``/``ma``: the non-zeros (experiment in the CoordinateSet's order, mask
    voxel, MA value); ``without``: the statistic at that voxel without that experiment;
    ``elsewhere[e]``: ``stat_without_e / stat`` at voxels outside e's support (1 except for
    sample-size weighted MKDA, whose remaining weights are renormalised).
    """

    coordinates: CoordinateSet
    stat: NDArray[np.float64]
    rows: NDArray[np.intp]
    cols: NDArray[np.intp]
    ma: NDArray[np.float64]
    without: NDArray[np.float64]
    elsewhere: NDArray[np.float64]


def _ma_matrix(result: CBMAResult) -> tuple[CoordinateSet, sparse.csr_matrix]:
    """The fitted estimator's MA matrix, rows in the CoordinateSet's order (painting is cheap)."""
    from neuroreview.cbma.ale import ALE
    from neuroreview.cbma.kda import KDA
    from neuroreview.cbma.ma import ale_ma, sphere_ma
    from neuroreview.cbma.mkda import MKDADensity

    estimator = result.estimator
    if isinstance(estimator, ALE):
        fit = estimator._fitted()
        ma = ale_ma(fit.coordinates, estimator.space, fit.kernels, placement=estimator.placement)
    elif isinstance(estimator, MKDADensity):
        fit = estimator._fitted()
        ma = sphere_ma(fit.coordinates, estimator.space, estimator.r)
    elif isinstance(estimator, KDA):
        fit = estimator._fitted()
        ma = sphere_ma(fit.coordinates, estimator.space, estimator.r, summed=True)
    else:
        raise TypeError(
            f"per-cluster diagnostics support ALE, MKDA density and KDA results, not "
            f"{type(estimator).__name__}"
        )
    return fit.coordinates, ma.tocsr()


def _leave_one_out(result: CBMAResult) -> _LeaveOneOut:
    from neuroreview.cbma.ale import ALE
    from neuroreview.cbma.mkda import MKDADensity

    coordinates, ma = _ma_matrix(result)
    stat = np.asarray(result.get_map("stat"), dtype=np.float64)
    coo = ma.tocoo()
    rows = coo.row.astype(np.intp)
    cols = coo.col.astype(np.intp)
    values = coo.data.astype(np.float64)
    n_experiments = ma.shape[0]
    elsewhere = np.ones(n_experiments)
    estimator = result.estimator
    if isinstance(estimator, ALE):
        log_keep = np.log1p(-values)
        survival = np.bincount(cols, weights=log_keep, minlength=ma.shape[1])
        refit = (1.0 - np.exp(survival)).astype(np.float32)
        without = (1.0 - np.exp(survival[cols] - log_keep)).astype(np.float32)
    else:
        weights = estimator._fitted().weights if isinstance(estimator, MKDADensity) else None
        if weights is None:
            refit = np.bincount(cols, weights=values, minlength=ma.shape[1])
            without = refit[cols] - values
        else:
            # NiMARE renormalises sqrt(N) weights over the experiments kept: w'_f = (n - 1) *
            # s_f / (sum of s over the kept experiments), so the statistic without e is
            # a_e * (raw - s_e * MA_e) with raw = sum_f s_f MA_f, everywhere, not only in e's
            # support.
            root_n = np.sqrt(coordinates.sample_sizes)
            raw = np.bincount(cols, weights=root_n[rows] * values, minlength=ma.shape[1])
            scale = (n_experiments - 1) / (root_n.sum() - root_n)
            refit = raw * (n_experiments / root_n.sum())
            without = scale[rows] * (raw[cols] - root_n[rows] * values)
            full_scale = n_experiments / root_n.sum()
            elsewhere = scale / full_scale
    if not np.allclose(refit, stat, rtol=1e-5, atol=1e-9):
        raise ValueError(
            "the result's estimator no longer holds the fit this result came from (was it "
            "refitted on other data?); fit again and pass the new result"
        )
    return _LeaveOneOut(coordinates, stat, rows, cols, values, without, elsewhere)


def _proportions(without: NDArray[np.float64], stat: NDArray[np.float64]) -> NDArray[np.float64]:
    """``1 - without / stat`` with NiMARE's float32 arithmetic and ``nan_to_num`` (0/0 -> 1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.true_divide(without.astype(np.float32), stat.astype(np.float32))
    return (np.float32(1.0) - np.nan_to_num(ratio)).astype(np.float64)


@dataclass(frozen=True, eq=False)
class _ClusterTerms:
    """Leave-one-out terms restricted to cluster voxels, summed per (experiment, cluster)."""

    loo: _LeaveOneOut
    clusters: _Clusters
    entry_rows: NDArray[np.intp]
    entry_columns: NDArray[np.intp]
    entry_terms: NDArray[np.float64]
    entry_ma: NDArray[np.float64]

    def sums(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """``values`` (one per in-cluster non-zero) summed into an experiments x clusters array."""
        n_exp, n_clusters = self.loo.elsewhere.size, self.clusters.n
        flat = self.entry_rows * n_clusters + self.entry_columns
        return np.bincount(flat, weights=values, minlength=n_exp * n_clusters).reshape(
            n_exp, n_clusters
        )

    def jackknife(self) -> NDArray[np.float64]:
        """Mean over each cluster's voxels of ``1 - stat_without_e / stat`` (NiMARE's value).

        Voxels outside e's support contribute ``1 - elsewhere[e]`` (0 unless weighted MKDA), and
        voxels of zero statistic 1 (NiMARE's ``nan_to_num(0 / 0)``).
        """
        stat = self.loo.stat
        in_cluster = self.clusters.column >= 0
        zero = np.bincount(
            self.clusters.column[in_cluster & (stat == 0)], minlength=self.clusters.n
        )
        n_support = self.sums(np.ones_like(self.entry_terms))
        outside = _proportions(self.loo.elsewhere, np.ones_like(self.loo.elsewhere))
        sizes = self.clusters.sizes
        total = (
            self.sums(self.entry_terms)
            + (sizes - zero - n_support) * outside[:, None]
            + zero[None, :]
        )
        return total / sizes


def _cluster_terms(result: CBMAResult, clusters: _Clusters) -> _ClusterTerms:
    loo = _leave_one_out(result)
    column = clusters.column[loo.cols]
    keep = column >= 0
    terms = _proportions(loo.without[keep], loo.stat[loo.cols[keep]])
    return _ClusterTerms(loo, clusters, loo.rows[keep], column[keep], terms, loo.ma[keep])


def _table(values: NDArray, ids: list[str], clusters: _Clusters) -> pd.DataFrame:
    index = pd.Index(ids, name="id")
    return pd.DataFrame(values, index=index, columns=cluster_columns(clusters.ids))


# --- the diagnostics -------------------------------------------------------------------------


def jackknife(
    result: CBMAResult,
    labels: NDArray[np.integer] | tuple[NDArray[np.integer], list[int]],
    ids: list[int] | None = None,
) -> pd.DataFrame:
    """NiMARE's jackknife table: rows experiments, columns clusters.

    Each value is the mean, over the cluster's voxels, of ``1 - stat_without_e / stat``
    (``nimare.diagnostics.Jackknife._leave_one_out_values`` then ``_summarize_cluster_values``):
    the share of the summary statistic (ALE, MKDA density, KDA) the cluster loses on average
    when experiment e is left out. ``labels`` is what :func:`cluster_labels` returns (or its
    array, one id per mask voxel, 0 for none; ``ids`` then orders the columns). Rows are the
    experiments in the fitted CoordinateSet's order, indexed by id (NiMARE's ``id`` column);
    NiMARE's table has no "Center of Mass" row since 0.1.0, and neither has this one.

    Computed without a refit (see the module docstring); values equal NiMARE's refits to float32
    precision, the precision NiMARE computes them in.
    """
    clusters = _clusters(result, labels, ids)
    terms = _cluster_terms(result, clusters)
    return _table(terms.jackknife(), list(terms.loo.coordinates.experiment_ids), clusters)


def _foci_columns(result: CBMAResult, clusters: _Clusters) -> tuple[CoordinateSet, NDArray]:
    """Each focus's cluster column (-1: none), its voxel being the nearest one (NiMARE's rule)."""
    coordinates = result.estimator._fitted().coordinates
    space = result.space
    ijk = coordinates.ijk(space.grid)
    inside = np.asarray(space.grid.contains(ijk), dtype=bool).reshape(-1)
    lookup = space.column_lookup()
    flat = np.ravel_multi_index(tuple(ijk[inside].T), space.grid.shape)
    voxel = np.full(coordinates.n_foci, -1, dtype=np.int64)
    voxel[inside] = lookup[flat]
    column = np.full(coordinates.n_foci, -1, dtype=np.intp)
    in_mask = voxel >= 0
    column[in_mask] = clusters.column[voxel[in_mask]]
    return coordinates, column


def focus_counter(
    result: CBMAResult,
    labels: NDArray[np.integer] | tuple[NDArray[np.integer], list[int]],
    ids: list[int] | None = None,
) -> pd.DataFrame:
    """NiMARE's focus-count table: how many of each experiment's foci lie in each cluster.

    ``nimare.diagnostics.FocusCounter``: a focus counts towards a cluster when a cluster voxel
    lies less than one voxel from it; with foci at their nearest voxel (``mm2vox`` rounds) that
    is the focus's own voxel. Foci off the grid or off the mask count nowhere. Rows and
    ``labels`` as in :func:`jackknife`.
    """
    clusters = _clusters(result, labels, ids)
    coordinates, column = _foci_columns(result, clusters)
    counts = np.zeros((coordinates.n_experiments, clusters.n), dtype=np.int64)
    hit = column >= 0
    np.add.at(counts, (coordinates.experiment_index[hit], column[hit]), 1)
    return _table(counts, list(coordinates.experiment_ids), clusters)


def contributions(
    result: CBMAResult,
    labels: NDArray[np.integer] | tuple[NDArray[np.integer], list[int]],
    ids: list[int] | None = None,
    *,
    all_experiments: bool = False,
) -> pd.DataFrame:
    """Each experiment's contribution to each cluster, as the ALE contribution tables report it.

    One row per (cluster, experiment) whose MA reaches the cluster (every pair with
    ``all_experiments``), largest contribution first within a cluster. With ``c`` the cluster's
    voxels (``|c|`` of them), ``MA_e`` experiment e's modelled activation, ``ALE`` the fitted
    statistic and ``ALE_-e`` the statistic without e:

    * ``n_foci``: e's foci inside c (as :func:`focus_counter`);
    * ``ma_sum``: sum over c of MA_e, and ``ma_mean_pct`` = 100 * ma_sum / |c|;
    * ``contribution_pct``: the share of the cluster's ALE due to e,
      ``r_e = 1 - mean_c(ALE_-e / ALE)`` (the jackknife value) normalised over experiments,
      ``100 * r_e / sum_f r_f``, so a cluster's contributions add up to 100 %;
    * ``max_contribution_pct``: ``100 * max_c(1 - ALE_-e / ALE)``, e's largest share at any voxel.

    These are the columns of the contribution report of the Jülich ALE code (Eickhoff et al.;
    pyALE's ``contribution`` function, read on GitHub), which reproduces GingerALE's
    "contributing experiments" summary: the per-experiment reduction of ALE when the experiment is
    left out, relative to the cluster's ALE. For MKDA and KDA results the same formulas apply to
    their statistic. A cluster no experiment can lower (impossible for a real cluster) gets NaN.
    """
    clusters = _clusters(result, labels, ids)
    terms = _cluster_terms(result, clusters)
    jack = terms.jackknife()
    ma_sum = terms.sums(terms.entry_ma)
    # Voxels of the cluster outside e's support lose 1 - elsewhere[e] (0 unless weighted MKDA).
    n_support = terms.sums(np.ones_like(terms.entry_ma))
    outside = _proportions(terms.loo.elsewhere, np.ones_like(terms.loo.elsewhere))
    peak = np.where(n_support < clusters.sizes, outside[:, None], -np.inf)
    np.maximum.at(peak, (terms.entry_rows, terms.entry_columns), terms.entry_terms)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = 100.0 * jack / jack.sum(axis=0, keepdims=True)
    coordinates, focus_column = _foci_columns(result, clusters)
    n_foci = np.zeros_like(ma_sum, dtype=np.int64)
    hit = focus_column >= 0
    np.add.at(n_foci, (coordinates.experiment_index[hit], focus_column[hit]), 1)

    experiment_ids = np.array(coordinates.experiment_ids, dtype=object)
    names = cluster_columns(clusters.ids)
    frames = []
    for k, cluster_id in enumerate(clusters.ids):
        reach = n_support[:, k] > 0
        rows = np.arange(len(experiment_ids)) if all_experiments else np.flatnonzero(reach)
        frame = pd.DataFrame(
            {
                "cluster_id": cluster_id,
                "cluster": names[k],
                "experiment": experiment_ids[rows],
                "n_foci": n_foci[rows, k],
                "ma_sum": ma_sum[rows, k],
                "ma_mean_pct": 100.0 * ma_sum[rows, k] / clusters.sizes[k],
                "contribution_pct": share[rows, k],
                "max_contribution_pct": 100.0 * peak[rows, k],
            }
        )
        frames.append(frame.sort_values("contribution_pct", ascending=False, kind="stable"))
    columns = [
        "cluster_id",
        "cluster",
        "experiment",
        "n_foci",
        "ma_sum",
        "ma_mean_pct",
        "contribution_pct",
        "max_contribution_pct",
    ]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
