"""Multilevel kernel density analysis (MKDA): density and chi-square, as in NiMARE 0.22.1.

MKDA (Wager et al. 2007) treats the experiment, not the focus, as the unit: an experiment
"activates" a voxel if any of its foci lies within r mm, so one experiment reporting ten nearby
peaks counts once. The density statistic is the (optionally weighted) number of active
experiments; its analytic null treats each experiment as active with probability equal to the
share of the mask its spheres cover. The chi-square variant (Neurosynth's) compares two sets of
experiments voxel by voxel.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy import sparse, special

from neuroreview import __version__
from neuroreview.cbma.base import (
    AnalysisSpace,
    Combine,
    HistogramNullEstimator,
    NullProblem,
    TwoGroupEstimator,
)
from neuroreview.cbma.chi2 import one_way_chi2, two_way_chi2
from neuroreview.cbma.inputs import CBMAInputError, CoordinateSet
from neuroreview.cbma.ma import combine_order, name_list, sphere_ma, sphere_totals
from neuroreview.cbma.null import (
    MEANS_KEY,
    HistogramNull,
    mkda_null,
    mkda_weighted_null,
    summary_maps,
)
from neuroreview.cbma.results import CBMAResult

if TYPE_CHECKING:
    from neuroreview.cbma.chi2_null import Chi2Null, Chi2NullProblem
    from neuroreview.cbma.parallel import Executor

_TINY = np.nextafter(0.0, 1.0)
_LOG10 = math.log(10.0)
_WEIGHTINGS = (None, "sample_size")
#: NiMARE 0.22.1's ``MKDAChi2(fwe_null_method=...)`` values (kept in step with chi2_null).
_FWE_NULL_METHODS = ("label-permutation", "random-foci")
#: NiMARE's null-distribution keys of each chi-square test (uniformity is also "group1").
_NULL_NAMES = {"uniformity": ("pAgF", "group1"), "group2": ("group2",), "association": ("pFgA",)}


def _check_radius(r: float) -> float:
    if not (np.isfinite(r) and r > 0):
        raise ValueError(f"r must be a positive number of mm, got {r!r}")
    return float(r)


def _description_head(name: str, r: float, space: AnalysisSpace) -> str:
    return (
        f"A multilevel kernel density {name} (MKDA; Wager et al., 2007) was performed with "
        f"neuroreview {__version__} on the MNI152 2 mm grid within a brain mask of "
        f"{space.n_voxels} voxels. Each focus was modelled as a sphere of radius {r:g} mm and "
        "value 1, and each experiment's map took the maximum over its foci, so an experiment "
        "counts once at a voxel however many of its foci lie nearby."
    )


def sample_size_weights(coordinates: CoordinateSet) -> NDArray[np.float64]:
    """sqrt(N) per experiment scaled to sum to the number of experiments (Wager et al. 2009).

    Equal sample sizes give weights of exactly 1, so the statistic stays a count. The sum is
    taken in combination order so the weights equal NiMARE's to the last bit.
    """
    missing = coordinates.missing_sample_sizes()
    if missing:
        raise CBMAInputError(
            f"sample-size weighting needs every experiment's sample size; {len(missing)} "
            f"report none: {name_list(missing)}"
        )
    order = combine_order(coordinates)
    raw = np.sqrt(coordinates.sample_sizes[order])
    weights = np.ones_like(raw)
    if not np.all(raw == raw[0]):
        weights[order] = raw.size * raw / raw.sum()
    return weights


@dataclass(frozen=True, eq=False)
class _DensityFit:
    coordinates: CoordinateSet
    weights: NDArray[np.float64] | None  # per experiment in input order; None = unweighted
    null: HistogramNull


class MKDADensity(HistogramNullEstimator):
    """MKDA density: the (weighted) number of experiments with a focus within ``r`` mm.

    ``weighting="sample_size"`` weights each experiment by sqrt(N) (Wager et al. 2009), as
    NiMARE's ``MKDADensity(weighting="sample_size")``; the default is unweighted, NiMARE's
    default.
    """

    method = "mkda"

    def __init__(
        self,
        *,
        r: float = 10.0,
        weighting: str | None = None,
        space: AnalysisSpace | None = None,
    ) -> None:
        if weighting not in _WEIGHTINGS:
            raise ValueError(f"weighting must be None or 'sample_size', got {weighting!r}")
        self.r = _check_radius(r)
        self.weighting = weighting
        self.space = space if space is not None else AnalysisSpace.default()
        self._fit: _DensityFit | None = None

    def fit(self, coordinates: CoordinateSet) -> CBMAResult:
        order = combine_order(coordinates)
        weights = sample_size_weights(coordinates) if self.weighting else None
        if weights is not None and np.all(weights == 1.0):
            weights = None
        unit = np.ones(coordinates.n_experiments) if weights is None else weights[order]
        # The sums over experiments, streamed: no (experiments x voxels) matrix is held.
        stat, covered = sphere_totals(coordinates, self.space, self.r, unit)
        prop_active = covered.astype(np.float64) / self.space.n_voxels
        null = mkda_null(prop_active) if weights is None else mkda_weighted_null(unit, prop_active)
        self._fit = _DensityFit(coordinates, weights, null)
        return CBMAResult(
            estimator=self,
            space=self.space,
            maps=summary_maps(stat, null),
            null_distributions={**null.distributions(), MEANS_KEY: prop_active},
            descriptions=(self._description(coordinates, weights),),
            settings={
                "method": self.method,
                "kernel": "sphere",
                "r_mm": self.r,
                "overlap": "max",
                "weighting": self.weighting,
                "null_method": "approximate",
            },
        )

    def null_problem(self, cluster_threshold: float) -> NullProblem:
        weights = self._fitted().weights
        return self._sphere_problem(Combine.MKDA, self.r, weights, cluster_threshold)

    def _description(self, coordinates: CoordinateSet, weights: NDArray[np.float64] | None) -> str:
        if weights is None:
            weighting = "Experiments were weighted equally."
        else:
            ess = float(weights.sum() ** 2 / np.sum(weights**2))
            weighting = (
                "Each experiment was weighted by the square root of its sample size, "
                "normalised to sum to the number of experiments (Wager et al., 2009), giving "
                f"an effective number of {ess:.1f} experiments."
            )
        null = (
            "an analytic null distribution in which each experiment is active at a voxel with "
            "probability equal to the share of the mask its spheres cover, independently "
            "across experiments (exact for equal weights; on a 100 000-bin grid for unequal "
            "weights), as in NiMARE 0.22 (Salo et al., 2023)"
        )
        return (
            f"{_description_head('analysis', self.r, self.space)} The input included "
            f"{coordinates.n_foci} foci from {coordinates.n_experiments} experiments. "
            f"{weighting} The density statistic, the weighted number of experiments active at "
            f"each voxel, was converted to p-values with {null}."
        )


# --- chi-square --------------------------------------------------------------------------


def chi2_log_p(chi2: NDArray[np.float64]) -> NDArray[np.float64]:
    """ln p of a 1-dof chi-square, finite far past where p itself underflows.

    p = erfc(sqrt(chi2 / 2)); where erfc underflows, log_ndtr carries the tail.
    """
    y = np.sqrt(chi2 / 2.0)
    tail = special.erfc(y)
    with np.errstate(divide="ignore"):
        log_p = np.log(tail)
    deep = tail < np.finfo(np.float64).tiny
    log_p[deep] = math.log(2.0) + special.log_ndtr(-y[deep] * math.sqrt(2.0))
    return np.minimum(log_p, 0.0)


def _test_maps(
    chi2: NDArray[np.float64], sign: NDArray[np.float64], label: str
) -> dict[str, NDArray[np.float64]]:
    """NiMARE's four maps of one chi-square test; z carries the direction of the effect."""
    log_p = chi2_log_p(chi2)
    return {
        f"chi2_desc-{label}": chi2,
        f"p_desc-{label}": np.maximum(np.exp(log_p), _TINY),
        f"z_desc-{label}": np.sqrt(chi2) * sign,
        f"logp_desc-{label}": -log_p / _LOG10 + 0.0,
    }


