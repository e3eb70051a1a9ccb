"""Multiple-comparison corrections of a CBMA result: Monte Carlo FWE and Benjamini-Hochberg FDR.

Both follow NiMARE 0.22.1's definitions and names, so a map written here is the map NiMARE's
``FWECorrector(method="montecarlo")`` or ``FDRCorrector(method="indep")`` writes:

* voxel-level FWE: p of each voxel's statistic against the null of per-iteration maxima;
* cluster-level FWE: clusters are face-connected voxels strictly above the statistic whose
  uncorrected p is ``voxel_thresh``; a cluster's p is that of its size (voxels) or mass (sum of
  statistic - threshold) against the null of per-iteration largest clusters; voxels outside
  clusters get the largest p the null allows (1 - 1/n);
* p becomes ``logp`` (-log10 p) and one-tailed ``z``.

The Monte Carlo engine (:mod:`neuroreview.cbma.montecarlo`) only sees the estimator's
:class:`~neuroreview.cbma.base.NullProblem`, and ``progress`` is a plain callable, so this
module never imports the CLI.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage, special

from neuroreview.cbma.base import NullProblem, TwoGroupEstimator
from neuroreview.cbma.montecarlo import EarlyStop, MonteCarloNull, run_null
from neuroreview.cbma.parallel import Executor, executor_for
from neuroreview.cbma.results import CBMAResult
from neuroreview.cbma.stats import null_to_p, p_to_logp, p_to_z

if TYPE_CHECKING:
    from distributed import Client

FWE_SUFFIX = "_corr-FWE_method-montecarlo"
FDR_SUFFIX = "_corr-FDR_method-indep"

#: NiMARE's keys for the three Monte Carlo nulls.
NULL_KEYS = {
    "max_stat": "values_level-voxel_corr-fwe_method-montecarlo",
    "max_cluster_size": "values_desc-size_level-cluster_corr-fwe_method-montecarlo",
    "max_cluster_mass": "values_desc-mass_level-cluster_corr-fwe_method-montecarlo",
}

_FACES = ndimage.generate_binary_structure(3, 1)
_LN10 = math.log(10.0)
_TINY = np.nextafter(0.0, 1.0)


def correct_fwe_montecarlo(
    result: CBMAResult,
    voxel_thresh: float = 0.001,
    n_iters: int = 5000,
    seed: int | None = 0,
    n_jobs: int = 1,
    vfwe_only: bool = False,
    progress: Callable[[int], None] | None = None,
    early_stop: EarlyStop | float | None = None,
    executor: Executor | Client | None = None,
) -> CBMAResult:
    """Add voxel- and cluster-level FWE maps from a Monte Carlo null (NiMARE's method).

    ``executor`` (an Executor, or a ``distributed.Client`` to run on its Dask cluster)
    overrides ``n_jobs``; the same seed gives the same maps wherever the iterations run.

    ``early_stop`` may be an :class:`EarlyStop` or just its tolerance. The settings record
    the iterations run (``n_iters_run``), the seed, the cluster-forming threshold and the time
    taken, so the run can be repeated exactly. A two-set estimator (MKDA chi-square) runs its
    own correction (:meth:`~neuroreview.cbma.mkda.MKDAChi2.correct_fwe_montecarlo`), as
    NiMARE's ``FWECorrector`` lets an estimator's method take precedence.
    """
    executor = executor_for(executor, n_jobs)
    if isinstance(result.estimator, TwoGroupEstimator):
        return result.estimator.correct_fwe_montecarlo(
            result,
            voxel_thresh=voxel_thresh,
            n_iters=n_iters,
            seed=seed,
            n_jobs=n_jobs,
            vfwe_only=vfwe_only,
            progress=progress,
            early_stop=early_stop,
            executor=executor,
        )
    if not 0 < voxel_thresh < 1:
        raise ValueError(f"voxel_thresh must be in (0, 1), got {voxel_thresh}")
    if isinstance(early_stop, int | float):
        early_stop = EarlyStop(tolerance=float(early_stop))
    estimator = result.estimator
    stat = result.get_map("stat")
    threshold = float(estimator.p_to_summarystat(voxel_thresh))
    problem = estimator.null_problem(math.inf if vfwe_only else threshold)
    null = run_null(
        problem,
        n_iters,
        seed,
        n_jobs=n_jobs,
        executor=executor,
        progress=progress,
        early_stop=early_stop,
    )
    maps = _p_maps("level-voxel", null_to_p(stat, null.max_stat))
    nulls = {NULL_KEYS["max_stat"]: null.max_stat}
    if not vfwe_only:
        size, mass = _cluster_measures(result.volume("stat"), threshold, result.space.mask)
        maps |= _p_maps("desc-size_level-cluster", null_to_p(size, null.max_cluster_size))
        maps |= _p_maps("desc-mass_level-cluster", null_to_p(mass, null.max_cluster_mass))
        nulls[NULL_KEYS["max_cluster_size"]] = null.max_cluster_size
        nulls[NULL_KEYS["max_cluster_mass"]] = null.max_cluster_mass
    return result.with_maps(
        {f"{name}{FWE_SUFFIX}": values for name, values in maps.items()},
        null_distributions=nulls,
        description=_fwe_description(null, voxel_thresh, vfwe_only, problem),
        settings=_fwe_settings(null, voxel_thresh, threshold, vfwe_only, early_stop),
    )


def _p_maps(level: str, p: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    return {f"logp_{level}": p_to_logp(p), f"z_{level}": p_to_z(p, tail="one")}


def _cluster_measures(
    volume: NDArray[np.float64], threshold: float, mask: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per mask voxel, the size and mass of its cluster (0 outside clusters).

    Clusters as NiMARE forms them: voxels strictly above ``threshold`` (and above 0),
    face-connected; mass is the sum of (statistic - threshold) over the cluster.
    """
    above = (volume > threshold) & (volume > 0) & mask
    labels, n = ndimage.label(above, structure=_FACES)
    flat = labels[mask]
    sizes = np.bincount(flat, minlength=n + 1).astype(np.float64)
    masses = np.bincount(flat, weights=np.where(flat > 0, volume[mask] - threshold, 0.0))
    sizes[0] = masses[0] = 0.0
    return sizes[flat], masses[flat]


def _fwe_description(
    null: MonteCarloNull, voxel_thresh: float, vfwe_only: bool, problem: NullProblem
) -> str:
    """Methods text in our words, naming where random foci came from and the seed."""
    n_null = int(problem.null_ijk.shape[0])
    n_mask = int(problem.mask.sum())
    source = (
        f"any of the {n_mask} voxels of the brain mask"
        if n_null == n_mask
        else f"the {n_null} grey-matter voxels of the {n_mask}-voxel brain mask (as in GingerALE)"
    )
    stopped = (
        f", stopping early after {null.n_iters} of {null.n_iters_requested} iterations once "
        "the confidence intervals of the FWE thresholds were narrower than the set tolerance"
        if null.stopped_early
        else ""
    )
    measured = (
        "the largest summary statistic"
        if vfwe_only
        else (
            "the largest summary statistic, the largest cluster size and the largest cluster "
            "mass (clusters: face-connected voxels above the statistic whose uncorrected p is "
            f"{voxel_thresh:g}; mass: the sum of their excess over that value)"
        )
    )
    return (
        "Family-wise error was controlled by Monte Carlo simulation (Eickhoff et al., 2012, "
        "2016): every focus was moved to a voxel drawn uniformly at random from "
        f"{source}, the maps were recomputed, and {measured} were recorded. "
        f"{null.n_iters} such null datasets were generated (seed {null.seed}{stopped}); "
        "a voxel's or cluster's corrected p is the share of null datasets whose maximum "
        "reached its value."
    )


def _fwe_settings(
    null: MonteCarloNull,
    voxel_thresh: float,
    threshold: float,
    vfwe_only: bool,
    early_stop: EarlyStop | None,
) -> dict[str, object]:
    return {
        "fwe_method": "montecarlo",
        "voxel_thresh": voxel_thresh,
        "cluster_forming_threshold": threshold,
        "vfwe_only": vfwe_only,
        "n_iters_requested": null.n_iters_requested,
        "n_iters_run": null.n_iters,
        "seed": null.seed,
        "early_stop": asdict(early_stop) if early_stop is not None else None,
        "stopped_early": null.stopped_early,
        "fwe_seconds": round(null.seconds, 3),
    }


def correct_fdr(result: CBMAResult, alpha: float = 0.05) -> CBMAResult:
    """Benjamini-Hochberg FDR of the ``p`` map, as NiMARE's ``FDRCorrector(method="indep")``.

    Adds ``p``, ``z`` and ``logp`` maps suffixed ``_corr-FDR_method-indep``. Works in log
    space throughout (NiMARE's ``nlogp_fdr``), taking ``logp`` where ``p`` underflowed, so
    tiny p-values keep their size. Like NiMARE's, z is converted two-tailed and carries the
    sign of the uncorrected z. ``alpha`` does not change the maps (BH-adjusted p-values are
    compared with it later); it is recorded. An estimator with its own ``correct_fdr`` (MKDA
    chi-square) is asked to do it, as NiMARE lets an estimator's method take precedence.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    own = getattr(result.estimator, "correct_fdr", None)
    if callable(own):
        return own(result)
    p = result.get_map("p")
    nlogp = np.log(np.clip(p, _TINY, 1.0))
    if "logp" in result.maps:
        floored = p <= _TINY
        nlogp = np.where(floored, -_LN10 * result.get_map("logp"), nlogp)
    corrected = bh_nlogp(nlogp)
    z = -special.ndtri_exp(corrected - math.log(2.0)) + 0.0
    if "z" in result.maps:
        z = z * np.sign(result.get_map("z"))
    maps = {
        "p": np.clip(np.exp(corrected), _TINY, 1.0),
        "z": z,
        "logp": np.maximum(corrected / -_LN10 + 0.0, 0.0),
    }
    return result.with_maps(
        {f"{name}{FDR_SUFFIX}": values for name, values in maps.items()},
        description="False discovery rate correction was performed with the "
        "Benjamini-Hochberg procedure (Benjamini & Hochberg, 1995).",
        settings={"fdr_method": "indep", "fdr_alpha": alpha},
    )


def bh_nlogp(nlogp: NDArray[np.float64]) -> NDArray[np.float64]:
    """Benjamini-Hochberg adjusted natural-log p-values; NaN stays NaN and counts as a test.

    The step-up procedure divides sorted p-values by rank / n and takes running minima from the
    top: both carry over to logs unchanged, so nothing underflows.
    """
    out = np.full(nlogp.shape, np.nan)
    evaluated = ~np.isnan(nlogp)
    values = nlogp[evaluated]
    order = np.argsort(values)
    log_factor = np.log(np.arange(1, values.size + 1) / nlogp.size)
    adjusted = np.minimum.accumulate((values[order] - log_factor)[::-1])[::-1]
    result = np.empty_like(values)
    result[order] = np.minimum(adjusted, 0.0)
    out[evaluated] = result
    return out
