"""Fixtures shared across the suite: where the shared data and NiMARE's bundled examples live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "data"


def shared_data_dir() -> Path:
    """../shared/data beside the checkout (CI lays a copy there), or $NEUROREVIEW_SHARED_DATA."""
    return Path(os.environ.get("NEUROREVIEW_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    folder = shared_data_dir()
    if not folder.is_dir():
        pytest.skip(f"shared data folder {folder} is absent (set NEUROREVIEW_SHARED_DATA)")
    return folder


@pytest.fixture(scope="session")
def neurosynth_dir(shared_data: Path) -> Path:
    folder = shared_data / "neurosynth"
    if not (folder / "data-neurosynth_version-7_coordinates.tsv.gz").is_file():
        pytest.skip(f"Neurosynth v0.7 files are absent from {folder}")
    return folder


@pytest.fixture(scope="session")
def dask_client():
    """A 2-worker Dask LocalCluster of single-threaded processes, shared by the Dask tests."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with Client(cluster) as connected:
        yield connected
    cluster.close()
