"""The Monte Carlo null of a CBMA statistic: maxima over random placements of the foci.

Each iteration places every focus on a voxel drawn uniformly (with replacement) from
``problem.null_ijk``, recomputes the summary statistic inside the mask, and records its maximum
and the size and mass of its largest face-connected cluster above the cluster-forming
threshold: NiMARE's ``correct_fwe_montecarlo`` null, value for value (see
:mod:`neuroreview.cbma._mc_kernels` for how, and why it is fast).

Reproducibility: iterations come in blocks of :data:`BLOCK_ITERATIONS`; block b draws from
``numpy.random.default_rng(SeedSequence(seed, spawn_key=(b,)))`` (the b-th child of
``SeedSequence(seed).spawn``). How blocks are spread over workers therefore cannot change a
single draw, a run of N iterations is a prefix of a run of M > N, and early stopping (which
only ever stops at fixed iteration counts) gives the same result for any ``n_jobs``.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from neuroreview.cbma import _mc_counts, _mc_kernels
from neuroreview.cbma.base import Combine, NullProblem
from neuroreview.cbma.parallel import Executor, make_executor

#: Iterations per block. Fixed: changing it changes which draws a seed gives.
BLOCK_ITERATIONS = 100

#: ALE iterations are pruned (exact values only where an upper bound allows a maximum or a
#: suprathreshold voxel). Up to this many kernels deep on average, by each kernel's maximum
#: over small cells; deeper, as in a 900-experiment dataset, nearly every cell passes that
#: bound, so a separable envelope of the (Gaussian) kernels bounds the ALE instead, and a
#: kernel set that is not separable is not pruned.
PRUNE_COVERAGE = 20.0

#: Counts up to this many (experiments for MKDA, foci for KDA) run in 16-bit integers, beyond
#: in 32-bit: a voxel can never count more.
COUNT_DTYPE_LIMIT = int(np.iinfo(np.int16).max)

_COMBINE_CODE = {
    Combine.ALE: _mc_kernels.ALE,
    Combine.MKDA: _mc_kernels.MKDA,
    Combine.KDA: _mc_kernels.KDA,
}


@dataclass(frozen=True)
class EarlyStop:
    """Stop once the FWE thresholds are known to within ``tolerance`` (relative).

    At every multiple of ``check_every`` iterations the distribution-free ``confidence``
    interval of the ``1 - alpha`` quantile of each null (maximum statistic, and the largest
    cluster's size and mass when clusters are formed) is taken from order statistics (the
    binomial interval); the run stops once every interval's width is at most ``tolerance``
    times its quantile. Checks happen only at those counts, so the result does not depend on
    ``n_jobs``.
    """

    tolerance: float = 0.01
    confidence: float = 0.95
    check_every: int = 1000
    alpha: float = 0.05

    def __post_init__(self) -> None:
        if not self.tolerance > 0:
            raise ValueError(f"tolerance must be positive, got {self.tolerance}")
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence must be in (0, 1), got {self.confidence}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.check_every < 1:
            raise ValueError(f"check_every must be at least 1, got {self.check_every}")

    def converged(self, samples: list[NDArray[np.float64]]) -> bool:
        """Whether every sample's quantile interval is narrow enough."""
        return all(self.relative_width(sample) <= self.tolerance for sample in samples)

    def relative_width(self, sample: NDArray[np.float64]) -> float:
        """Width of the quantile's confidence interval over the quantile (inf if unknown)."""
        from scipy import stats  # here: importing scipy.stats costs half a second of start-up

        n = sample.size
        q = 1.0 - self.alpha
        tail = (1.0 - self.confidence) / 2.0
        # Order statistics X(lo) <= X(hi) (1-based) with P(X(lo) <= quantile < X(hi)) >= confidence.
        lo = int(stats.binom.ppf(tail, n, q))
        hi = int(stats.binom.ppf(1.0 - tail, n, q)) + 1
        if lo < 1 or hi > n:
            return math.inf
        ordered = np.sort(sample)
        width = ordered[hi - 1] - ordered[lo - 1]
        if width == 0.0:
            return 0.0
        estimate = ordered[min(n, math.ceil(q * n)) - 1]
        return width / abs(estimate) if estimate != 0.0 else math.inf


