"""ALE subtraction: where two sets of experiments converge differently (Eickhoff et al. 2012).

The statistic is the difference of the two groups' ALE maps; its voxel-wise null comes from
randomly reassigning the pooled experiments to two groups of the observed sizes, as in NiMARE
0.22.1's ``ALESubtraction`` (``nimare/meta/cbma/ale.py``), whose numbers these are apart from
the random stream:

* observed: ALE of each group from its MA maps (float32, as NiMARE stores them), the
  difference taken in float32 (``stat_desc-group1MinusGroup2``);
* null: for each permutation the same difference, in float64, of the relabelled groups; every
  voxel of the mask is tested (NiMARE's two-sided variant, not GingerALE's restriction to
  voxels significant in the main effects);
* per voxel, ``upper`` counts permutations whose difference is >= the observed one and
  ``lower`` those <= it; p = 2 min(upper, lower) / n clipped to [1/n, 1 - 1/n], z is
  two-tailed and signed by ``lower - upper`` (NiMARE's ``_finalize_alediff_tail_counts``), so
  a voxel no experiment reaches gets p = 1 - 1/n and z = 0;
* each permutation's maximum |difference| over the mask is kept as NiMARE's voxel-level FWE
  null (``values_level-voxel_corr-fwe_method-montecarlo``).

How it is fast: nothing is refitted. The group-1 log-survival of a voxel under a relabelling is
a sum of the log(1 - MA) of the experiments that reach it and are labelled 1, and voxels
reached by the same experiments share their pattern of labels; the compiled loop in
:mod:`neuroreview.cbma._perm_kernels` evaluates each voxel once per distinct pattern and
weights it by how many permutations gave that pattern. Only tail counts are kept, never the
(permutations x voxels) null.

Reproducibility: permutations come in blocks of :data:`PERMUTATION_BLOCK`; block b draws from
``default_rng(SeedSequence(seed, spawn_key=(b,)))``, so permutation k depends only on
(seed, k), and the work is split among workers by voxels, whose counts are integers: any
``n_jobs`` gives the same bytes.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from neuroreview import __version__
from neuroreview.cbma import _perm_kernels
from neuroreview.cbma.ale import ale_statistic
from neuroreview.cbma.base import AnalysisSpace
from neuroreview.cbma.inputs import CBMAInputError, CoordinateSet
from neuroreview.cbma.ma import ale_kernels, ale_ma, combine_order, name_list
from neuroreview.cbma.null import ale_null, summary_maps
from neuroreview.cbma.parallel import Executor, executor_for
from neuroreview.cbma.results import CBMAResult
from neuroreview.cbma.stats import p_to_logp, p_to_z

if TYPE_CHECKING:
    from distributed import Client

#: Permutations drawn from one child seed; fixed, so permutation k depends on (seed, k) only.
PERMUTATION_BLOCK = 500

#: How many pieces the voxels are cut into for workers; fixed, independent of ``n_jobs``.
N_TASKS = 32

#: Sets of up to this many experiments list their patterns in a table of 2**bits slots.
TABLE_BITS = 20

#: NiMARE's name for the per-permutation maximum |difference|.
VFWE_NULL = "values_level-voxel_corr-fwe_method-montecarlo"

CONTRAST = "group1MinusGroup2"

#: Most (voxel, pattern) sums handed to numpy's exp at once, to bound the buffers.
PAIRS_PER_CALL = 1 << 18


@dataclass(frozen=True, eq=False)
class PermutationProblem:
    """The pooled experiments as arrays the permutation loop reads.

    Voxels are grouped into sets of identical reaching experiments: set s has experiments
    ``members[member_ptr[s]:member_ptr[s + 1]]`` (sorted) and voxels
    ``voxels[voxel_ptr[s]:voxel_ptr[s + 1]]``. Voxel v's log(1 - MA) values, one per member in
    the same order, are ``log_keep[col_ptr[v]:col_ptr[v + 1]]``; ``observed`` is its observed
    difference. Experiments ``0:n_group1`` form group 1.
    """

    member_ptr: NDArray[np.int64]
    members: NDArray[np.int64]
    voxel_ptr: NDArray[np.int64]
    voxels: NDArray[np.int64]
    col_ptr: NDArray[np.int64]
    log_keep: NDArray[np.float64]
    observed: NDArray[np.float64]
    n_experiments: int
    n_group1: int
    own_observed: bool = False

    @classmethod
    def build(
        cls,
        ma: sparse.spmatrix,
        observed: NDArray[np.float64],
        n_group1: int,
        own_observed: bool = False,
    ) -> PermutationProblem:
        """From the pooled MA maps (group 1's rows first) and the observed difference.

        With ``own_observed`` the tails are taken about the observed difference recomputed in
        float64 by the null's arithmetic instead of ``observed`` (see ``exact_ties``).
        """
        csc = sparse.csc_matrix(ma)
        csc.sort_indices()
        n_experiments, n_voxels = csc.shape
        # log1p of the float32 values, in float32, then summed in float64: NiMARE's arithmetic.
        log_keep = np.log1p(-csc.data.astype(np.float32)).astype(np.float64)
        counts = np.diff(csc.indptr)
        rows = np.repeat(np.arange(n_voxels), counts)
        membership = np.zeros((n_voxels, n_experiments), dtype=bool)
        membership[rows, csc.indices] = True
        packed = np.ascontiguousarray(np.packbits(membership, axis=1))
        del membership
        keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        voxels = np.argsort(inverse, kind="stable").astype(np.int64)
        per_set = np.bincount(inverse.ravel(), minlength=first.size)
        voxel_ptr = np.concatenate([[0], np.cumsum(per_set)]).astype(np.int64)
        sizes = counts[first]
        member_ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        members = np.concatenate(
            [csc.indices[csc.indptr[v] : csc.indptr[v + 1]] for v in first]
            or [np.zeros(0, dtype=np.int64)]
        ).astype(np.int64)
        return cls(
            member_ptr=member_ptr,
            members=members,
            voxel_ptr=voxel_ptr,
            voxels=voxels,
            col_ptr=csc.indptr.astype(np.int64),
            log_keep=log_keep,
            observed=np.ascontiguousarray(observed, dtype=np.float64),
            n_experiments=int(n_experiments),
            n_group1=int(n_group1),
            own_observed=own_observed,
        )

    @property
    def n_voxels(self) -> int:
        return int(self.observed.shape[0])

    @property
    def n_sets(self) -> int:
        return int(self.member_ptr.shape[0] - 1)

    def tasks(self, n_iters: int) -> list[tuple[int, int]]:
        """Runs of sets of about equal work, :data:`N_TASKS` of them at most."""
        k = np.diff(self.member_ptr).astype(np.float64)
        n_vox = np.diff(self.voxel_ptr).astype(np.float64)
        patterns = np.minimum(np.exp2(np.minimum(k, 60.0)), n_iters)
        cost = n_iters * (k + 1.0) + n_vox * patterns * (k + 10.0)
        edges = np.searchsorted(np.cumsum(cost), cost.sum() * np.arange(1, N_TASKS) / N_TASKS)
        bounds = np.unique(np.concatenate([[0], edges, [self.n_sets]]))
        return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


@dataclass(frozen=True, eq=False)
class PermutationNull:
    """Per voxel, how many permutations reached its difference from above and from below;
    per permutation, the largest |difference| over the mask."""

    upper: NDArray[np.int64]
    lower: NDArray[np.int64]
    max_abs: NDArray[np.float64]
    n_iters: int
    seed: int | None
    seconds: float


def permutation_labels(
    seed: int | None, n_iters: int, n_experiments: int, n_group1: int
) -> NDArray[np.uint8]:
    """Group-1 indicators (n_iters x n_experiments), each row with ``n_group1`` ones.

    Block b of :data:`PERMUTATION_BLOCK` rows shuffles each row with its own child generator,
    so row k is the same whatever ``n_iters`` is.
    """
    n_blocks = -(-n_iters // PERMUTATION_BLOCK)
    labels = np.zeros((n_blocks * PERMUTATION_BLOCK, n_experiments), dtype=np.uint8)
    for b in range(n_blocks):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(b,)))
        order = rng.permuted(
            np.broadcast_to(np.arange(n_experiments), (PERMUTATION_BLOCK, n_experiments)), axis=1
        )
        rows = b * PERMUTATION_BLOCK + np.arange(PERMUTATION_BLOCK)
        labels[rows[:, None], order[:, :n_group1]] = 1
    return labels[:n_iters]


class _Worker:
    """Scratch for one worker: the pattern table, per-permutation buffers, the sums buffers."""

    def __init__(self, payload: tuple[PermutationProblem, NDArray[np.uint8]]) -> None:
        self.problem, self.labels = payload
        n_iters = self.labels.shape[0]
        k_max = int(np.diff(self.problem.member_ptr).max(initial=0))
        self.table_bits = min(TABLE_BITS, k_max)
        self.slot = np.full(1 << self.table_bits, -1, dtype=np.int64)
        self.codes = np.zeros(n_iters, dtype=np.int64)
        self.pattern_of = np.zeros(n_iters, dtype=np.int64)
        self.ucode = np.zeros(n_iters + 1, dtype=np.int64)
        self.ucount = np.zeros(n_iters + 1, dtype=np.int64)
        self.umax = np.zeros(n_iters + 1, dtype=np.float64)
        self.pairs = max(PAIRS_PER_CALL, n_iters + 1)
        self.a = np.zeros(self.pairs)
        self.b = np.zeros(self.pairs)

    def run(
        self, task: tuple[int, int]
    ) -> tuple[tuple[int, int], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        problem, kernels = self.problem, _perm_kernels
        lo, hi = task
        base = int(problem.voxel_ptr[lo])
        n_positions = int(problem.voxel_ptr[hi]) - base
        upper = np.zeros(n_positions, dtype=np.int64)
        lower = np.zeros(n_positions, dtype=np.int64)
        absmax = np.zeros(self.labels.shape[0], dtype=np.float64)
        own = problem.own_observed
        for s in range(lo, hi):
            n_u = kernels.encode_set(
                s,
                problem.member_ptr,
                problem.members,
                self.labels,
                self.table_bits,
                self.slot,
                self.codes,
                self.pattern_of,
                self.ucode,
                self.ucount,
            )
            width = n_u + 1 if own else n_u
            step = max(1, self.pairs // width)
            self.umax[:n_u] = 0.0
            for first in range(int(problem.voxel_ptr[s]), int(problem.voxel_ptr[s + 1]), step):
                last = min(first + step, int(problem.voxel_ptr[s + 1]))
                kernels.set_sums(
                    s, first, last, n_u, own, problem.member_ptr, problem.members,
                    problem.voxels, problem.col_ptr, problem.log_keep, self.labels,
                    problem.n_group1, self.ucode, self.a, self.b,
                )  # fmt: skip
                n = (last - first) * width
                # NiMARE's expression, with numpy's exp (see _perm_kernels on ties).
                diff = (1.0 - np.exp(self.a[:n])) - (1.0 - np.exp(self.b[:n]))
                kernels.tally_set(
                    first, last, n_u, own, problem.voxels, problem.observed, diff,
                    self.ucount, self.umax, base, upper, lower,
                )  # fmt: skip
            kernels.raise_maxima(n_u, self.umax, self.pattern_of, absmax)
        return task, upper, lower, absmax


def _work(
    worker: _Worker, task: tuple[int, int]
) -> tuple[tuple[int, int], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    return worker.run(task)


def run_permutations(
    problem: PermutationProblem,
    n_iters: int,
    seed: int | None,
    n_jobs: int = 1,
    executor: Executor | Client | None = None,
    labels: ArrayLike | None = None,
) -> PermutationNull:
    """Tail counts and maxima of ``n_iters`` relabellings of ``problem``'s experiments.

    ``executor`` (an Executor or a ``distributed.Client``) overrides ``n_jobs``; the voxel
    pieces are fixed, so every executor gives the same bytes.

    ``labels`` (n_iters x n_experiments, 1 for group 1, columns in the problem's experiment
    order) replaces the random relabellings, to reproduce another tool's permutations exactly;
    ``seed`` is then unused. ``executor`` overrides ``n_jobs``.
    """
    if n_iters < 1:
        raise ValueError(f"n_iters must be at least 1, got {n_iters}")
    if labels is not None:
        chosen = np.ascontiguousarray(labels, dtype=np.uint8)
        if chosen.shape != (n_iters, problem.n_experiments):
            raise ValueError(
                f"labels must have shape ({n_iters}, {problem.n_experiments}), got {chosen.shape}"
            )
        if chosen.max(initial=0) > 1 or np.any(chosen.sum(axis=1) != problem.n_group1):
            raise ValueError(f"every row of labels must hold {problem.n_group1} ones, rest zeros")
        seed = None
    else:
        if seed is None:
            seed = int(np.random.SeedSequence().entropy)
        chosen = permutation_labels(seed, n_iters, problem.n_experiments, problem.n_group1)
    executor = executor_for(executor, n_jobs)
    start = time.perf_counter()
    warm_up()
    upper = np.zeros(problem.n_voxels, dtype=np.int64)
    lower = np.zeros(problem.n_voxels, dtype=np.int64)
    max_abs = np.zeros(n_iters, dtype=np.float64)
    results = executor.map_blocks(_Worker, (problem, chosen), _work, problem.tasks(n_iters))
    for (lo, hi), task_upper, task_lower, task_max in results:
        where = problem.voxels[problem.voxel_ptr[lo] : problem.voxel_ptr[hi]]
        upper[where] = task_upper
        lower[where] = task_lower
        np.maximum(max_abs, task_max, out=max_abs)
    return PermutationNull(
        upper=upper,
        lower=lower,
        max_abs=max_abs,
        n_iters=n_iters,
        seed=seed,
        seconds=time.perf_counter() - start,
    )


def tail_counts_to_p(
    upper: NDArray[np.int64], lower: NDArray[np.int64], n_iters: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Two-sided p and the sign of the effect, as NiMARE's ``_finalize_alediff_tail_counts``.

    p = 2 min(upper, lower) / n, kept within [1/n, 1 - 1/n]; the sign is that of
    ``lower - upper`` (positive where few permutations reach the observed difference from
    above, i.e. group 1 > group 2). NiMARE stores p as float32; we keep float64.
    """
    smallest = 1.0 / n_iters
    p = 2.0 * np.minimum(upper / n_iters, lower / n_iters)
    p = np.maximum(smallest, np.minimum(p, 1.0 - smallest))
    return p, np.sign(lower - upper).astype(np.float64)


@functools.cache
def warm_up() -> None:
    """Compile the kernel (or load it from numba's cache) on a one-voxel problem."""
    ma = sparse.csr_matrix(np.array([[0.5], [0.25]], dtype=np.float32))
    problem = PermutationProblem.build(ma, np.zeros(1), 1)
    labels = np.array([[1, 0], [0, 1]], dtype=np.uint8)
    _Worker((problem, labels)).run((0, problem.n_sets))
    _Worker((replace(problem, own_observed=True), labels)).run((0, problem.n_sets))


def _check_groups(
    groups: Sequence[CoordinateSet | None], names: tuple[str, str]
) -> tuple[CoordinateSet, CoordinateSet]:
    for group, name in zip(groups, names, strict=True):
        n = 0 if group is None else group.n_experiments
        if n < 2:
            noun = "experiment" if n == 1 else "experiments"
            raise CBMAInputError(
                f"group {name!r} has {n} {noun}; a permutation test needs at least 2 "
                "experiments in each group"
            )
    first, second = groups
    assert first is not None and second is not None
    shared = sorted(set(first.experiment_ids) & set(second.experiment_ids))
    if shared:
        raise CBMAInputError(
            f"experiments {name_list(shared)} are in both group {names[0]!r} and group "
            f"{names[1]!r}; each experiment must belong to one group for the groups to be "
            "compared by relabelling"
        )
    return first, second


class ALESubtraction:
    """ALE subtraction (Laird et al. 2005; Eickhoff et al. 2012), as NiMARE's ``ALESubtraction``.

    ``fit(group1, group2)`` gives NiMARE's maps: ``stat``/``p``/``z``/``logp`` with
    ``_desc-group1MinusGroup2`` (z > 0 where group 1 converges more) and each group's own
    uncorrected ALE maps (``_desc-group1``, ``_desc-group2``). Each group needs at least two
    experiments. With ``n1`` and ``n2`` experiments there are only C(n1 + n2, n1) distinct
    relabellings; like NiMARE we do not refuse fewer than ``n_iters`` (the permutations then
    repeat, which is harmless for the p-values' expectation but makes 1/n_iters a finer
    resolution than the test has); ``settings["distinct_labellings"]`` records the number.

    ``exact_ties`` (off by default, so that maps equal NiMARE's) fixes a flaw of NiMARE's test:
    it compares each permutation's float64 difference with the float32 observed map, so where
    a relabelling reproduces the observed grouping of the experiments reaching a voxel (half of
    all relabellings at a voxel reached by one experiment) the tie is broken by which way the
    observed value was rounded, and about 40% of the voxels reached by a single experiment get
    p = 1/n_iters. With ``exact_ties`` the observed difference is recomputed in the null's
    float64 arithmetic, so such relabellings count as ties, as they are.
    """

    method = "ale_subtraction"

    def __init__(
        self,
        n_iters: int = 10_000,
        seed: int | None = 0,
        n_jobs: int = 1,
        *,
        fwhm: float | None = None,
        sample_size: float | None = None,
        space: AnalysisSpace | None = None,
        exact_ties: bool = False,
    ) -> None:
        if n_iters < 1:
            raise ValueError(f"n_iters must be at least 1, got {n_iters}")
        if fwhm is not None and sample_size is not None:
            raise ValueError("give at most one of fwhm and sample_size")
        for name, value in (("fwhm", fwhm), ("sample_size", sample_size)):
            if value is not None and not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        self.n_iters = int(n_iters)
        self.seed = seed
        self.n_jobs = n_jobs
        self.fwhm = fwhm
        self.sample_size = sample_size
        self.space = space if space is not None else AnalysisSpace.default()
        self.exact_ties = exact_ties

    def fit(
        self,
        group1: CoordinateSet,
        group2: CoordinateSet,
        names: tuple[str, str] = ("group1", "group2"),
        *,
        labels: ArrayLike | None = None,
        executor: Executor | Client | None = None,
    ) -> CBMAResult:
        """Compare ``group1`` with ``group2``; ``names`` label them in messages and settings.

        ``labels`` fixes the relabellings (see :func:`run_permutations`; columns are group 1's
        experiments in id order, then group 2's), e.g. to reproduce NiMARE's own permutations.
        """
        first, second = _check_groups((group1, group2), names)
        mas, stats, maps = [], [], {}
        for label, group in (("group1", first), ("group2", second)):
            kernels = ale_kernels(
                group,
                self.space.grid.voxel_size,
                fwhm=self.fwhm,
                sample_size=self.sample_size,
            )
            ma = ale_ma(group, self.space, kernels)[combine_order(group)]
            stat = ale_statistic(ma)
            group_maps = summary_maps(stat, ale_null(ma, self.space.n_voxels))
            maps |= {f"{kind}_desc-{label}": values for kind, values in group_maps.items()}
            mas.append(ma)
            stats.append(stat)
        observed = (stats[0].astype(np.float32) - stats[1].astype(np.float32)).astype(np.float64)
        problem = PermutationProblem.build(
            sparse.vstack(mas, format="csr"), observed, first.n_experiments, self.exact_ties
        )
        null = run_permutations(
            problem, self.n_iters, self.seed, self.n_jobs, executor=executor, labels=labels
        )
        p, sign = tail_counts_to_p(null.upper, null.lower, self.n_iters)
        maps |= {
            f"stat_desc-{CONTRAST}": observed,
            f"p_desc-{CONTRAST}": p,
            f"z_desc-{CONTRAST}": p_to_z(p, tail="two") * sign + 0.0,
            f"logp_desc-{CONTRAST}": p_to_logp(p),
        }
        return CBMAResult(
            estimator=self,  # type: ignore[arg-type]
            space=self.space,
            maps=maps,
            null_distributions={VFWE_NULL: null.max_abs},
            descriptions=(self._description(first, second, names, null),),
            settings=self._settings(first, second, names, null, problem),
        )

    def _settings(
        self,
        first: CoordinateSet,
        second: CoordinateSet,
        names: tuple[str, str],
        null: PermutationNull,
        problem: PermutationProblem,
    ) -> dict[str, object]:
        return {
            "method": self.method,
            "kernel": "gaussian",
            "fwhm": self.fwhm,
            "sample_size": self.sample_size,
            "n_iters": self.n_iters,
            "seed": null.seed,
            "labels_given": null.seed is None,
            "permutation_block": PERMUTATION_BLOCK,
            "exact_ties": self.exact_ties,
            "group_names": list(names),
            "group_sizes": [first.n_experiments, second.n_experiments],
            "group_foci": [first.n_foci, second.n_foci],
            "distinct_labellings": math.comb(
                first.n_experiments + second.n_experiments, first.n_experiments
            ),
            "voxel_sets": problem.n_sets,
            "permutation_seconds": round(null.seconds, 3),
        }

    def _description(
        self,
        first: CoordinateSet,
        second: CoordinateSet,
        names: tuple[str, str],
        null: PermutationNull,
    ) -> str:
        if self.fwhm is not None:
            width = f"a FWHM of {self.fwhm:g} mm for every experiment"
        elif self.sample_size is not None:
            width = f"a FWHM derived from a sample size of {self.sample_size:g}"
        else:
            width = "a FWHM derived from each experiment's sample size (Eickhoff et al., 2009)"
        seed = (
            f"seed {null.seed}" if null.seed is not None else "relabellings supplied by the caller"
        )
        return (
            "An activation likelihood estimation (ALE) subtraction analysis (Laird et al., "
            f"2005; Eickhoff et al., 2012) was performed with neuroreview {__version__}, "
            f"comparing {names[0]!r} ({first.n_experiments} experiments, {first.n_foci} foci) "
            f"with {names[1]!r} ({second.n_experiments} experiments, {second.n_foci} foci) "
            f"within a brain mask of {self.space.n_voxels} voxels. Foci were modelled as 3-D "
            f"Gaussians with {width}, and the ALE map of each group was computed; their "
            "difference was tested at every voxel against a null distribution obtained by "
            "randomly reassigning the pooled experiments to two groups of the original sizes "
            f"({self.n_iters} permutations, {seed}). p-values were two-sided (twice the smaller "
            "tail share, without assuming a symmetric null) and converted to signed z-values, "
            "following NiMARE 0.22 (Salo et al., 2023)."
        )
