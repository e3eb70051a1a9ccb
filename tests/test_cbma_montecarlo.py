"""The Monte Carlo null: NiMARE's per-iteration values from the same draws, hand-enumerated
nulls, reproducibility across seeds and worker counts, and early stopping."""

from __future__ import annotations

import functools
import threading
import warnings

import numpy as np
import pytest

from cbma_data import CBMACase, pain_case, synthetic_cases
from neuroreview.cbma.ale import ALE
from neuroreview.cbma.base import Combine, NullProblem
from neuroreview.cbma.kda import KDA
from neuroreview.cbma.mkda import MKDADensity
from neuroreview.cbma.montecarlo import BLOCK_ITERATIONS, EarlyStop, block_draws, run_null
from neuroreview.cbma.parallel import SerialExecutor, ThreadExecutor, make_executor
from neuroreview.space import MNI152_2MM

#: Iterations for the same-draws comparisons: NiMARE takes 30-50 ms per iteration.
EXACT_ITERS = 200
NIMARE_KEYS = (
    "values_level-voxel_corr-fwe_method-montecarlo",
    "values_desc-size_level-cluster_corr-fwe_method-montecarlo",
    "values_desc-mass_level-cluster_corr-fwe_method-montecarlo",
)


def nimare_draws(estimator, coordinates, nimare_estimator, n_iters: int) -> np.ndarray:
    """NiMARE's FWE draws for a seeded estimator, as (n_iters, n_foci) in our focus order.

    NiMARE draws ``choice(n_null, size=(n_coords, n_iters))`` from its
    ``correct_fwe_montecarlo`` stream, one row per row of its coordinates table; rows are
    matched to our foci by experiment id and voxel (NiMARE may order foci differently within
    an experiment; foci sharing both are interchangeable).
    """
    n_null = estimator.space.null_ijk().shape[0]
    rng = nimare_estimator._get_rng("correct_fwe_montecarlo")
    theirs = rng.choice(n_null, size=(coordinates.n_foci, n_iters))
    pool: dict[tuple, list[int]] = {}
    ours_ijk = coordinates.ijk(MNI152_2MM)
    for f in range(coordinates.n_foci):
        key = (coordinates.experiment_ids[coordinates.experiment_index[f]], *ours_ijk[f].tolist())
        pool.setdefault(key, []).append(f)
    table = nimare_estimator.inputs_["coordinates"]
    rows = np.empty(coordinates.n_foci, dtype=np.intp)
    for row, key in enumerate(table[["id", "i", "j", "k"]].itertuples(index=False)):
        rows[pool[(key[0], int(key[1]), int(key[2]), int(key[3]))].pop()] = row
    return theirs[rows].T


_NIMARE_RUNS: dict[tuple, tuple] = {}


def nimare_fwe(case: CBMACase, method: str, n_iters: int, seed: int, n_cores: int = 1):
    """A seeded NiMARE estimator after its Monte Carlo FWE correction (cached per session)."""
    key = (case.name, method, n_iters, seed)
    if key not in _NIMARE_RUNS:
        _NIMARE_RUNS[key] = _run_nimare_fwe(case, method, n_iters, seed, n_cores)
    return _NIMARE_RUNS[key]


