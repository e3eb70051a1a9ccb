"""Engines kept for a server's stores: shared across Repository objects, still checked, bounded."""

from __future__ import annotations

import sqlite3

from fastapi.testclient import TestClient

from neuroreview.model import Study
from neuroreview.store import Repository, database_url, engines
from neuroreview.store.server import ServerStore
from neuroreview.web.app import create_app


def test_a_kept_store_shares_one_engine_and_still_checks_its_schema(tmp_path):
    path = tmp_path / "kept.db"
    url = database_url(path)
    engines.keep([url])
    try:
        with Repository(path) as first:
            first.add_study(Study(id="s1"))
            engine = first.engine
        with Repository(path, create=False) as second:
            assert second.engine is engine  # borrowed, not disposed by the first close
            assert second.study_ids() == ["s1"]
        # A store emptied behind the server's back is noticed, not misread.
        connection = sqlite3.connect(path)
        connection.executescript("DROP TABLE schema_version;")
        connection.close()
        try:
            Repository(path, create=False)
        except Exception as error:  # noqa: BLE001 (the exact class is NeuroreviewError)
            assert str(error).endswith("not a neuroreview store")
        else:
            raise AssertionError("an emptied store was opened")
    finally:
        engines.release([url])
    with Repository(tmp_path / "other.db") as own:
        assert own.engine is not engine  # stores nobody keeps get engines of their own


def test_at_most_limit_engines_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(engines, "LIMIT", 2)
    urls = [database_url(tmp_path / f"{i}.db") for i in range(3)]
    engines.keep(urls[:2])
    try:
        with Repository(tmp_path / "1.db") as first:
            oldest = first.engine
        with Repository(tmp_path / "0.db") as used:  # 0 is now the most recently used
            recent = used.engine
        engines.keep(urls[2:])
        assert list(engines._kept)[-2:] == [urls[0], urls[2]] and urls[1] not in engines._kept
        with Repository(tmp_path / "1.db") as again:
            assert again.engine is not oldest  # disposed of when 2 came
        with Repository(tmp_path / "0.db") as same:
            assert same.engine is recent
    finally:
        engines.release(urls)


def test_the_server_keeps_its_projects_engines_while_it_runs(tmp_path):
    store_path = tmp_path / "ketamine.db"
    Repository(store_path).close()
    server = ServerStore(str(tmp_path / "server.db"))
    server.add_project("ketamine", "Ketamine", str(store_path))
    url = server.project("ketamine").url
    with TestClient(create_app(server)) as client:
        assert url in engines._kept
        assert client.get("/api/health").status_code == 200
    assert url not in engines._kept
    server.close()
