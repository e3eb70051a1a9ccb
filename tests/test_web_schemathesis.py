"""Schemathesis against the workspace's OpenAPI spec: no generated request gets a 500.

Requests are sent signed in as the owner of a project holding a few records, with the CSRF
token, so they reach the handlers rather than stopping at 401/403.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from neuroreview.pipeline.screening.plan import open_store  # noqa: E402
from neuroreview.store.server import ServerStore  # noqa: E402
from neuroreview.web.app import create_app  # noqa: E402
from neuroreview.web.deps import CSRF_HEADER, SESSION_COOKIE  # noqa: E402
from test_web_api import RIS  # noqa: E402

FOLDER = Path(tempfile.mkdtemp(prefix="neuroreview-schemathesis-"))


def _app():
    project = FOLDER / "ketamine.db"
    open_store(str(project), create=True).close()
    store = ServerStore(str(FOLDER / "server.db"))
    store.add_project("ketamine", "Ketamine fMRI", str(project))
    app = create_app(store, project_folder=FOLDER)
    client = TestClient(app)
    account = {"username": "olga", "password": "correct horse battery"}
    assert client.post("/api/accounts", json=account).status_code == 201
    csrf = client.post("/api/session", json=account).json()["csrf"]
    imported = client.post(
        "/api/projects/ketamine/imports",
        files={"file": ("embase.ris", RIS.encode(), "text/plain")},
        headers={CSRF_HEADER: csrf},
    )
    assert imported.status_code == 201, imported.text
    return app, client.cookies[SESSION_COOKIE], csrf


APP, TOKEN, CSRF = _app()
schema = schemathesis.openapi.from_asgi("/api/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case):
    if case.path == "/api/session" and case.method == "DELETE":
        return  # signing out would only turn every later request into a 401
    response = case.call(headers={CSRF_HEADER: CSRF}, cookies={SESSION_COOKIE: TOKEN})
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
