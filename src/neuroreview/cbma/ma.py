"""Modelled activation (MA): each experiment's foci turned into one map over the mask.

One row per experiment (in the CoordinateSet's order), one column per mask voxel (C order), as
a ``scipy.sparse.csr_matrix``. Kernels are placed on the voxel nearest each focus (NiMARE's
rounding) and clipped to the grid and then to the mask, never renormalised: a focus near the
edge of the brain simply loses the part of its kernel that falls outside, as in NiMARE and
GingerALE. Within an experiment overlapping kernels combine by maximum (ALE, Turkeltaub et al.
2012; MKDA, Wager et al. 2007) or by sum (KDA, Wager et al. 2004).

Values are stored as float32, NiMARE's storage type. Seven significant digits are more than any
kernel is worth, memory halves, and the ALE statistic computed from them lands in exactly the
histogram bin NiMARE's does (a float64 MA moves about one voxel in 10^4 across a bin edge,
changing its p by a whole bin).

Foci outside the mask are kept, as NiMARE keeps them: their kernels still reach brain voxels.
So are foci outside the grid, again as NiMARE does: only the part of their kernel that lands on
the grid counts. Both are logged once per call, naming the experiments, because a focus outside
the brain is more often a transcription error (a sign, Talairach vs MNI) than a finding.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from neuroreview.cbma.base import AnalysisSpace
from neuroreview.cbma.conventions import KernelShape, Placement
from neuroreview.cbma.inputs import CBMAInputError, CoordinateSet
from neuroreview.cbma.kernels import (
    GAUSSIAN_TRUNCATE,
    ale_fwhm_mm,
    ale_kernel,
    ale_sigma_voxels,
    ale_subvoxel_weights,
    pyale_kernel,
    sphere_offsets,
)

LOG = logging.getLogger(__name__)

#: How many experiment ids a log message or error lists before summarising the rest.
_NAMES_SHOWN = 10


def name_list(ids: Sequence[str]) -> str:
    """``'a', 'b' and 3 more``: experiment ids for a message, bounded in length."""
    shown = ", ".join(repr(i) for i in ids[:_NAMES_SHOWN])
    rest = len(ids) - _NAMES_SHOWN
    return f"{shown} and {rest} more" if rest > 0 else shown


def combine_order(coordinates: CoordinateSet) -> NDArray[np.intp]:
    """Experiments sorted by id: the order statistics and nulls are accumulated in.

    Sorting makes results independent of input order (the binned ALE null is not exactly
    order-free) and is the order NiMARE uses, so both accumulate the same floating-point sums.
    """
    return np.argsort(np.array(coordinates.experiment_ids), kind="stable").astype(np.intp)


def placed_voxels(
    coordinates: CoordinateSet, space: AnalysisSpace, placement: Placement = Placement.ROUND
) -> NDArray[np.intp]:
    """The voxel each focus's kernel is centred on, by the convention's placement rule.

    ``round`` (and ``exact``, whose kernels are then shifted by the sub-voxel offset) take the
    nearest voxel, half-way points to even (NiMARE). ``ceil`` is pyALE's: it rounds voxel
    coordinates up on its own grid, whose x axis runs from right to left, and clips its indices
    into [1, n - 1]. In millimetres that moves x down and y and z up to the next voxel centre,
    which is what is done here on any axis-aligned grid (on the MNI152 2 mm grid, whichever
    way its x axis runs, the voxels are pyALE's).
    """
    if Placement(placement) is not Placement.CEIL:
        return coordinates.ijk(space.grid)
    grid = space.grid
    linear = grid.affine[:3, :3]
    if np.count_nonzero(linear - np.diag(np.diag(linear))):
        raise ValueError("pyALE's placement needs a grid whose axes are x, y and z")
    exact = grid.world_to_voxel_float(coordinates.xyz)
    if not np.all(np.isfinite(exact)):
        raise ValueError("coordinates must be finite to map them to voxels")
    n = np.asarray(grid.shape, dtype=np.intp)
    ijk = np.empty(exact.shape, dtype=np.intp)
    for axis, pyale_direction in enumerate((-1.0, 1.0, 1.0)):
        same = np.sign(linear[axis, axis]) == pyale_direction
        rounded = np.ceil(exact[:, axis]) if same else np.floor(exact[:, axis])
        low, high = (1, n[axis] - 1) if same else (0, n[axis] - 2)
        ijk[:, axis] = np.clip(rounded, low, high)
    return ijk


def focus_voxels(
    coordinates: CoordinateSet, space: AnalysisSpace, placement: Placement = Placement.ROUND
) -> NDArray[np.intp]:
    """Voxel of each focus (:func:`placed_voxels`); foci off the mask or off the grid are
    logged, not dropped."""
    ijk = placed_voxels(coordinates, space, placement)
    in_grid = np.asarray(space.grid.contains(ijk), dtype=bool).reshape(-1)
    in_mask = in_grid.copy()
    in_mask[in_grid] = space.mask[tuple(ijk[in_grid].T)]
    if not in_mask.all():
        ids = coordinates.experiment_ids
        off_mask = sorted({ids[e] for e in coordinates.experiment_index[~in_mask]})
        message = (
            f"{int((~in_mask).sum())} foci lie outside the analysis mask, in experiments "
            f"{name_list(off_mask)}; they are kept and their kernels count where they reach "
            "the mask (as in NiMARE)"
        )
        if not in_grid.all():
            off_grid = sorted({ids[e] for e in coordinates.experiment_index[~in_grid]})
            message += (
                f"; {int((~in_grid).sum())} of them are outside the image grid altogether "
                f"(experiments {name_list(off_grid)}), where only the part of the kernel "
                "that lands on the grid counts"
            )
        LOG.warning(message)
    return ijk


@numba.njit(cache=True)
def _paint(centres, offsets, values, shape, lookup, summed, scratch, touched):
    """Add one experiment's kernels into ``scratch`` (one slot per mask voxel).

    ``values`` has one row shared by every focus, or one row per focus (sub-voxel kernels).
    Touched slots are listed in ``touched``; returns how many. Kernel values are positive, so a
    zero slot is an untouched one.
    """
    n_touched = 0
    per_focus = values.shape[0] > 1
    for f in range(centres.shape[0]):
        row = f if per_focus else 0
        for o in range(offsets.shape[0]):
            value = values[row, o]
            if value <= 0:
                continue
            i = centres[f, 0] + offsets[o, 0]
            j = centres[f, 1] + offsets[o, 1]
            k = centres[f, 2] + offsets[o, 2]
            if i < 0 or j < 0 or k < 0 or i >= shape[0] or j >= shape[1] or k >= shape[2]:
                continue
            col = lookup[(i * shape[1] + j) * shape[2] + k]
            if col < 0:
                continue
            old = scratch[col]
            if old == 0.0:
                touched[n_touched] = col
                n_touched += 1
            if summed:
                scratch[col] = old + value
            elif value > old:
                scratch[col] = value
    return n_touched


class _Canvas:
    """Paints experiments one at a time into CSR rows, reusing one dense scratch row."""

    def __init__(self, space: AnalysisSpace, summed: bool) -> None:
        self.shape = np.array(space.grid.shape, dtype=np.int64)
        self.lookup = space.column_lookup()
        self.summed = summed
        self.scratch = np.zeros(space.n_voxels)
        self.touched = np.zeros(space.n_voxels, dtype=np.int64)
        self.columns: list[NDArray[np.int64]] = []
        self.values: list[NDArray[np.float32]] = []

    def paint(self, centres: NDArray, offsets: NDArray, values: NDArray[np.float32]) -> None:
        n = _paint(
            centres.astype(np.int64),
            offsets.astype(np.int64),
            np.atleast_2d(values).astype(np.float32),
            self.shape,
            self.lookup,
            self.summed,
            self.scratch,
            self.touched,
        )
        # Sorting the touched slots is cheap for small maps; for large ones a scan of the
        # whole row is several times faster than sorting ~10^4 indices.
        if n * 16 < self.scratch.size:
            columns = np.sort(self.touched[:n])
        else:
            columns = np.flatnonzero(self.scratch)
        self.columns.append(columns)
        self.values.append(self.scratch[columns].astype(np.float32))
        self.scratch[columns] = 0.0

    def matrix(self) -> sparse.csr_matrix:
        indptr = np.concatenate([[0], np.cumsum([c.size for c in self.columns])])
        return sparse.csr_matrix(
            (np.concatenate(self.values), np.concatenate(self.columns), indptr),
            shape=(len(self.columns), self.scratch.size),
        )


def _cube_support(cube: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Offsets from the centre voxel and float32 values of a cube's non-zero entries."""
    nonzero = np.argwhere(cube > 0)
    offsets = nonzero - np.array(cube.shape) // 2
    return offsets, cube[tuple(nonzero.T)].astype(np.float32)[None, :]


@dataclass(frozen=True, eq=False)
class AleKernels:
    """The distinct Gaussian kernels of a dataset and which experiment uses which.

    ``fwhm_mm`` and ``sigma_voxels`` (per axis) describe each cube; experiments that share a
    sample size share a kernel, so a large dataset builds only a few.
    """

    cubes: tuple[NDArray[np.float64], ...]
    experiment_kernel: NDArray[np.intp]
    fwhm_mm: NDArray[np.float64]
    sigma_voxels: NDArray[np.float64]


def ale_kernels(
    coordinates: CoordinateSet,
    voxel_size: Sequence[float],
    *,
    fwhm: float | None = None,
    sample_size: float | None = None,
    voxel_exact: bool = False,
    shape: KernelShape = KernelShape.NIMARE,
) -> AleKernels:
    """Each experiment's ALE kernel: from its sample size, or one fixed width for all.

    A fixed ``fwhm`` is kept a Python float and a sample size's FWHM a numpy float64: NiMARE's
    kernel differs between the two in the last bits (see ``kernels.ale_sigma_voxels``).
    """
    if fwhm is not None:
        widths: list[float] = [float(fwhm)]
        index = np.zeros(coordinates.n_experiments, dtype=np.intp)
    elif sample_size is not None:
        widths = [ale_fwhm_mm(sample_size)]
        index = np.zeros(coordinates.n_experiments, dtype=np.intp)
    else:
        missing = coordinates.missing_sample_sizes()
        if missing:
            raise CBMAInputError(
                f"ALE sizes each kernel from the experiment's sample size, and "
                f"{len(missing)} experiment(s) report none: {name_list(missing)}. Record their "
                "sample sizes, or use one kernel for all (fwhm= or sample_size=)."
            )
        sizes, inverse = np.unique(coordinates.sample_sizes, return_inverse=True)
        widths = [ale_fwhm_mm(n) for n in sizes]
        index = inverse.astype(np.intp)
    return AleKernels(
        cubes=tuple(
            pyale_kernel(w, voxel_size)
            if KernelShape(shape) is KernelShape.PYALE
            else ale_kernel(w, voxel_size, voxel_exact=voxel_exact)
            for w in widths
        ),
        experiment_kernel=index,
        fwhm_mm=np.array(widths, dtype=np.float64),
        sigma_voxels=np.array(
            [ale_sigma_voxels(w, voxel_size, voxel_exact=voxel_exact) for w in widths]
        ),
    )


def subvoxel_cube(
    offset_voxels: NDArray[np.float64], sigma_voxels: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The Gaussian for a focus ``offset`` voxels from its nearest voxel centre, as a cube.

    Truncated at 4 sigma of the widest axis (scipy's rule, never NiMARE's 31-voxel box),
    normalised per axis like the voxel-centred kernel, centred on the nearest voxel.
    """
    half = int(GAUSSIAN_TRUNCATE * float(np.max(sigma_voxels)) + 0.5)
    wi, wj, wk = ale_subvoxel_weights(offset_voxels, sigma_voxels, half)
    return wi[:, None, None] * wj[None, :, None] * wk[None, None, :]


def _subvoxel_support(
    exact: NDArray[np.float64], ijk: NDArray[np.intp], sigma_voxels: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """One full cube of values per focus (rows), sharing the cube's offsets."""
    cubes = [subvoxel_cube(exact[f] - ijk[f], sigma_voxels) for f in range(ijk.shape[0])]
    offsets = np.argwhere(np.ones(cubes[0].shape, dtype=bool)) - cubes[0].shape[0] // 2
    return offsets, np.stack([cube.ravel() for cube in cubes]).astype(np.float32)


def ale_ma(
    coordinates: CoordinateSet,
    space: AnalysisSpace,
    kernels: AleKernels,
    *,
    subvoxel: bool = False,
    placement: Placement = Placement.ROUND,
) -> sparse.csr_matrix:
    """ALE MA: per experiment, the maximum over its foci of their Gaussian kernels.

    With ``subvoxel`` (placement ``exact``) each Gaussian is centred on the focus's reported
    position (GingerALE's placement) instead of a voxel centre.
    """
    subvoxel = subvoxel or Placement(placement) is Placement.EXACT
    ijk = focus_voxels(coordinates, space, placement)
    exact = space.grid.world_to_voxel_float(coordinates.xyz)
    canvas = _Canvas(space, summed=False)
    supports = [_cube_support(cube) for cube in kernels.cubes]
    starts = coordinates.experiment_starts
    for e in range(coordinates.n_experiments):
        foci = slice(starts[e], starts[e + 1])
        kernel = kernels.experiment_kernel[e]
        if subvoxel:
            support = _subvoxel_support(exact[foci], ijk[foci], kernels.sigma_voxels[kernel])
        else:
            support = supports[kernel]
        canvas.paint(ijk[foci], *support)
    return canvas.matrix()


def sphere_ma(
    coordinates: CoordinateSet,
    space: AnalysisSpace,
    radius_mm: float = 10.0,
    *,
    summed: bool = False,
) -> sparse.csr_matrix:
    """(M)KDA MA: 1 within ``radius_mm`` of a focus; overlaps within an experiment are
    combined by maximum (MKDA: the experiment is active or not) or summed (KDA)."""
    ijk = focus_voxels(coordinates, space)
    offsets = sphere_offsets(radius_mm, space.grid.voxel_size)
    ones = np.ones((1, offsets.shape[0]), dtype=np.float32)
    canvas = _Canvas(space, summed=summed)
    starts = coordinates.experiment_starts
    for e in range(coordinates.n_experiments):
        canvas.paint(ijk[starts[e] : starts[e + 1]], offsets, ones)
    return canvas.matrix()


@numba.njit(cache=True, nogil=True)
def sphere_union(ijk, first, last, offsets, shape, lookup, stamp, marker, touched):
    """List in ``touched`` the mask columns the spheres of foci ``first:last`` reach, each
    once; returns how many. ``stamp[col] == marker`` marks a column already listed, so
    successive experiments (each with its own marker) need nothing cleared in between.

    Spheres are placed as :func:`sphere_ma` places them: centred on the focus's voxel, clipped
    to the grid, then to the mask (``lookup`` is -1 off the mask).
    """
    n_touched = 0
    for f in range(first, last):
        for o in range(offsets.shape[0]):
            i = ijk[f, 0] + offsets[o, 0]
            j = ijk[f, 1] + offsets[o, 1]
            k = ijk[f, 2] + offsets[o, 2]
            if i < 0 or j < 0 or k < 0 or i >= shape[0] or j >= shape[1] or k >= shape[2]:
                continue
            col = lookup[(i * shape[1] + j) * shape[2] + k]
            if col < 0 or stamp[col] == marker:
                continue
            stamp[col] = marker
            touched[n_touched] = col
            n_touched += 1
    return n_touched


@numba.njit(cache=True, nogil=True)
def _sphere_totals(ijk, starts, order, offsets, shape, lookup, weights, n_voxels):
    """Per voxel the weighted count of active experiments, per experiment its active voxels.

    Experiments are visited in ``order`` (``weights`` and the returned coverage are in that
    order), so each voxel's sum is accumulated in the same order as a product of the
    ``sphere_ma`` matrix's transpose with the weights.
    """
    total = np.zeros(n_voxels)
    covered = np.zeros(order.shape[0], dtype=np.int64)
    stamp = np.full(n_voxels, -1, dtype=np.int64)
    touched = np.empty(n_voxels, dtype=np.int64)
    for rank in range(order.shape[0]):
        e = order[rank]
        weight = weights[rank]
        n_touched = sphere_union(
            ijk, starts[e], starts[e + 1], offsets, shape, lookup, stamp, rank, touched
        )
        for t in range(n_touched):
            total[touched[t]] += weight
        covered[rank] = n_touched
    return total, covered


def sphere_totals(
    coordinates: CoordinateSet,
    space: AnalysisSpace,
    radius_mm: float = 10.0,
    weights: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """MKDA's sums over experiments without the (experiments x voxels) MA matrix.

    Returns, for the MKDA ``sphere_ma`` of ``coordinates`` with rows in :func:`combine_order`,
    the column sums weighted by ``weights`` (one per experiment, in combination order; None:
    all 1) and the row sums (voxels each experiment activates), with the same values to the
    last bit: each voxel's weights are added in combination order, as the sparse product adds
    them. Memory is a few mask-sized arrays whatever the number of experiments; the matrix
    for all 14,371 Neurosynth studies would hold 1.6 x 10^8 entries (about 2 GB, and twice
    that while it is built).
    """
    order = combine_order(coordinates)
    unit = np.ones(order.size) if weights is None else np.asarray(weights, dtype=np.float64)
    if unit.shape != order.shape:
        raise ValueError(f"{unit.size} weights for {order.size} experiments")
    return _sphere_totals(
        focus_voxels(coordinates, space).astype(np.int64),
        np.asarray(coordinates.experiment_starts, dtype=np.int64),
        order.astype(np.int64),
        sphere_offsets(radius_mm, space.grid.voxel_size).astype(np.int64),
        np.array(space.grid.shape, dtype=np.int64),
        space.column_lookup(),
        np.ascontiguousarray(unit),
        space.n_voxels,
    )