def _run_nimare_fwe(case: CBMACase, method: str, n_iters: int, seed: int, n_cores: int):
    from nimare.correct import FWECorrector
    from nimare.meta import cbma

    estimator = {"ale": cbma.ALE, "mkda": cbma.MKDADensity, "kda": cbma.KDA}[method](
        random_state=seed
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = estimator.fit(case.nimare_dataset())
        corrected = FWECorrector(
            method="montecarlo", n_iters=n_iters, voxel_thresh=0.001, n_cores=n_cores
        )
        corrected = corrected.transform(result)
    return estimator, corrected


OURS = {"ale": ALE, "mkda": MKDADensity, "kda": KDA}


@pytest.mark.parametrize(
    ("case", "method"),
    [
        (pain_case(), "ale"),
        (pain_case(), "mkda"),
        (pain_case(), "kda"),
        (synthetic_cases()[1], "ale"),
        (synthetic_cases()[2], "mkda"),
    ],
    ids=["pain-ale", "pain-mkda", "pain-kda", "medium-ale", "talairach-mkda"],
)
def test_same_draws_give_nimares_iterations(case: CBMACase, method: str) -> None:
    """Every iteration's max statistic, max cluster size and max cluster mass equal NiMARE's.

    Statistics to float32 rounding (NiMARE stores float32 maps and sums logs of float32
    kernels); sizes exactly.
    """
    nimare_estimator, corrected = nimare_fwe(case, method, EXACT_ITERS, 11)
    estimator = OURS[method]()
    estimator.fit(case.coordinates)
    threshold = estimator.p_to_summarystat(0.001)
    assert threshold == pytest.approx(nimare_estimator._p_to_summarystat(0.001), rel=1e-12)
    draws = nimare_draws(estimator, case.coordinates, nimare_estimator, EXACT_ITERS)
    null = run_null(estimator.null_problem(threshold), EXACT_ITERS, seed=None, draws=draws)
    theirs = [corrected.estimator.null_distributions_[key] for key in NIMARE_KEYS]
    np.testing.assert_allclose(null.max_stat, theirs[0], rtol=2e-7, atol=0)
    np.testing.assert_array_equal(null.max_cluster_size, theirs[1])
    np.testing.assert_allclose(null.max_cluster_mass, theirs[2], rtol=1e-6, atol=1e-9)
    assert null.n_iters == EXACT_ITERS and null.max_cluster_size.max() > 0


# --- hand-enumerated nulls ------------------------------------------------------------------


def line_problem(combine: Combine, kernel: np.ndarray, starts, threshold: float) -> NullProblem:
    """A mask of five voxels in a row (k = 1..5 of a 3 x 3 x 7 grid); foci drawn along it."""
    mask = np.zeros((3, 3, 7), dtype=bool)
    mask[1, 1, 1:6] = True
    starts = np.asarray(starts, dtype=np.intp)
    return NullProblem(
        combine=combine,
        kernels=(kernel,),
        experiment_kernel=np.zeros(starts.size - 1, dtype=np.intp),
        experiment_starts=starts,
        weights=None,
        mask=mask,
        null_ijk=np.argwhere(mask),
        cluster_threshold=threshold,
    )


KERNEL = np.array([0.1, 0.5, 0.2]).reshape(1, 1, 3)


def test_one_focus_null_is_the_kernel_at_each_null_voxel() -> None:
    """One focus: the null is the kernel placed at each of the five voxels, clipped by the mask."""
    problem = line_problem(Combine.ALE, KERNEL, [0, 1], threshold=0.15)
    null = run_null(problem, 5, seed=None, draws=np.arange(5).reshape(5, 1))
    np.testing.assert_array_equal(null.max_stat, [0.5] * 5)
    # Above 0.15: the peak (0.5) and the following voxel (0.2) unless the mask ends there.
    np.testing.assert_array_equal(null.max_cluster_size, [2, 2, 2, 2, 1])
    np.testing.assert_allclose(null.max_cluster_mass, [0.4] * 4 + [0.35])


def test_ale_unites_experiments_and_takes_the_maximum_within_one() -> None:
    """Two foci on one voxel: one experiment counts once (0.5), two give 1 - 0.5^2."""
    draws = np.array([[2, 2]])
    same = run_null(line_problem(Combine.ALE, KERNEL, [0, 2], 0.9), 1, None, draws=draws)
    two = run_null(line_problem(Combine.ALE, KERNEL, [0, 1, 2], 0.9), 1, None, draws=draws)
    assert same.max_stat[0] == 0.5
    assert two.max_stat[0] == pytest.approx(0.75, abs=1e-15)
    # Foci of one experiment two voxels apart: max(0.2, 0.1) at the voxel between the peaks,
    # so k = 2..5 hold 0.5, 0.2, 0.5, 0.2.
    apart = run_null(line_problem(Combine.ALE, KERNEL, [0, 2], 0.15), 1, None, draws=[[1, 3]])
    assert apart.max_cluster_size[0] == 4
    assert apart.max_cluster_mass[0] == pytest.approx(0.35 + 0.05 + 0.35 + 0.05)


def test_mkda_counts_experiments_and_kda_counts_foci() -> None:
    box = np.ones((1, 1, 3))
    draws = np.array([[2, 2, 3]])
    mkda = run_null(line_problem(Combine.MKDA, box, [0, 2, 3], 1.5), 1, None, draws=draws)
    kda = run_null(line_problem(Combine.KDA, box, [0, 2, 3], 1.5), 1, None, draws=draws)
    # Experiment 1 (two foci at k = 3) covers k = 2..4 once, experiment 2 (k = 4) covers 3..5.
    assert mkda.max_stat[0] == 2.0
    assert kda.max_stat[0] == 3.0  # KDA counts the two foci at k = 3 twice
    assert mkda.max_cluster_size[0] == 2 and kda.max_cluster_size[0] == 3


def test_clusters_join_across_faces_only() -> None:
    """Diagonal neighbours are two clusters (NiMARE's face connectivity), face neighbours one."""
    mask = np.ones((4, 4, 4), dtype=bool)
    null_ijk = np.argwhere(mask)
    index = {tuple(v): i for i, v in enumerate(null_ijk.tolist())}
    problem = NullProblem(
        combine=Combine.KDA,
        kernels=(np.ones((1, 1, 1)),),
        experiment_kernel=np.zeros(2, dtype=np.intp),
        experiment_starts=np.array([0, 1, 2]),
        weights=None,
        mask=mask,
        null_ijk=null_ijk,
        cluster_threshold=0.5,
    )
    draws = np.array(
        [
            [index[(1, 1, 1)], index[(2, 2, 1)]],
            [index[(1, 1, 1)], index[(1, 2, 1)]],
            [index[(1, 1, 1)], index[(2, 2, 2)]],
        ]
    )
    null = run_null(problem, 3, None, draws=draws)
    np.testing.assert_array_equal(null.max_cluster_size, [1, 2, 1])


def test_no_cluster_inference_with_an_infinite_threshold() -> None:
    problem = line_problem(Combine.ALE, KERNEL, [0, 1], threshold=np.inf)
    null = run_null(problem, 5, seed=1)
    assert not null.clusters
    assert not null.max_cluster_size.any() and not null.max_cluster_mass.any()


# --- reproducibility ------------------------------------------------------------------------


@functools.cache
def pain_problem() -> NullProblem:
    estimator = ALE()
    estimator.fit(pain_case().coordinates)
    return estimator.null_problem(estimator.p_to_summarystat(0.001))


def _bytes(null) -> bytes:
    return b"".join(
        a.tobytes() for a in (null.max_stat, null.max_cluster_size, null.max_cluster_mass)
    )


def test_identical_seeds_give_identical_bytes() -> None:
    first = run_null(pain_problem(), 150, seed=3)
    again = run_null(pain_problem(), 150, seed=3)
    other = run_null(pain_problem(), 150, seed=4)
    assert _bytes(first) == _bytes(again)
    assert _bytes(first) != _bytes(other)
    assert first.seed == 3


def test_a_shorter_run_is_a_prefix_of_a_longer_one() -> None:
    short = run_null(pain_problem(), 130, seed=5)
    long = run_null(pain_problem(), 260, seed=5)
    np.testing.assert_array_equal(short.max_stat, long.max_stat[:130])
    np.testing.assert_array_equal(short.max_cluster_mass, long.max_cluster_mass[:130])


def test_blocks_draw_from_spawned_seed_sequences() -> None:
    """Block b's draws are those of SeedSequence(seed).spawn(...)[b]."""
    child = np.random.SeedSequence(9).spawn(3)[2]
    expected = np.random.default_rng(child).integers(0, 50, size=(BLOCK_ITERATIONS, 4))
    np.testing.assert_array_equal(block_draws(9, 2, 50, 4), expected)


def test_worker_count_does_not_change_a_single_bit() -> None:
    serial = run_null(pain_problem(), 350, seed=8, executor=SerialExecutor())
    parallel = run_null(pain_problem(), 350, seed=8, executor=ThreadExecutor(2))
    assert _bytes(serial) == _bytes(parallel)


def test_three_threads_give_the_serial_bytes_too() -> None:
    serial = run_null(pain_problem(), 730, seed=5, executor=SerialExecutor())
    threads = run_null(pain_problem(), 730, seed=5, n_jobs=3)
    assert _bytes(serial) == _bytes(threads)


def test_each_thread_gets_a_state_of_its_own() -> None:
    """States hold scratch buffers: no two tasks may use one at the same time."""
    made: list[dict[str, int]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2, timeout=5)

    def setup(payload: int) -> dict[str, int]:
        state = {"busy": 0, "payload": payload}
        with lock:
            made.append(state)
        return state

    def work(state: dict[str, int], task: int) -> tuple[int, int]:
        state["busy"] += 1
        assert state["busy"] == 1, "a state was shared by two running tasks"
        if task < 2:
            barrier.wait()  # the first two tasks run at once, so two states must exist
        state["busy"] -= 1
        return task, state["payload"]

    results = list(ThreadExecutor(2).map_blocks(setup, 7, work, range(40)))
    assert results == [(task, 7) for task in range(40)]
    assert len(made) == 2


def test_threads_are_gone_when_a_run_ends_or_stops_early() -> None:
    before = {t.name for t in threading.enumerate()}
    blocks = ThreadExecutor(2).map_blocks(lambda p: p, 0, lambda s, t: t, range(1000))
    assert next(blocks) == 0
    blocks.close()  # an early stop: pending tasks are cancelled and the pool shut down
    left = {t.name for t in threading.enumerate()} - before
    assert not [name for name in left if name.startswith("neuroreview-mc")]


def test_more_than_one_job_means_threads() -> None:
    assert isinstance(make_executor(2), ThreadExecutor)
    assert isinstance(make_executor(1), SerialExecutor)


def test_progress_reports_iterations_done() -> None:
    seen: list[int] = []
    run_null(pain_problem(), 250, seed=1, progress=seen.append)
    assert seen == [100, 200, 250]


def test_seedless_runs_record_the_entropy_they_used() -> None:
    null = run_null(pain_problem(), 20, seed=None)
    again = run_null(pain_problem(), 20, seed=null.seed)
    assert _bytes(null) == _bytes(again)


# --- early stopping -------------------------------------------------------------------------


def test_early_stop_stops_at_a_check_when_the_thresholds_are_known() -> None:
    stop = EarlyStop(tolerance=0.5, confidence=0.95, check_every=200)
    null = run_null(pain_problem(), 2000, seed=2, early_stop=stop)
    assert null.stopped_early and null.n_iters < 2000 and null.n_iters % 200 == 0
    assert null.max_stat.shape == (null.n_iters,) and null.n_iters_requested == 2000
    assert _bytes(null) == _bytes(run_null(pain_problem(), null.n_iters, seed=2))


def test_early_stop_runs_to_the_end_with_a_tiny_tolerance() -> None:
    stop = EarlyStop(tolerance=1e-9, check_every=100)
    null = run_null(pain_problem(), 400, seed=2, early_stop=stop)
    assert not null.stopped_early and null.n_iters == 400


def test_early_stop_does_not_depend_on_workers() -> None:
    stop = EarlyStop(tolerance=0.2, check_every=150)
    serial = run_null(pain_problem(), 1500, seed=6, early_stop=stop)
    parallel = run_null(pain_problem(), 1500, seed=6, early_stop=stop, n_jobs=2)
    assert serial.n_iters == parallel.n_iters < 1500
    assert _bytes(serial) == _bytes(parallel)


def test_quantile_interval_width() -> None:
    stop = EarlyStop(tolerance=0.01, confidence=0.95, alpha=0.05)
    assert stop.relative_width(np.full(500, 3.0)) == 0.0
    assert stop.relative_width(np.arange(10.0)) == np.inf  # too few draws for the 95th
    rng = np.random.default_rng(0)
    wide = stop.relative_width(rng.exponential(size=500))
    narrow = stop.relative_width(rng.exponential(size=50_000))
    assert narrow < wide / 5  # the interval shrinks like 1 / sqrt(n)


def test_quantile_interval_is_the_order_statistic_interval_by_hand() -> None:
    """n = 1000 draws, 95th percentile, 95% confidence: the distribution-free interval runs
    from the 936th to the 964th order statistic. Its exact coverage, P(936 <= B <= 963) for
    B ~ Binomial(1000, 0.95), is 0.958 >= 0.95 (and the narrower 937..963 would cover < 0.95).
    With the values 1..1000 the width is 964 - 936 = 28 and the estimate X(950) = 950."""
    from scipy import stats

    stop = EarlyStop(tolerance=0.01, confidence=0.95, alpha=0.05)
    values = np.random.default_rng(3).permutation(np.arange(1.0, 1001.0))
    assert stop.relative_width(values) == pytest.approx(28 / 950, rel=1e-12)
    binomial = stats.binom(1000, 0.95)
    assert binomial.cdf(963) - binomial.cdf(935) == pytest.approx(0.95810, abs=1e-5)
    assert binomial.cdf(962) - binomial.cdf(936) < 0.95


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="n_iters"):
        run_null(pain_problem(), 0, seed=1)
    with pytest.raises(ValueError, match="draws must have shape"):
        run_null(pain_problem(), 2, seed=1, draws=np.zeros((3, 2), dtype=int))
    with pytest.raises(ValueError, match="tolerance"):
        EarlyStop(tolerance=0)
