"""The Monte Carlo engine on a 2-worker Dask LocalCluster gives the local bytes for the same seed."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from cbma_data import pain_case
from neuroreview.cbma import ALE
from neuroreview.cbma.montecarlo import BLOCK_ITERATIONS, _setup, _work, run_null


@pytest.fixture
def client(dask_client):
    return dask_client


def test_dask_blocks_equal_local_blocks_bit_for_bit(client):
    from neuroreview.cbma.dask_executor import DaskExecutor

    estimator = ALE()
    estimator.fit(pain_case().coordinates)
    problem = estimator.null_problem(estimator.p_to_summarystat(0.001))
    n_iters = 2 * BLOCK_ITERATIONS + 7  # a short last block too
    local = run_null(problem, n_iters, seed=12, n_jobs=1)
    remote = run_null(problem, n_iters, seed=12, executor=DaskExecutor(client))
    assert local.n_iters == remote.n_iters == n_iters
    for name in ("max_stat", "max_cluster_size", "max_cluster_mass"):
        assert np.array_equal(getattr(local, name), getattr(remote, name)), name
    assert local.max_stat.std() > 0  # the blocks really differ from each other


def test_a_worker_killed_midway_is_replaced_and_the_result_is_unchanged(client, tmp_path):
    """The first worker to run block 1 dies (os._exit); Dask re-runs the block elsewhere."""
    from neuroreview.cbma.dask_executor import DaskExecutor

    estimator = ALE()
    estimator.fit(pain_case().coordinates)
    problem = estimator.null_problem(estimator.p_to_summarystat(0.001))
    marker = str(tmp_path / "killed")

    def dying_work(engine, block):
        if block.index == 1 and not Path(marker).exists():
            Path(marker).write_text("killed")
            os._exit(1)
        return _work(engine, block)

    from neuroreview.cbma.montecarlo import seeded_blocks

    n_iters = 3 * BLOCK_ITERATIONS
    executor = DaskExecutor(client)
    results = list(
        executor.map_blocks(_setup, problem, dying_work, seeded_blocks(n_iters, 5, None))
    )
    assert Path(marker).exists()  # a worker really died
    local = list(
        DaskExecutor(client).map_blocks(_setup, problem, _work, seeded_blocks(n_iters, 5, None))
    )
    assert [index for index, _ in results] == [0, 1, 2]
    for (_, got), (_, expected) in zip(results, local, strict=True):
        for a, b in zip(got, expected, strict=True):
            assert np.array_equal(a, b)


def _maps_and_nulls_equal(local, remote) -> None:
    assert local.maps.keys() == remote.maps.keys()
    for name, values in local.maps.items():
        assert values.tobytes() == remote.maps[name].tobytes(), name
    assert local.null_distributions.keys() == remote.null_distributions.keys()
    for key, values in local.null_distributions.items():
        assert values.tobytes() == remote.null_distributions[key].tobytes(), key


def test_fwe_correction_takes_a_client_and_gives_the_local_maps(client):
    """The Python API takes a distributed.Client as the executor, as a Dask user holds one."""
    from neuroreview.cbma import correct_fwe_montecarlo

    result = ALE().fit(pain_case().coordinates)
    local = correct_fwe_montecarlo(result, n_iters=230, seed=4, n_jobs=2)
    remote = correct_fwe_montecarlo(result, n_iters=230, seed=4, executor=client)
    _maps_and_nulls_equal(local, remote)
    assert remote.maps["logp_desc-size_level-cluster_corr-FWE_method-montecarlo"].max() > 2.0


def test_ale_subtraction_permutations_on_dask_equal_local(client):
    from neuroreview.cbma.subtraction import ALESubtraction

    coordinates = pain_case().coordinates
    ids = list(coordinates.experiment_ids)
    groups = coordinates.subset(ids[:10]), coordinates.subset(ids[10:])
    local = ALESubtraction(n_iters=300, seed=9, n_jobs=1, exact_ties=True).fit(*groups)
    remote = ALESubtraction(n_iters=300, seed=9, exact_ties=True).fit(*groups, executor=client)
    _maps_and_nulls_equal(local, remote)
    assert local.maps["p_desc-group1MinusGroup2"].min() < 0.01  # real differences were found


@pytest.mark.parametrize("null_method", ["label-permutation", "random-foci"])
def test_mkda_chi2_null_on_dask_equals_local(client, null_method):
    from neuroreview.cbma import correct_fwe_montecarlo
    from neuroreview.cbma.mkda import MKDAChi2

    coordinates = pain_case().coordinates
    ids = list(coordinates.experiment_ids)
    estimator = MKDAChi2(fwe_null_method=null_method)
    result = estimator.fit(coordinates.subset(ids[:10]), coordinates.subset(ids[10:]))
    local = correct_fwe_montecarlo(result, n_iters=150, seed=2, n_jobs=1)
    remote = correct_fwe_montecarlo(result, n_iters=150, seed=2, executor=client)
    _maps_and_nulls_equal(local, remote)


def test_an_executor_must_be_an_executor_or_a_client():
    from neuroreview.cbma.parallel import executor_for

    with pytest.raises(TypeError, match="distributed.Client, got str"):
        executor_for("tcp://localhost:8786", 1)
