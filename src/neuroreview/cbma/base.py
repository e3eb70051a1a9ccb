"""The contract between estimators, inference and the Monte Carlo engine.

An estimator turns a :class:`~neuroreview.cbma.inputs.CoordinateSet` into maps; inference
needs three more things from it: which summary statistic the map is, which value of it an
uncorrected p corresponds to (for cluster-forming thresholds), and a :class:`NullProblem` that
describes, as plain arrays, how to recompute the statistic from randomly placed foci. Keeping
the Monte Carlo engine on arrays alone lets numba compile it and lets threads (and
later Dask workers) share it without pickling estimators.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from neuroreview.cbma.inputs import CoordinateSet
from neuroreview.space import MNI152_2MM, Grid, brain_mask_array

if TYPE_CHECKING:
    from neuroreview.cbma.results import CBMAResult


class Combine(StrEnum):
    """How per-focus kernel values become one voxel's summary statistic.

    ``ALE``: 1 - prod over experiments of (1 - max over its foci).
    ``MKDA``: sum over experiments of weight * (max over its foci).
    ``KDA``: sum over all foci (overlapping spheres of one experiment add up).
    """

    ALE = "ale"
    MKDA = "mkda"
    KDA = "kda"


@dataclass(frozen=True, eq=False)
class NullProblem:
    """Everything one Monte Carlo iteration needs, as arrays.

    ``kernels`` are odd-sided cubes centred on their middle voxel; experiment e uses
    ``kernels[experiment_kernel[e]]`` for each of its foci ``experiment_starts[e]:[e+1]``.
    Random foci are drawn uniformly (with replacement) from the voxels ``null_ijk``; the
    statistic is evaluated and clusters are labelled (face connectivity) inside ``mask`` only;
    voxels strictly above ``cluster_threshold`` form clusters, whose mass is the sum of
    (statistic - threshold) over their voxels, as NiMARE defines it.
    """

    combine: Combine
    kernels: tuple[NDArray[np.float64], ...]
    experiment_kernel: NDArray[np.intp]
    experiment_starts: NDArray[np.intp]
    weights: NDArray[np.float64] | None
    mask: NDArray[np.bool_]
    null_ijk: NDArray[np.intp]
    cluster_threshold: float

    @property
    def n_foci(self) -> int:
        return int(self.experiment_starts[-1])

    @property
    def n_experiments(self) -> int:
        return int(self.experiment_starts.shape[0] - 1)


@dataclass(frozen=True, eq=False)
class AnalysisSpace:
    """The grid, the analysis mask, and the mask random foci are drawn from.

    NiMARE draws null foci from the analysis mask; GingerALE from a grey-matter mask. Both are
    options here (``null_mask``); the default is NiMARE's.
    """

    grid: Grid
    mask: NDArray[np.bool_]
    null_mask: NDArray[np.bool_]

    @classmethod
    def default(cls, null_mask: str = "brain") -> AnalysisSpace:
        """The MNI152 2 mm brain mask; random foci from it (``"brain"``) or grey matter (``"gm"``).

        ``"gm"`` is NiMARE's ``mask_coverage="gm"``: the MNI152 grey-matter template resampled to
        the grid, above 0.1, within the brain mask. Maps still cover the whole brain mask.
        """
        mask = brain_mask_array()
        if null_mask == "brain":
            return cls(MNI152_2MM, mask, mask)
        if null_mask == "gm":
            from neuroreview.space.grey_matter import grey_matter_mask_array

            return cls(MNI152_2MM, mask, mask & grey_matter_mask_array())
        raise ValueError(f"null mask must be 'brain' or 'gm', got {null_mask!r}")

    @property
    def n_voxels(self) -> int:
        return int(self.mask.sum())

    def column_lookup(self) -> NDArray[np.int64]:
        """For each voxel of the grid (C-order flat index), its column over the mask, else -1.

        What the numba painters index with: a focus offset lands at a grid voxel, and this says
        where (and whether) that voxel is stored in a map over the mask.
        """
        lookup = np.full(int(np.prod(self.grid.shape)), -1, dtype=np.int64)
        lookup[self.mask.ravel()] = np.arange(self.n_voxels)
        return lookup

    def null_ijk(self) -> NDArray[np.intp]:
        """Voxel indices random foci are drawn from, in C order (NiMARE's order)."""
        return np.argwhere(self.null_mask & self.mask).astype(np.intp)


class CBMAEstimator(ABC):
    """A coordinate-based meta-analysis method: fit gives maps, the rest serves inference."""

    #: Short name used in file names, logs and ``analysis.json`` ("ale", "mkda", "kda").
    method: str

    @abstractmethod
    def fit(self, coordinates: CoordinateSet) -> CBMAResult:
        """Compute the maps (at least ``stat``, ``p`` and ``z``) for ``coordinates``."""

    @abstractmethod
    def p_to_summarystat(self, p: float) -> float:
        """The statistic value whose uncorrected (analytic null) p is ``p``; needs a fit."""

    @abstractmethod
    def null_problem(self, cluster_threshold: float) -> NullProblem:
        """The fitted data as a Monte Carlo problem; needs a fit."""


class TwoGroupEstimator(ABC):
    """A method comparing two sets of experiments (MKDA chi-square): its own contract, since it
    fits two sets and has no one-set Monte Carlo problem. Inference is FDR over its tests and,
    where the method defines one, its own Monte Carlo FWE (NiMARE's estimators carry theirs)."""

    method: str

    @abstractmethod
    def fit(self, group1: CoordinateSet, group2: CoordinateSet) -> CBMAResult:
        """Compare ``group1`` (selected) with ``group2`` (unselected); both are required."""

    @abstractmethod
    def p_to_summarystat(self, p: float) -> float:
        """The statistic value whose uncorrected p is ``p``."""

    @abstractmethod
    def correct_fdr(self, result: CBMAResult) -> CBMAResult:
        """Benjamini-Hochberg FDR maps for each of the method's tests."""

    def correct_fwe_montecarlo(
        self,
        result: CBMAResult,
        voxel_thresh: float = 0.001,
        n_iters: int = 1000,
        seed: int | None = 0,
        n_jobs: int = 1,
        **options: Any,
    ) -> CBMAResult:
        """Voxel- and cluster-level FWE maps for each test; not every method defines them."""
        raise NotImplementedError(f"{type(self).__name__} has no Monte Carlo FWE correction")


class HistogramNullEstimator(CBMAEstimator):
    """An estimator whose fit keeps an analytic histogram null (ALE, MKDA density, KDA).

    Subclasses store their fit in ``_fit``: an object with ``coordinates`` and ``null`` (a
    :class:`~neuroreview.cbma.null.HistogramNull`), so thresholds and Monte Carlo problems are
    derived from the fit in one place.
    """

    space: AnalysisSpace
    _fit: Any = None

    def _fitted(self) -> Any:
        if self._fit is None:
            raise RuntimeError(f"fit the {type(self).__name__} estimator first")
        return self._fit

    @property
    def fitted_coordinates(self) -> CoordinateSet:
        """The foci the estimator was fitted to (with any imputed sample sizes)."""
        return self._fitted().coordinates

    def p_to_summarystat(self, p: float) -> float:
        return self._fitted().null.threshold(p)

    def _sphere_problem(
        self,
        combine: Combine,
        radius_mm: float,
        weights: NDArray[np.float64] | None,
        cluster_threshold: float,
    ) -> NullProblem:
        """The Monte Carlo problem of a sphere kernel shared by every experiment (MKDA, KDA)."""
        from neuroreview.cbma.kernels import sphere_kernel

        coordinates: CoordinateSet = self._fitted().coordinates
        return NullProblem(
            combine=combine,
            kernels=(sphere_kernel(radius_mm, self.space.grid.voxel_size),),
            experiment_kernel=np.zeros(coordinates.n_experiments, dtype=np.intp),
            experiment_starts=coordinates.experiment_starts,
            weights=weights,
            mask=self.space.mask,
            null_ijk=self.space.null_ijk(),
            cluster_threshold=cluster_threshold,
        )
