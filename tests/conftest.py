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


# --- the web workspace's tests: a served project on SQLite and on PostgreSQL -------------------


@pytest.fixture(autouse=True)
def _cheap_password_hashing(request, monkeypatch):
    """argon2id at its smallest cost: at the real cost (0.12 s a hash, two per sign-up and
    sign-in) hashing was a fifth of the whole suite's time. The test marked ``real_argon2``
    checks the real settings; a hash made here is still an argon2id hash of the same form."""
    if "real_argon2" in request.keywords:
        return
    from argon2 import PasswordHasher

    from neuroreview.web import security

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(security, "_HASHER", cheap)


POSTGRES_URL = os.environ.get("NEUROREVIEW_TEST_POSTGRES_URL")


def _empty_postgres() -> str:
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL server: set NEUROREVIEW_TEST_POSTGRES_URL (.ci/run does)")
    from sqlalchemy import create_engine

    from neuroreview.store import schema, server

    engine = create_engine(POSTGRES_URL)
    server.metadata.drop_all(engine)
    schema.metadata.drop_all(engine)
    engine.dispose()
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request, tmp_path):
    """A server with one project ('ketamine') whose store is empty, and no accounts yet."""
    from neuroreview.pipeline.screening.plan import open_store
    from neuroreview.store.server import ServerStore
    from neuroreview.web.app import create_app

    if request.param == "sqlite":
        server_url, project_url = str(tmp_path / "server.db"), str(tmp_path / "ketamine.db")
    else:
        server_url = project_url = _empty_postgres()
    open_store(project_url, create=True).close()
    store = ServerStore(server_url)
    store.add_project("ketamine", "Ketamine fMRI", project_url)
    app = create_app(store, project_folder=tmp_path if request.param == "sqlite" else None)
    yield app
    store.close()
    if request.param == "postgresql":
        _empty_postgres()  # the shared test database is left as the store tests expect it
