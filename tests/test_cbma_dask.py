"""The Monte Carlo engine on a 2-worker Dask LocalCluster gives the local bytes for the same seed."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from cbma_data import pain_case
from neuroreview.cbma import ALE
from neuroreview.cbma.montecarlo import BLOCK_ITERATIONS, _setup, _work, run_null


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with Client(cluster) as connected:
        yield connected
    cluster.close()


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
