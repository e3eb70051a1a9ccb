"""Kernel density analysis (KDA), with NiMARE's analytic null.

KDA (Wager et al. 2003, 2004) counts, at each voxel, the foci within r mm, pooling every focus
of every experiment: an experiment that reports many nearby peaks counts many times, which is
why MKDA replaced it. It is kept for comparisons with older meta-analyses and with NiMARE.
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
from neuroreview.cbma.inputs import CoordinateSet
from neuroreview.cbma.ma import combine_order, sphere_ma
from neuroreview.cbma.null import HistogramNull, kda_null, summary_maps
from neuroreview.cbma.results import CBMAResult


def kda_statistic(ma: sparse.csr_matrix) -> NDArray[np.float64]:
    """The number of foci (of any experiment) whose sphere covers each voxel."""
    return np.asarray(ma.sum(axis=0), dtype=np.float64).ravel()


@dataclass(frozen=True, eq=False)
class _Fit:
    coordinates: CoordinateSet
    null: HistogramNull


class KDA(HistogramNullEstimator):
    """KDA: spheres of radius ``r`` mm (default 10) summed over all foci."""

    method = "kda"

    def __init__(self, *, r: float = 10.0, space: AnalysisSpace | None = None) -> None:
        if not (np.isfinite(r) and r > 0):
            raise ValueError(f"r must be a positive number of mm, got {r!r}")
        self.r = float(r)
        self.space = space if space is not None else AnalysisSpace.default()
        self._fit: _Fit | None = None

    def fit(self, coordinates: CoordinateSet) -> CBMAResult:
        ma = sphere_ma(coordinates, self.space, self.r, summed=True)
        ma = ma[combine_order(coordinates)]
        null = kda_null(ma, self.space.n_voxels, coordinates.n_foci)
        self._fit = _Fit(coordinates, null)
        return CBMAResult(
            estimator=self,
            space=self.space,
            maps=summary_maps(kda_statistic(ma), null),
            null_distributions=null.distributions(),
            descriptions=(self._description(coordinates),),
            settings={
                "method": self.method,
                "kernel": "sphere",
                "r_mm": self.r,
                "overlap": "sum",
                "null_method": "approximate",
            },
        )

    def null_problem(self, cluster_threshold: float) -> NullProblem:
        return self._sphere_problem(Combine.KDA, self.r, None, cluster_threshold)

    def _description(self, coordinates: CoordinateSet) -> str:
        return (
            "A kernel density analysis (KDA; Wager et al., 2003, 2004) was performed with "
            f"neuroreview {__version__} on {coordinates.n_foci} foci from "
            f"{coordinates.n_experiments} experiments, on the MNI152 2 mm grid within a brain "
            f"mask of {self.space.n_voxels} voxels. Each focus was modelled as a sphere of "
            f"radius {self.r:g} mm and value 1; overlapping spheres were summed, within and "
            "across experiments, so the statistic counts the foci near each voxel. Statistics "
            "were converted to p-values with an analytic null distribution, the convolution "
            "of the experiments' histograms of modelled activation, as in NiMARE 0.22 (Salo "
            "et al., 2023)."
        )
