"""pyALE's analytic ALE null (``utils/compute.py``: ``compute_hx``, ``compute_hx_conv``,
``compute_z``), for the ``pyale`` convention's ``histogram`` choice.

The model is NiMARE's (experiments' MA histograms over the mask, combined as 1 - prod(1 - MA)),
but the arithmetic differs in ways that move p-values by whole bins:

* bins of 1e-4 (NiMARE 1e-5), centres 0, 1e-4, ... up to 1 - prod(1 - kernel peak) + 0.001; an
  MA value falls in the bin whose edges (centre +- 5e-5, ``np.digitize``) hold it;
* each step normalises both histograms to sum 1 and puts each product at ``np.round`` of its
  value on the grid; pyALE adds a step's products with a fancy-index assignment, so when two
  products of one step land on the same bin only the last is kept, which is reproduced here;
* a value's p is the tail of the combined histogram at ``np.round(ALE * 1e4)`` (the bin itself
  included: "at least"), never below machine epsilon; a voxel forms clusters when that p is
  below the cluster-forming p (pyALE: z > Phi^-1(1 - p)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from neuroreview.cbma.null import HistogramNull

PYALE_STEP = 1e-4
#: pyALE looks values up as ``np.round(ale * step)`` with the integer ``step = 10000``.
_STEPS = 10_000
_EPS = np.finfo(float).eps


@dataclass(frozen=True, eq=False)
class PyaleHistogramNull(HistogramNull):
    """pyALE's null: ``weights`` is its combined histogram (not renormalised, as pyALE leaves
    it), ``bins`` the bin centres."""

    def p_values(self, stat: ArrayLike) -> NDArray[np.float64]:
        tail = np.cumsum(self.weights[::-1])[::-1]
        index = np.rint(np.asarray(stat, dtype=np.float64) * _STEPS).astype(np.intp)
        p = tail[np.clip(index, 0, tail.size - 1)]
        return np.maximum(p, _EPS)

    def threshold(self, p: float) -> float:
        """The largest ALE value whose p is not below ``p``: values above it, and only they,
        land (by pyALE's ``np.round``, half-way to even) in a bin whose tail is below ``p``."""
        tail = np.cumsum(self.weights[::-1])[::-1]
        below = np.flatnonzero(tail < p)
        if below.size == 0:
            return float(self.bins[-1] + PYALE_STEP)
        first = below[0]

        def kept(value: float) -> bool:
            return np.rint(value * _STEPS) >= first

        cut = (first - 0.5) * PYALE_STEP  # the boundary, up to rounding: step to it exactly
        while kept(cut):
            cut = np.nextafter(cut, -np.inf)
        while not kept(np.nextafter(cut, np.inf)):
            cut = np.nextafter(cut, np.inf)
        return float(cut)


def pyale_ale_null(
    ma: sparse.csr_matrix, n_voxels: int, kernel_peaks: NDArray[np.float64]
) -> PyaleHistogramNull:
    """The null from MA rows (experiments in the order pyALE combines them) over ``n_voxels``
    mask voxels; ``kernel_peaks`` holds each experiment's kernel maximum (pyALE's range)."""
    top = float(np.prod(1.0 - np.asarray(kernel_peaks, dtype=np.float64)))
    edges = np.arange(0.00005, 1 - top + 0.001, PYALE_STEP)
    centres = np.arange(0, 1 - top + 0.001, PYALE_STEP)
    step = int(1 / PYALE_STEP)
    hx = np.zeros((ma.shape[0], len(edges)))
    for row in range(ma.shape[0]):
        values = ma.data[ma.indptr[row] : ma.indptr[row + 1]].astype(np.float64)
        index, counts = np.unique(np.digitize(values, edges), return_counts=True)
        hx[row, index] = counts
        hx[row, 0] += n_voxels - values.size  # the mask voxels the kernels miss: MA 0
    combined = hx[0, :]
    for row in range(1, hx.shape[0]):
        previous = combined
        occupied = np.flatnonzero(previous > 0)
        previous = combined / previous.sum()
        current = hx[row, :]
        present = np.flatnonzero(current > 0)
        current = current / current.sum()
        combined = np.zeros(len(centres))
        for bin_index in present:
            mass = current[bin_index] * previous[occupied]
            score = 1 - (1 - centres[bin_index]) * (1 - centres[occupied])
            target = np.round(score * step).astype(int)
            combined[target] = np.add(combined[target], mass)  # last of equal targets wins
    last = np.flatnonzero(combined > 0)[-1]
    return PyaleHistogramNull(centres[: last + 1].copy(), combined[: last + 1].copy())
