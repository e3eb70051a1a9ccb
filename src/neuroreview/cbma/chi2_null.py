"""The Monte Carlo null of MKDA chi-square: maxima of its three tests over random datasets.

NiMARE 0.22.1's ``MKDAChi2.correct_fwe_montecarlo`` builds each null dataset one of two ways
(its ``fwe_null_method``), and records, per iteration and per test (uniformity = one-way test
of group 1, the one-way test of group 2, association = two-way test), the largest chi-square
and the size and mass of the largest face-connected cluster above the chi-square whose p is
``voxel_thresh``:

* ``"label-permutation"`` (NiMARE's default): the experiments of both groups are pooled and
  group labels are shuffled, keeping the group sizes: the null of no difference between groups;
* ``"random-foci"``: every focus of both groups moves to a random voxel of the null mask, as in
  the one-group estimators' null.

The iterations run in compiled loops (:mod:`neuroreview.cbma._chi2_kernels`) on the same
scaffolding as the one-group engine (:mod:`neuroreview.cbma.montecarlo`): blocks of
:data:`~neuroreview.cbma.montecarlo.BLOCK_ITERATIONS` iterations, block b drawing from
``default_rng(SeedSequence(seed, spawn_key=(b,)))`` whichever worker runs it, so a seed gives
the same bytes for any ``n_jobs`` and a run of N iterations is a prefix of a longer one.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from neuroreview.cbma import _chi2_kernels
from neuroreview.cbma.montecarlo import (
    BLOCK_ITERATIONS,
    Block,
    _collect,
    block_draws,
    seeded_blocks,
)
from neuroreview.cbma.parallel import Executor, executor_for

if TYPE_CHECKING:
    from distributed import Client

NULL_METHODS = ("label-permutation", "random-foci")

#: Labels of the three tests, in the kernels' output order.
TESTS = ("uniformity", "group2", "association")


@dataclass(frozen=True, eq=False)
class Chi2NullProblem:
    """One MKDA chi-square null as arrays.

    ``indicators`` holds each experiment's indicator map over the mask (group 1's experiments
    first, then group 2's), used by label permutation; random foci use ``offsets`` (the
    sphere's voxel offsets), ``experiment_starts`` (foci of both groups, group 1 first) and
    ``null_ijk`` (the voxels random foci are drawn from). Clusters are formed (face
    connectivity, within ``mask``) from voxels strictly above ``cluster_threshold``; infinity
    forms none.
    """

    method: str
    n1: int
    n2: int
    mask: NDArray[np.bool_]
    cluster_threshold: float
    indicators: sparse.csr_matrix | None = None
    offsets: NDArray[np.intp] | None = None
    experiment_starts: NDArray[np.intp] | None = None
    null_ijk: NDArray[np.intp] | None = None

    def __post_init__(self) -> None:
        if self.method not in NULL_METHODS:
            raise ValueError(f"null method must be one of {NULL_METHODS}, got {self.method!r}")
        if self.n1 < 1 or self.n2 < 1:
            raise ValueError("both groups need at least one experiment")
        if self.method == "label-permutation":
            if self.indicators is None or self.indicators.shape[0] != self.n1 + self.n2:
                raise ValueError("label permutation needs one indicator row per experiment")
        elif self.offsets is None or self.experiment_starts is None or self.null_ijk is None:
            raise ValueError("random foci need offsets, experiment_starts and null_ijk")
        elif self.experiment_starts.shape != (self.n1 + self.n2 + 1,):
            raise ValueError("experiment_starts needs one entry per experiment, plus one")

    @property
    def n_foci(self) -> int:
        return 0 if self.experiment_starts is None else int(self.experiment_starts[-1])

    @property
    def draw_width(self) -> int:
        """Random numbers per iteration: a permutation, or one null voxel per focus."""
        return self.n1 + self.n2 if self.method == "label-permutation" else self.n_foci


@dataclass(frozen=True, eq=False)
class Chi2Null:
    """Per-iteration maxima: ``values[3 * t + k]`` is test t's (max chi2, size, mass)[k]."""

    values: NDArray[np.float64]
    n_iters: int
    seed: int | None
    method: str
    clusters: bool
    seconds: float

    def max_stat(self, test: str) -> NDArray[np.float64]:
        return self.values[3 * TESTS.index(test)]

    def max_cluster_size(self, test: str) -> NDArray[np.float64]:
        return self.values[3 * TESTS.index(test) + 1]

    def max_cluster_mass(self, test: str) -> NDArray[np.float64]:
        return self.values[3 * TESTS.index(test) + 2]