def fdr_bh_log(log_p: NDArray[np.float64]) -> NDArray[np.float64]:
    """Benjamini-Hochberg adjusted ln p, computed on logs so tiny p-values keep their order."""
    n = log_p.size
    order = np.argsort(log_p)
    adjusted = log_p[order] - np.log(np.arange(1, n + 1) / n)
    adjusted = np.minimum.accumulate(adjusted[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(adjusted, 0.0)
    return out


class MKDAChi2(TwoGroupEstimator):
    """MKDA chi-square (Wager et al. 2007; Neurosynth): two sets of experiments compared.

    ``fit(selected, unselected)`` gives NiMARE's maps: ``*_desc-uniformity`` (one-way test of
    the selected set's activation against uniform), ``*_desc-association`` (two-way test of
    activation against set membership), the ``group1``/``group2`` one-way maps and the
    ``prob_desc-*`` probabilities, with ``prob_desc-*_prior`` under a ``prior`` probability of
    membership (NiMARE's 0.5; None or 0 omits them). Inference is Benjamini-Hochberg FDR
    (:meth:`correct_fdr`) or NiMARE's Monte Carlo FWE (:meth:`correct_fwe_montecarlo`), whose
    null datasets ``fwe_null_method`` chooses as NiMARE's parameter of that name does:
    ``"label-permutation"`` (NiMARE's default) shuffles which experiments form each group,
    ``"random-foci"`` moves every focus of both groups to a random voxel of the null mask.
    """

    method = "mkda_chi2"

    def __init__(
        self,
        *,
        r: float = 10.0,
        prior: float | None = 0.5,
        fwe_null_method: str = "label-permutation",
        space: AnalysisSpace | None = None,
    ) -> None:
        if prior is not None and not 0.0 <= prior <= 1.0:
            raise ValueError(f"prior must be a probability, got {prior!r}")
        if fwe_null_method not in _FWE_NULL_METHODS:
            raise ValueError(
                f"fwe_null_method must be one of {_FWE_NULL_METHODS}, got {fwe_null_method!r}"
            )
        self.r = _check_radius(r)
        self.prior = prior
        self.fwe_null_method = fwe_null_method
        self.space = space if space is not None else AnalysisSpace.default()
        self._fit: tuple[CoordinateSet, CoordinateSet] | None = None

    def _indicators(self, coordinates: CoordinateSet) -> sparse.csr_matrix:
        """Each experiment's indicator map over the mask, experiments sorted by id."""
        return sphere_ma(coordinates, self.space, self.r)[combine_order(coordinates)]

    def fit(
        self, coordinates: CoordinateSet, unselected: CoordinateSet | None = None
    ) -> CBMAResult:
        """Compare ``coordinates`` (the selected set) with ``unselected``; both are required."""
        if unselected is None:
            raise CBMAInputError("MKDA chi-square compares two sets: pass the unselected set too")
        n1, n2 = coordinates.n_experiments, unselected.n_experiments
        self._fit = (coordinates, unselected)
        # Counts streamed, as in MKDADensity: the indicator matrices (1.6 x 10^8 entries for
        # all Neurosynth studies) are built only for a label-permutation null, which needs them.
        count1 = sphere_totals(coordinates, self.space, self.r)[0]
        count2 = sphere_totals(unselected, self.space, self.r)[0]
        p_a_given_f = count1 / n1
        p_a_given_u = count2 / n2
        p_a = (count1 + count2) / (n1 + n2)
        with np.errstate(divide="ignore", invalid="ignore"):
            # 0/0 (NaN) where no experiment of either set is active: undefined, as in NiMARE.
            p_f_given_a = p_a_given_f * (n1 / (n1 + n2)) / p_a
        maps: dict[str, NDArray[np.float64]] = {}
        for label, counts, n in (("uniformity", count1, n1), ("group2", count2, n2)):
            maps |= _test_maps(one_way_chi2(counts, n), np.sign(counts - counts.mean()), label)
        maps |= _test_maps(
            two_way_chi2(count1, count2, n1, n2),
            np.sign(p_a_given_f - p_a_given_u),
            "association",
        )
        for kind in ("chi2", "p", "z", "logp"):
            maps[f"{kind}_desc-group1"] = maps[f"{kind}_desc-uniformity"]
        maps |= {
            "prob_desc-A": p_a,
            "prob_desc-AgF": p_a_given_f,
            "prob_desc-AgU": p_a_given_u,
            "prob_desc-FgA": p_f_given_a,
            "prob_desc-group1": p_a_given_f,
            "prob_desc-group2": p_a_given_u,
        }
        if self.prior:
            p_a_given_f_prior = self.prior * p_a_given_f + (1 - self.prior) * p_a_given_u
            with np.errstate(divide="ignore", invalid="ignore"):
                maps["prob_desc-AgF_prior"] = p_a_given_f_prior
                maps["prob_desc-FgA_prior"] = p_a_given_f * self.prior / p_a_given_f_prior
        return CBMAResult(
            estimator=self,
            space=self.space,
            maps=maps,
            descriptions=(self._description(coordinates, unselected),),
            settings={
                "method": self.method,
                "kernel": "sphere",
                "r_mm": self.r,
                "overlap": "max",
                "prior": self.prior,
            },
        )

    def p_to_summarystat(self, p: float) -> float:
        """The chi-square (1 dof) whose upper-tail p is ``p``; it serves every chi2 map."""
        from scipy import stats  # here: importing scipy.stats costs half a second of start-up

        return float(stats.chi2.isf(p, 1))

    def correct_fdr(self, result: CBMAResult) -> CBMAResult:
        """Benjamini-Hochberg FDR over the mask for the uniformity, group2 and association tests.

        Adds NiMARE's ``<p|z|logp>_desc-<test>_level-voxel_corr-FDR_method-indep`` maps (and
        the group1 copies of uniformity); z is two-tailed and carries the test's sign.
        """
        maps: dict[str, NDArray[np.float64]] = {}
        for label in ("uniformity", "group2", "association"):
            log_p = fdr_bh_log(-result.get_map(f"logp_desc-{label}") * _LOG10)
            z = -special.ndtri_exp(log_p - math.log(2.0)) + 0.0
            for kind, values in (
                ("p", np.maximum(np.exp(log_p), _TINY)),
                ("z", z * np.sign(result.get_map(f"z_desc-{label}"))),
                ("logp", -log_p / _LOG10 + 0.0),
            ):
                maps[f"{kind}_desc-{label}_level-voxel_corr-FDR_method-indep"] = values
                if label == "uniformity":
                    maps[f"{kind}_desc-group1_level-voxel_corr-FDR_method-indep"] = values
        description = (
            "Voxel-wise p-values of the uniformity, group 2 and association tests were "
            "corrected for multiple comparisons with the Benjamini-Hochberg false discovery "
            "rate procedure (Benjamini & Hochberg, 1995) over all voxels in the mask."
        )
        return result.with_maps(maps, description=description, settings={"correction": "fdr_bh"})

    def fwe_null_problem(self, cluster_threshold: float) -> Chi2NullProblem:
        """The fitted sets as a Monte Carlo problem of ``fwe_null_method``; needs a fit.

        Experiments are numbered group 1 then group 2, each sorted by id (NiMARE's order), so
        a permutation or a draw means the same experiment or focus whatever the input order.
        """
        from neuroreview.cbma.chi2_null import Chi2NullProblem
        from neuroreview.cbma.kernels import sphere_offsets

        if self._fit is None:
            raise RuntimeError("fit the MKDAChi2 estimator first")
        selected, unselected = self._fit
        common = {
            "method": self.fwe_null_method,
            "n1": selected.n_experiments,
            "n2": unselected.n_experiments,
            "mask": self.space.mask,
            "cluster_threshold": cluster_threshold,
        }
        if self.fwe_null_method == "label-permutation":
            indicators = (self._indicators(selected), self._indicators(unselected))
            return Chi2NullProblem(**common, indicators=sparse.vstack(indicators, format="csr"))
        starts = [0]
        for group in (selected, unselected):
            sizes = np.diff(group.experiment_starts)[combine_order(group)]
            starts.extend(starts[-1] + np.cumsum(sizes))
        return Chi2NullProblem(
            **common,
            offsets=sphere_offsets(self.r, self.space.grid.voxel_size),
            experiment_starts=np.asarray(starts, dtype=np.intp),
            null_ijk=self.space.null_ijk(),
        )

    def correct_fwe_montecarlo(
        self,
        result: CBMAResult,
        voxel_thresh: float = 0.001,
        n_iters: int = 1000,
        seed: int | None = 0,
        n_jobs: int = 1,
        vfwe_only: bool = False,
        progress: Callable[[int], None] | None = None,
        executor: Executor | None = None,
        **options: object,
    ) -> CBMAResult:
        """NiMARE 0.22.1's Monte Carlo FWE for each of the uniformity, group 2 and association
        tests (``MKDAChi2.correct_fwe_montecarlo``), from nulls run in compiled loops.

        Each iteration records every test's largest chi-square and (unless ``vfwe_only``) the
        size and mass of its largest face-connected cluster above the chi-square whose p is
        ``voxel_thresh``. A voxel's corrected p is the share of iterations whose maximum reached
        its chi-square; a cluster's, the share whose largest cluster reached its size or mass
        (voxels outside clusters get 1 - 1/n). Maps carry NiMARE's names with the suffix
        ``_corr-FWE_method-montecarlo``: ``<p|z|logp>_desc-<test>_level-voxel``,
        ``..._desc-<test>Size_level-cluster`` and ``..._desc-<test>Mass_level-cluster`` for
        ``uniformity`` (also as ``group1``), ``group2`` and ``association``; z is two-tailed and
        carries the sign of the test's uncorrected z. ``n_iters`` defaults to NiMARE's 1000
        for this method. Early stopping is not offered.
        """
        from neuroreview.cbma import chi2_null
        from neuroreview.cbma.inference import FWE_SUFFIX, _cluster_measures
        from neuroreview.cbma.stats import null_to_p, p_to_logp, p_to_z

        if options.get("early_stop") is not None:
            raise ValueError("MKDA chi-square's Monte Carlo FWE does not stop early")
        if not 0 < voxel_thresh < 1:
            raise ValueError(f"voxel_thresh must be in (0, 1), got {voxel_thresh}")
        threshold = self.p_to_summarystat(voxel_thresh)
        problem = self.fwe_null_problem(math.inf if vfwe_only else threshold)
        null = chi2_null.run_chi2_null(
            problem, n_iters, seed, n_jobs=n_jobs, executor=executor, progress=progress
        )
        maps: dict[str, NDArray[np.float64]] = {}
        nulls: dict[str, NDArray[np.float64]] = {}
        suffix = "_corr-fwe_method-montecarlo"
        for label in chi2_null.TESTS:
            chi2 = result.get_map(f"chi2_desc-{label}")
            sign = np.sign(result.get_map(f"z_desc-{label}"))
            levels = {"_level-voxel": null_to_p(np.abs(chi2), null.max_stat(label))}
            for key in _NULL_NAMES[label]:
                nulls[f"values_desc-{key}_level-voxel{suffix}"] = null.max_stat(label)
            if not vfwe_only:
                size, mass = _cluster_measures(
                    result.volume(f"chi2_desc-{label}"), threshold, self.space.mask
                )
                levels["Size_level-cluster"] = null_to_p(size, null.max_cluster_size(label))
                levels["Mass_level-cluster"] = null_to_p(mass, null.max_cluster_mass(label))
                measures = {
                    "size": null.max_cluster_size(label),
                    "mass": null.max_cluster_mass(label),
                }
                for key in _NULL_NAMES[label]:
                    for measure, values in measures.items():
                        nulls[f"values_desc-{key}{measure}_level-cluster{suffix}"] = values
            names = ("uniformity", "group1") if label == "uniformity" else (label,)
            for level, p in levels.items():
                converted = {
                    "p": p,
                    "z": p_to_z(p, tail="two") * sign + 0.0,
                    "logp": p_to_logp(p),
                }
                for name in names:
                    for kind, values in converted.items():
                        maps[f"{kind}_desc-{name}{level}{FWE_SUFFIX}"] = values
        return result.with_maps(
            maps,
            null_distributions=nulls,
            description=self._fwe_description(null, voxel_thresh, vfwe_only, problem),
            settings={
                "fwe_method": "montecarlo",
                "fwe_null_method": self.fwe_null_method,
                "voxel_thresh": voxel_thresh,
                "cluster_forming_threshold": threshold,
                "vfwe_only": vfwe_only,
                "n_iters_requested": n_iters,
                "n_iters_run": null.n_iters,
                "seed": null.seed,
                "early_stop": None,
                "stopped_early": False,
                "fwe_seconds": round(null.seconds, 3),
            },
        )

    def _fwe_description(
        self, null: Chi2Null, voxel_thresh: float, vfwe_only: bool, problem: Chi2NullProblem
    ) -> str:
        """Methods text in our words: how null datasets were made, what was recorded, the seed."""
        if null.method == "label-permutation":
            made = (
                f"the {problem.n1 + problem.n2} experiments of both sets were pooled and randomly "
                f"reassigned to sets of {problem.n1} and {problem.n2} experiments (label "
                "permutation)"
            )
        else:
            n_null = int(problem.null_ijk.shape[0])  # type: ignore[union-attr]
            made = (
                "every focus of both sets was moved to a voxel drawn uniformly at random from "
                f"{n_null} voxels of the brain mask"
            )
        measured = (
            "the largest chi-square value"
            if vfwe_only
            else (
                "the largest chi-square value and the size and mass of the largest cluster "
                "(face-connected voxels above the chi-square whose uncorrected p is "
                f"{voxel_thresh:g}; mass: the sum of their excess over that value)"
            )
        )
        return (
            "Family-wise error of the uniformity, group 2 and association tests was controlled "
            f"by Monte Carlo simulation, as in NiMARE 0.22 (Salo et al., 2023): {made}, the "
            f"chi-square tests were recomputed, and {measured} of each test were recorded. "
            f"{null.n_iters} such null datasets were generated (seed {null.seed}); a voxel's or "
            "cluster's corrected p is the share of null datasets whose maximum reached its value."
        )

    def _description(self, selected: CoordinateSet, unselected: CoordinateSet) -> str:
        prior = (
            f" Posterior probabilities were also computed under a prior of {self.prior:g}."
            if self.prior
            else ""
        )
        return (
            f"{_description_head('chi-square analysis', self.r, self.space)} The selected set "
            f"included {selected.n_foci} foci from {selected.n_experiments} experiments and "
            f"the unselected set {unselected.n_foci} foci from {unselected.n_experiments} "
            "experiments. Following Neurosynth (Yarkoni et al., 2011), a one-way chi-square "
            "test assessed whether activation in the selected set exceeded a uniform "
            "distribution over the mask (uniformity), and a two-way chi-square test whether "
            f"activation depended on set membership (association).{prior}"
        )