@dataclass(frozen=True, eq=False)
class MonteCarloNull:
    """Per-iteration maxima; ``n_iters`` is how many ran (fewer than asked if stopped early).

    ``seed`` is the entropy the draws came from (drawn from the OS when none was given), so
    any run can be repeated. Cluster arrays are zeros when no clusters were formed.
    """

    max_stat: NDArray[np.float64]
    max_cluster_size: NDArray[np.float64]
    max_cluster_mass: NDArray[np.float64]
    n_iters: int
    n_iters_requested: int
    seed: int | None
    clusters: bool
    stopped_early: bool
    seconds: float


@dataclass(frozen=True)
class Block:
    """One seeded block of iterations: its index (and so its random stream), how many
    iterations it holds (the last may be short), and given draws if the caller supplied them."""

    index: int
    count: int
    seed: int | None
    draws: NDArray[np.intp] | None


def seeded_blocks(n_iters: int, seed: int | None, draws: NDArray | None) -> Iterator[Block]:
    """The blocks of ``n_iters`` iterations: block b always holds iterations
    b*BLOCK_ITERATIONS onwards, so its stream (and the result) never depends on the worker count."""
    n_blocks = -(-n_iters // BLOCK_ITERATIONS)
    for b in range(n_blocks):
        given = None if draws is None else draws[b * BLOCK_ITERATIONS : (b + 1) * BLOCK_ITERATIONS]
        yield Block(b, min(BLOCK_ITERATIONS, n_iters - b * BLOCK_ITERATIONS), seed, given)


class _Engine:
    """A :class:`NullProblem` laid out for the compiled kernels (built once per worker)."""

    def __init__(self, problem: NullProblem) -> None:
        _check(problem)
        shape = np.asarray(problem.mask.shape, dtype=np.int64)
        halves = np.array([np.asarray(k.shape) // 2 for k in problem.kernels], dtype=np.int64)
        pad = np.maximum(halves.max(axis=0), 1)
        padded = shape + 2 * pad
        self.n_null = int(problem.null_ijk.shape[0])
        self.n_foci = problem.n_foci
        self.combine = _COMBINE_CODE[Combine(problem.combine)]
        self.threshold = float(problem.cluster_threshold)
        self.clusters = bool(np.isfinite(self.threshold))
        runs, values, reach = _kernel_runs(problem.kernels, halves)
        inmask = np.zeros(padded, dtype=np.float64)
        inside = tuple(slice(p, p + n) for p, n in zip(pad, shape, strict=True))
        inmask[inside] = problem.mask
        rows = inmask.reshape(-1, padded[2]) > 0
        has = rows.any(axis=1)
        weights = problem.weights
        # Shallow coverage: bound cells by each kernel's box maxima. Deep coverage: those
        # bounds pass nearly everywhere, but a separable envelope of the kernels stays tight.
        ale = self.combine == _mc_kernels.ALE
        deep = _coverage(problem) > PRUNE_COVERAGE
        separable = _separable_envelope(problem.kernels, halves) if ale and deep else None
        prune = ale and (not deep or separable is not None)
        if separable is None:
            separable = (np.zeros(0), np.zeros((0, 0)), np.zeros((0, 0)))
        self._arrays = (
            np.ascontiguousarray(problem.null_ijk + pad, dtype=np.int64),
            np.ascontiguousarray(problem.experiment_starts, dtype=np.int64),
            np.ascontiguousarray(problem.experiment_kernel, dtype=np.int64),
            np.ones(problem.n_experiments)
            if weights is None
            else np.ascontiguousarray(weights, dtype=np.float64),
            halves,
            reach,
            runs,
            values,
            1.0 - values,
            padded,
            inmask.ravel(),
            np.where(has, rows.argmax(axis=1), 0).astype(np.int64),
            np.where(has, padded[2] - rows[:, ::-1].argmax(axis=1), 0).astype(np.int64),
            _box_maxima(problem.kernels, halves),
            float(max(k.max() for k in problem.kernels)),
            prune,
            *separable,
        )
        self._label = np.full(int(padded.prod()), -1, dtype=np.int64)
        self._counts = _count_layout(problem, halves, padded, runs)
        if self._counts is not None:
            # A voxel counts at most every experiment (MKDA) or every focus (KDA).
            most = problem.n_experiments if self.combine == _mc_kernels.MKDA else problem.n_foci
            dtype = np.int16 if most <= COUNT_DTYPE_LIMIT else np.int32
            self._diff = np.zeros(int(padded.prod()), dtype=dtype)
            self._byte_mask = (inmask.ravel() > 0).astype(np.uint8)

    def run(self, draws: NDArray[np.intp]) -> tuple[NDArray[np.float64], ...]:
        """(max statistic, largest cluster size, largest cluster mass) per row of ``draws``."""
        n = draws.shape[0]
        out = np.zeros((3, n))
        if self._counts is not None:
            padded_shape, _, row_mask_lo, row_mask_hi = self._arrays[9:13]
            _mc_counts.run_count_iterations(
                self.combine == _mc_kernels.MKDA,
                np.ascontiguousarray(draws, dtype=np.int64),
                *self._arrays[:3],
                self._arrays[5],
                *self._counts,
                padded_shape,
                self._byte_mask,
                row_mask_lo,
                row_mask_hi,
                self.threshold if self.clusters else 0.0,
                self.clusters,
                self._diff,
                self._label,
                out[0],
                out[1],
                out[2],
            )
            return out[0], out[1], out[2]
        _mc_kernels.run_iterations(
            self.combine,
            np.ascontiguousarray(draws, dtype=np.int64),
            *self._arrays,
            self.threshold if self.clusters else 0.0,
            self.clusters,
            self._label,
            out[0],
            out[1],
            out[2],
        )
        return out[0], out[1], out[2]


def _count_layout(
    problem: NullProblem,
    halves: NDArray[np.int64],
    padded: NDArray[np.int64],
    runs: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64]] | None:
    """The counting engine's arrays (:mod:`~neuroreview.cbma._mc_counts`), or None when the
    statistic is not a count: ALE, weighted MKDA, a kernel value other than 1, a sphere row
    with a gap.

    Returns (row starts per kernel, rows: (di, dj, first k, length, flat offset of (di, dj))
    relative to the centre).
    """
    combine = Combine(problem.combine)
    if combine is Combine.ALE:
        return None
    if problem.weights is not None and np.any(np.asarray(problem.weights) != 1.0):
        return None
    strides = np.array([padded[1] * padded[2], padded[2], 1], dtype=np.int64)
    starts, table = [0], []
    for index, (kernel, half) in enumerate(zip(problem.kernels, halves, strict=True)):
        if not np.all((kernel == 0.0) | (kernel == 1.0)):
            return None
        rows = kernel.reshape(-1, kernel.shape[2])
        for cell, row in enumerate(rows):
            k0, length = int(runs[index, 0, cell]), int(runs[index, 1, cell])
            if length == 0:
                continue
            if np.count_nonzero(row) != length:
                return None
            di, dj = (int(x) for x in divmod(cell, kernel.shape[1]))
            di, dj = di - int(half[0]), dj - int(half[1])
            table.append((di, dj, k0, length, di * strides[0] + dj * strides[1]))
        starts.append(len(table))
    return (
        np.asarray(starts, dtype=np.int64),
        np.ascontiguousarray(np.asarray(table, dtype=np.int64).reshape(-1, 5).T),
    )


def _check(problem: NullProblem) -> None:
    if problem.n_foci < 1 or problem.null_ijk.shape[0] < 1:
        raise ValueError("a Monte Carlo null needs at least one focus and one null voxel")
    if problem.experiment_kernel.shape != (problem.n_experiments,):
        raise ValueError("experiment_kernel needs one kernel index per experiment")
    for kernel in problem.kernels:
        if kernel.ndim != 3 or any(n % 2 == 0 for n in kernel.shape):
            raise ValueError(f"kernels must be odd-sided 3-D arrays, got shape {kernel.shape}")
        if not np.all(np.isfinite(kernel)) or kernel.min() < 0:
            raise ValueError("kernel values must be finite and non-negative")
    if Combine(problem.combine) is Combine.ALE and max(k.max() for k in problem.kernels) >= 1:
        raise ValueError("ALE kernel values must be probabilities below 1")


def _coverage(problem: NullProblem) -> float:
    """How many kernels reach a mask voxel on average (foci x kernel support / mask size)."""
    support = np.array([np.count_nonzero(k) for k in problem.kernels])
    per_focus = np.repeat(support[problem.experiment_kernel], np.diff(problem.experiment_starts))
    return float(per_focus.sum() / max(int(problem.mask.sum()), 1))


def _box_maxima(
    kernels: tuple[NDArray[np.float64], ...], halves: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Per kernel, its maximum over every CELL-wide box: entry a (per axis) covers the kernel
    indices [a - CELL + 1, a] (see ``_mc_kernels._bound_spans``)."""
    cell = _mc_kernels.CELL
    size = 2 * halves.max(axis=0) + cell
    table = np.zeros((len(kernels), *size))
    for index, kernel in enumerate(kernels):
        block = np.pad(kernel, cell - 1)
        for axis in range(3):
            n = kernel.shape[axis] + cell - 1
            block = np.max(
                [np.take(block, np.arange(s, s + n), axis=axis) for s in range(cell)], axis=0
            )
        table[index, : block.shape[0], : block.shape[1], : block.shape[2]] = block
    return table


def _separable_envelope(
    kernels: tuple[NDArray[np.float64], ...], halves: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]] | None:
    """Factors (a, b per kernel, c per kernel) with kernel[i, j, k] <= a[i] b[j] c[k].

    Each kernel is factored through its centre row along each axis (exact for a Gaussian,
    which is separable), then ``a`` is scaled up until the product bounds every value; ``a``
    is shared (the largest over kernels) so the last convolution serves all kernels. All
    three are centred on the widest kernel's half-width. None when a kernel's centre is zero
    or its factors do not bound it within a factor of two (not separable enough to help).
    """
    wide = halves.max(axis=0)
    sep_a = np.zeros(2 * wide[0] + 1)
    sep_b = np.zeros((len(kernels), 2 * wide[1] + 1))
    sep_c = np.zeros((len(kernels), 2 * wide[2] + 1))
    for index, (kernel, half) in enumerate(zip(kernels, halves, strict=True)):
        hi, hj, hk = (int(x) for x in half)
        centre = float(kernel[hi, hj, hk])
        if not centre > 0:
            return None
        a = kernel[:, hj, hk] / centre
        b = kernel[hi, :, hk] / centre
        c = kernel[hi, hj, :].astype(np.float64)
        outer = a[:, None, None] * b[None, :, None] * c[None, None, :]
        if np.any((kernel > 0) & (outer <= 0)):
            return None
        ratio = np.max(np.divide(kernel, outer, out=np.zeros(kernel.shape), where=outer > 0))
        if ratio > 2.0:
            return None
        a = a * max(ratio, 1.0) * (1.0 + 1e-9)
        sl = slice(wide[0] - hi, wide[0] + hi + 1)
        sep_a[sl] = np.maximum(sep_a[sl], a)
        sep_b[index, wide[1] - hj : wide[1] + hj + 1] = b
        sep_c[index, wide[2] - hk : wide[2] + hk + 1] = c
    return sep_a, sep_b, sep_c


def _kernel_runs(
    kernels: tuple[NDArray[np.float64], ...], halves: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]:
    """Per kernel, (k0, length, first value) of each (di, dj) row's nonzero stretch.

    Returns the run table (kernels x 3 x rows; length 0 for an empty row), the concatenated
    values, and each kernel's reach (extent of its nonzero box minus one, per axis: two foci's
    supports can meet only if they are at most that far apart along every axis).
    """
    cells = max(int((2 * h[0] + 1) * (2 * h[1] + 1)) for h in halves)
    runs = np.zeros((len(kernels), 3, cells), dtype=np.int64)
    values: list[NDArray[np.float64]] = []
    reach = np.zeros((len(kernels), 3), dtype=np.int64)
    offset = 0
    for index, kernel in enumerate(kernels):
        nonzero = np.argwhere(kernel > 0)
        if nonzero.size:
            reach[index] = nonzero.max(axis=0) - nonzero.min(axis=0)
        rows = kernel.reshape(-1, kernel.shape[2])
        for cell, row in enumerate(rows):
            where = np.flatnonzero(row > 0)
            if where.size == 0:
                continue
            first, last = int(where[0]), int(where[-1]) + 1
            runs[index, :, cell] = (first - halves[index][2], last - first, offset)
            values.append(np.asarray(row[first:last], dtype=np.float64))
            offset += last - first
    flat = np.concatenate(values) if values else np.zeros(1)
    return runs, flat, reach


def _setup(problem: NullProblem) -> _Engine:
    return _Engine(problem)


def _work(engine: _Engine, block: Block) -> tuple[int, tuple[NDArray[np.float64], ...]]:
    draws = (
        block.draws
        if block.draws is not None
        else block_draws(block.seed, block.index, engine.n_null, engine.n_foci)[: block.count]
    )
    return block.index, engine.run(draws)


def block_draws(seed: int | None, block: int, n_null: int, n_foci: int) -> NDArray[np.int64]:
    """The draws of block ``block``: (BLOCK_ITERATIONS, n_foci) indices into the null voxels."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))
    return rng.integers(0, n_null, size=(BLOCK_ITERATIONS, n_foci), dtype=np.int64)


def run_null(
    problem: NullProblem,
    n_iters: int,
    seed: int | None,
    n_jobs: int = 1,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
    draws: NDArray[np.integer] | None = None,
    early_stop: EarlyStop | None = None,
) -> MonteCarloNull:
    """Run ``n_iters`` iterations (fewer if ``early_stop`` is met) of ``problem``'s null.

    ``draws`` (n_iters x n_foci indices into ``problem.null_ijk``, foci in the problem's order)
    replaces the random draws, to reproduce another tool's iterations exactly; ``seed`` is
    then unused. ``progress(n)`` is called with the number of iterations done after each block.
    ``executor`` overrides ``n_jobs``.
    """
    if n_iters < 1:
        raise ValueError(f"n_iters must be at least 1, got {n_iters}")
    if draws is not None:
        draws = np.asarray(draws)
        if draws.shape != (n_iters, problem.n_foci):
            raise ValueError(
                f"draws must have shape ({n_iters}, {problem.n_foci}), got {draws.shape}"
            )
        if draws.size and (draws.min() < 0 or draws.max() >= problem.null_ijk.shape[0]):
            raise ValueError("draws must index problem.null_ijk")
    if seed is None and draws is None:
        seed = int(np.random.SeedSequence().entropy)
    if executor is None:
        executor = make_executor(n_jobs)
    start = time.perf_counter()
    blocks = seeded_blocks(n_iters, seed, draws)
    warm_up()  # compile (or load) the kernels here, once, rather than in every worker at once
    collected, n_run, stopped = _collect(
        executor.map_blocks(_setup, problem, _work, blocks),
        n_iters,
        progress,
        early_stop,
        np.isfinite(problem.cluster_threshold),
    )
    values = np.concatenate(collected, axis=1)[:, :n_run] if collected else np.zeros((3, 0))
    return MonteCarloNull(
        max_stat=values[0],
        max_cluster_size=values[1],
        max_cluster_mass=values[2],
        n_iters=n_run,
        n_iters_requested=n_iters,
        seed=seed if draws is None else None,
        clusters=bool(np.isfinite(problem.cluster_threshold)),
        stopped_early=stopped,
        seconds=time.perf_counter() - start,
    )


def _collect(
    results: Iterator[tuple[int, tuple[NDArray[np.float64], ...]]],
    n_iters: int,
    progress: Callable[[int], None] | None,
    early_stop: EarlyStop | None,
    clusters: bool,
) -> tuple[list[NDArray[np.float64]], int, bool]:
    """Gather block results in order, checking ``early_stop`` at its fixed counts."""
    collected: list[NDArray[np.float64]] = []
    done = 0
    next_check = early_stop.check_every if early_stop is not None else n_iters
    try:
        for _, arrays in results:
            collected.append(np.stack(arrays))
            done += arrays[0].shape[0]
            if progress is not None:
                progress(min(done, n_iters))
            while early_stop is not None and next_check < n_iters and done >= next_check:
                sofar = np.concatenate(collected, axis=1)[:, :next_check]
                samples = list(sofar) if clusters else [sofar[0]]
                if early_stop.converged(samples):
                    return collected, next_check, True
                next_check += early_stop.check_every
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()
    return collected, n_iters, False


def kernels_cached() -> bool | None:
    """Whether numba's on-disk cache holds the compiled Monte Carlo kernels (None: cannot tell).

    The first analysis after installing compiles them, about 20 s on 2 cores; callers say so
    before the user waits. It looks at numba's cache index, which numba does not make public.
    """
    try:
        index = _mc_kernels.run_iterations._cache._cache_file._index_path
    except AttributeError:
        return None
    return Path(index).is_file()


@functools.cache
def warm_up() -> None:
    """Compile the kernels (or load them from numba's cache) on a two-voxel problem."""
    mask = np.zeros((3, 3, 3), dtype=bool)
    mask[1, 1, 1:3] = True
    problem = NullProblem(
        combine=Combine.ALE,
        kernels=(np.full((1, 1, 1), 0.5),),
        experiment_kernel=np.zeros(1, dtype=np.intp),
        experiment_starts=np.array([0, 1], dtype=np.intp),
        weights=None,
        mask=mask,
        null_ijk=np.argwhere(mask),
        cluster_threshold=0.1,
    )
    _Engine(problem).run(np.zeros((1, 1), dtype=np.int64))