class _Engine:
    """A problem laid out for the kernels, with its scratch buffers (one per worker)."""

    def __init__(self, problem: Chi2NullProblem) -> None:
        self.problem = problem
        shape = np.asarray(problem.mask.shape, dtype=np.int64)
        half = np.ones(3, dtype=np.int64)
        if problem.offsets is not None and problem.offsets.size:
            half = np.maximum(np.abs(problem.offsets).max(axis=0), 1)
        padded = shape + 2 * half
        strides = np.array([padded[1] * padded[2], padded[2], 1], dtype=np.int64)
        inside = np.argwhere(problem.mask) + half
        self.mask_padded = np.ascontiguousarray(inside @ strides, dtype=np.int64)
        self.strides = strides
        self.label = np.full(int(padded.prod()), -1, dtype=np.int64)
        self.clusters = bool(np.isfinite(problem.cluster_threshold))
        self.threshold = float(problem.cluster_threshold) if self.clusters else 0.0
        if problem.method == "label-permutation":
            rows = sparse.csr_matrix(problem.indicators)
            rows.sum_duplicates()
            self.indptr = np.ascontiguousarray(rows.indptr, dtype=np.int64)
            self.indices = np.ascontiguousarray(rows.indices, dtype=np.int64)
            self.total = np.bincount(self.indices, minlength=rows.shape[1]).astype(np.float64)
        else:
            assert problem.offsets is not None and problem.null_ijk is not None
            lookup = np.full(int(padded.prod()), -1, dtype=np.int64)
            lookup[self.mask_padded] = np.arange(self.mask_padded.size)
            self.lookup = lookup
            self.offsets = np.ascontiguousarray(problem.offsets @ strides, dtype=np.int64)
            self.null_padded = np.ascontiguousarray((problem.null_ijk + half) @ strides)
            self.starts = np.ascontiguousarray(problem.experiment_starts, dtype=np.int64)

    def run(self, draws: NDArray[np.int64]) -> NDArray[np.float64]:
        """The (9, n) maxima for ``n`` rows of permutations or focus draws."""
        out = np.zeros((_chi2_kernels.N_OUTPUTS, draws.shape[0]))
        draws = np.ascontiguousarray(draws, dtype=np.int64)
        if self.problem.method == "label-permutation":
            _chi2_kernels.run_label_permutations(
                draws,
                self.problem.n1,
                self.indptr,
                self.indices,
                self.total,
                self.mask_padded,
                self.threshold,
                self.clusters,
                self.label,
                self.strides,
                out,
            )
        else:
            _chi2_kernels.run_random_foci(
                draws,
                self.null_padded,
                self.starts,
                self.problem.n1,
                self.offsets,
                self.lookup,
                self.mask_padded,
                self.threshold,
                self.clusters,
                self.label,
                self.strides,
                out,
            )
        return out


def block_permutations(seed: int | None, block: int, n_total: int) -> NDArray[np.int64]:
    """Block ``block``'s (BLOCK_ITERATIONS, n_total) experiment orders (group 1 first)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))
    orders = np.broadcast_to(np.arange(n_total, dtype=np.int64), (BLOCK_ITERATIONS, n_total))
    return rng.permuted(orders, axis=1)


def _draws(problem: Chi2NullProblem, block: Block) -> NDArray[np.int64]:
    if block.draws is not None:
        return block.draws
    if problem.method == "label-permutation":
        return block_permutations(block.seed, block.index, problem.n1 + problem.n2)[: block.count]
    assert problem.null_ijk is not None
    n_null = int(problem.null_ijk.shape[0])
    return block_draws(block.seed, block.index, n_null, problem.n_foci)[: block.count]


def _setup(problem: Chi2NullProblem) -> _Engine:
    return _Engine(problem)


def _work(engine: _Engine, block: Block) -> tuple[int, tuple[NDArray[np.float64], ...]]:
    return block.index, tuple(engine.run(_draws(engine.problem, block)))


def run_chi2_null(
    problem: Chi2NullProblem,
    n_iters: int,
    seed: int | None,
    n_jobs: int = 1,
    executor: Executor | Client | None = None,
    progress=None,
    draws: NDArray[np.integer] | None = None,
) -> Chi2Null:
    """Run ``n_iters`` iterations of ``problem``'s null.

    ``draws`` replaces the random draws, to reproduce another tool's iterations exactly: for
    label permutation, (n_iters, n1 + n2) experiment orders whose first n1 entries form group
    1 (experiments numbered as in ``problem.indicators``); for random foci, (n_iters, n_foci)
    indices into ``problem.null_ijk``. ``seed`` is then unused.
    """
    if n_iters < 1:
        raise ValueError(f"n_iters must be at least 1, got {n_iters}")
    if draws is not None:
        draws = np.asarray(draws, dtype=np.int64)
        if draws.shape != (n_iters, problem.draw_width):
            raise ValueError(
                f"draws must have shape ({n_iters}, {problem.draw_width}), got {draws.shape}"
            )
        bound = (
            problem.n1 + problem.n2
            if problem.method == "label-permutation"
            else int(problem.null_ijk.shape[0])  # type: ignore[union-attr]
        )
        if draws.size and (draws.min() < 0 or draws.max() >= bound):
            raise ValueError("draws are out of range for this problem")
    if seed is None and draws is None:
        seed = int(np.random.SeedSequence().entropy)
    executor = executor_for(executor, n_jobs)
    start = time.perf_counter()
    blocks = seeded_blocks(n_iters, seed, draws)
    warm_up()
    clusters = bool(np.isfinite(problem.cluster_threshold))
    collected, n_run, _ = _collect(
        executor.map_blocks(_setup, problem, _work, blocks), n_iters, progress, None, clusters
    )
    values = np.concatenate(collected, axis=1)[:, :n_run]
    return Chi2Null(
        values=values,
        n_iters=n_run,
        seed=seed if draws is None else None,
        method=problem.method,
        clusters=clusters,
        seconds=time.perf_counter() - start,
    )


@functools.cache
def warm_up() -> None:
    """Compile both kernels (or load them from numba's cache) once, on a tiny problem."""
    mask = np.zeros((3, 3, 3), dtype=bool)
    mask[1, 1, 1:3] = True
    indicators = sparse.csr_matrix(np.array([[1.0, 0.0], [1.0, 1.0]]))
    one = np.zeros((1, 3), dtype=np.intp)
    for problem in (
        Chi2NullProblem("label-permutation", 1, 1, mask, 1.0, indicators=indicators),
        Chi2NullProblem(
            "random-foci",
            1,
            1,
            mask,
            1.0,
            offsets=one,
            experiment_starts=np.array([0, 1, 2], dtype=np.intp),
            null_ijk=np.argwhere(mask),
        ),
    ):
        _Engine(problem).run(np.zeros((1, 2), dtype=np.int64) + np.array([[0, 1]]))
