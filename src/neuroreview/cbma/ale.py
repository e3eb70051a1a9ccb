"""Activation likelihood estimation (ALE), with NiMARE's analytic null.

ALE asks where foci converge more than spatially random foci would: each experiment's MA map
is the maximum over its foci of a Gaussian whose width reflects the experiment's sample size,
and the ALE value is the probability that at least one experiment activates the voxel,
1 - prod(1 - MA). p-values come from the analytic null of Eickhoff et al. (2012), computed by
histogram convolution exactly as NiMARE 0.22.1 computes it, so maps agree voxel for voxel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from neuroreview import __version__
from neuroreview.cbma.base import (
    AnalysisSpace,
    Combine,
    HistogramNullEstimator,
    NullProblem,
)
from neuroreview.cbma.conventions import HistogramRule, KernelShape, NullClusters, Placement
from neuroreview.cbma.inputs import CoordinateSet
from neuroreview.cbma.ma import AleKernels, ale_kernels, ale_ma, combine_order, subvoxel_cube
from neuroreview.cbma.null import ALE_STEP, HistogramNull, ale_null, summary_maps
from neuroreview.cbma.null_pyale import PYALE_STEP, pyale_ale_null
from neuroreview.cbma.results import CBMAResult


def ale_statistic(ma: sparse.csr_matrix) -> NDArray[np.float64]:
    """1 - prod over experiments of (1 - MA), summed in log space, rounded to float32.

    Rounded as NiMARE rounds it before reading p off the 1e-5 histogram: a statistic that
    differs in the 8th digit can sit across a bin edge from NiMARE's and take the
    neighbouring bin's p. Float32 keeps 7 digits, far more than the null resolves.
    """
    log_keep = np.bincount(ma.indices, weights=np.log1p(-ma.data), minlength=ma.shape[1])
    return (1.0 - np.exp(log_keep)).astype(np.float32).astype(np.float64)


@dataclass(frozen=True, eq=False)
class _Fit:
    coordinates: CoordinateSet
    kernels: AleKernels
    null: HistogramNull


class ALE(HistogramNullEstimator):
    """ALE (Turkeltaub et al. 2002, 2012; Eickhoff et al. 2009, 2012).

    Kernel width: from each experiment's sample size (default), or one ``fwhm`` (mm) or one
    ``sample_size`` for every experiment. ``voxel_exact`` sizes the Gaussian correctly at any
    voxel size (NiMARE's rule is right only at 2 mm); ``subvoxel`` centres each Gaussian on the
    reported focus rather than the nearest voxel (GingerALE's placement). Both are off by
    default so that results equal NiMARE's.
    """

    method = "ale"

    def __init__(
        self,
        *,
        fwhm: float | None = None,
        sample_size: float | None = None,
        voxel_exact: bool = False,
        subvoxel: bool = False,
        placement: Placement | str = Placement.ROUND,
        kernel: KernelShape | str = KernelShape.NIMARE,
        histogram: HistogramRule | str = HistogramRule.NIMARE,
        null_clusters: NullClusters | str = NullClusters.MASK,
        space: AnalysisSpace | None = None,
    ) -> None:
        if fwhm is not None and sample_size is not None:
            raise ValueError("give at most one of fwhm and sample_size")
        for name, value in (("fwhm", fwhm), ("sample_size", sample_size)):
            if value is not None and not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        self.fwhm = fwhm
        self.sample_size = sample_size
        self.voxel_exact = voxel_exact
        self.placement = Placement(placement)
        if subvoxel:
            if self.placement is Placement.CEIL:
                raise ValueError(
                    "subvoxel places kernels exactly; it cannot go with placement 'ceil'"
                )
            self.placement = Placement.EXACT
        self.subvoxel = self.placement is Placement.EXACT
        self.kernel = KernelShape(kernel)
        self.histogram = HistogramRule(histogram)
        self.null_clusters = NullClusters(null_clusters)
        if self.kernel is KernelShape.PYALE and voxel_exact:
            raise ValueError("pyALE's kernel is already sized per axis; voxel_exact does not apply")
        self.space = space if space is not None else AnalysisSpace.default()
        self._fit: _Fit | None = None

    def fit(self, coordinates: CoordinateSet) -> CBMAResult:
        kernels = ale_kernels(
            coordinates,
            self.space.grid.voxel_size,
            fwhm=self.fwhm,
            sample_size=self.sample_size,
            voxel_exact=self.voxel_exact,
            shape=self.kernel,
        )
        ma = ale_ma(coordinates, self.space, kernels, placement=self.placement)
        ma = ma[combine_order(coordinates)]
        stat = ale_statistic(ma)
        if self.histogram is HistogramRule.PYALE:
            peaks = np.array([c.max() for c in kernels.cubes])[kernels.experiment_kernel]
            null = pyale_ale_null(ma, self.space.n_voxels, peaks[combine_order(coordinates)])
        else:
            null = ale_null(ma, self.space.n_voxels)
        self._fit = _Fit(coordinates, kernels, null)
        return CBMAResult(
            estimator=self,
            space=self.space,
            maps=summary_maps(stat, null),
            null_distributions=null.distributions(),
            descriptions=(self._description(coordinates, kernels),),
            settings=self._settings(kernels),
        )

    def statistic_of(self, coordinates: CoordinateSet) -> NDArray[np.float64]:
        """The ALE values (over the mask) of other positions of the fitted experiments' foci,
        with the fitted kernels and without a null: all a rerun that moves foci needs (the
        convention sensitivity's jitters), at a fifth of a fit's cost."""
        fit = self._fitted()
        if coordinates.experiment_ids != fit.coordinates.experiment_ids:
            raise ValueError("statistic_of takes the fitted experiments' foci, moved")
        ma = ale_ma(coordinates, self.space, fit.kernels, placement=self.placement)
        return ale_statistic(ma[combine_order(coordinates)])

    def null_problem(self, cluster_threshold: float) -> NullProblem:
        """Random foci sit on voxel centres, so the voxel-centred kernels serve sub-voxel fits too.

        Cubes hold the float32 values the observed MA maps were built from.
        """
        fit = self._fitted()
        if self.subvoxel:
            cubes = tuple(subvoxel_cube(np.zeros(3), s) for s in fit.kernels.sigma_voxels)
        else:
            cubes = fit.kernels.cubes
        return NullProblem(
            combine=Combine.ALE,
            kernels=tuple(c.astype(np.float32).astype(np.float64) for c in cubes),
            experiment_kernel=fit.kernels.experiment_kernel,
            experiment_starts=fit.coordinates.experiment_starts,
            weights=None,
            # pyALE measures null maxima and clusters on the whole grid; foci still come from
            # the mask.
            mask=np.ones_like(self.space.mask)
            if self.null_clusters is NullClusters.UNMASKED
            else self.space.mask,
            null_ijk=self.space.null_ijk(),
            cluster_threshold=cluster_threshold,
        )

    def _settings(self, kernels: AleKernels) -> dict[str, object]:
        return {
            "method": self.method,
            "kernel": "gaussian",
            "fwhm_rule": self._fwhm_rule(),
            "fwhm": self.fwhm,
            "sample_size": self.sample_size,
            "kernel_fwhm_mm": [float(w) for w in kernels.fwhm_mm],
            "voxel_exact": self.voxel_exact,
            "subvoxel": self.subvoxel,
            "placement": str(self.placement),
            "kernel_shape": str(self.kernel),
            "histogram": str(self.histogram),
            "null_clusters": str(self.null_clusters),
            "null_method": "approximate",
            "histogram_step": PYALE_STEP if self.histogram is HistogramRule.PYALE else ALE_STEP,
        }

    def _fwhm_rule(self) -> str:
        if self.fwhm is not None:
            return "fixed_fwhm"
        if self.sample_size is not None:
            return "fixed_sample_size"
        return "experiment_sample_size"

    def _description(self, coordinates: CoordinateSet, kernels: AleKernels) -> str:
        if self.fwhm is not None:
            width = f"a full width at half maximum (FWHM) of {self.fwhm:g} mm for every experiment"
        else:
            source = (
                f"a sample size of {self.sample_size:g} for every experiment"
                if self.sample_size is not None
                else "each experiment's sample size"
            )
            width = (
                f"a full width at half maximum (FWHM) derived from {source} to model the "
                "between-subject and between-template uncertainty of reported peaks "
                "(Eickhoff et al., 2009)"
            )
        lo, hi = float(kernels.fwhm_mm.min()), float(kernels.fwhm_mm.max())
        span = f"{lo:.2f} mm" if np.isclose(lo, hi) else f"{lo:.2f}-{hi:.2f} mm"
        subjects = ""
        if self.fwhm is None and self.sample_size is None:
            subjects = f", {int(round(coordinates.sample_sizes.sum()))} participants"
        options = []
        if self.voxel_exact:
            options.append("the Gaussian's width was converted to voxels along each axis")
        if self.subvoxel:
            options.append(
                "each Gaussian was centred on the reported coordinate rather than the "
                "nearest voxel, as in GingerALE"
            )
        if self.placement is Placement.CEIL:
            options.append(
                "each focus was placed on the voxel its coordinates round up to (pyALE's rule) "
                "rather than the nearest voxel"
            )
        if self.kernel is KernelShape.PYALE:
            options.append(
                "the Gaussian was truncated at 3.5 standard deviations and normalised as in pyALE"
            )
        extra = ""
        if options:
            joined = "; ".join(options)
            extra = f" {joined[0].upper()}{joined[1:]}."
        return (
            "An activation likelihood estimation (ALE) meta-analysis (Turkeltaub et al., 2002, "
            "2012; Eickhoff et al., 2009, 2012) was performed with neuroreview "
            f"{__version__} on {coordinates.n_foci} foci from {coordinates.n_experiments} "
            f"experiments{subjects}, on the MNI152 2 mm grid within a brain mask of "
            f"{self.space.n_voxels} voxels. Each focus was modelled as a 3-D Gaussian with "
            f"{width} (FWHM {span}); each experiment's modelled activation map took the "
            "maximum over its foci (Turkeltaub et al., 2012), and ALE values were the union "
            f"of these maps across experiments.{extra} ALE values were converted to p-values "
            "with the analytic null distribution of Eickhoff et al. (2012), computed by "
            "histogram convolution at a resolution of 1e-5 as in NiMARE 0.22 (Salo et al., "
            "2023)."
        )
