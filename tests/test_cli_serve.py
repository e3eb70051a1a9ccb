"""``neuroreview serve``: projects from --db, the server answering, Ctrl-C stopping it."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from typer.testing import CliRunner

from neuroreview.cli import app
from neuroreview.cli.serve import _project
from neuroreview.errors import NeuroreviewError


def test_project_names_come_from_the_file_or_are_given(tmp_path):
    assert _project(str(tmp_path / "Ketamine Review.db")) == (
        "ketamine-review",
        "Ketamine Review",
        str(tmp_path / "Ketamine Review.db"),
    )
    url = "postgresql+psycopg://me@db/k"
    assert _project(f"ket={url}") == ("ket", "ket", url)
    with pytest.raises(NeuroreviewError, match="name a database URL's project"):
        _project(url)


def test_two_stores_of_one_name_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    result = CliRunner().invoke(
        app, ["serve", "--db", str(tmp_path / "a" / "r.db"), "--db", str(tmp_path / "b" / "r.db")]
    )
    assert result.exit_code == 2
    assert "two --db stores have the same project name" in result.output


def test_a_runs_folder_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "runs").write_text("mine")
    result = CliRunner().invoke(
        app, ["serve", "--db", str(tmp_path / "r.db"), "--runs", str(tmp_path / "runs")]
    )
    assert result.exit_code == 2
    assert f"--runs {tmp_path / 'runs'}: is a file, not a folder" in result.output
    assert (tmp_path / "runs").read_text() == "mine"


def test_a_run_that_cannot_write_its_folder_is_a_409_not_a_500(tmp_path):
    from neuroreview.store import Repository
    from neuroreview.store.server import ServerStore
    from neuroreview.web.app import create_app
    from test_web_api import Browser

    blocker = tmp_path / "runs"
    blocker.write_text("not a folder")
    server = ServerStore(str(tmp_path / "server.db"))
    server.add_project("ketamine", "Ketamine", str(tmp_path / "k.db"))
    Repository(tmp_path / "k.db").close()
    app = create_app(server, runs_folder=blocker)
    owner = Browser(app, "olga")
    owner.sign_up_and_in()
    answer = owner.post("/api/projects/ketamine/runs", json={"kind": "review"})
    assert answer.status_code == 409
    assert answer.json()["detail"].startswith(f"cannot write runs to {blocker / 'ketamine'}: ")
    server.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_server_answers_and_stops_on_ctrl_c(tmp_path):
    port = _free_port()
    store = tmp_path / "ketamine.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "neuroreview", "serve", "--db", str(store), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # A test run started in the background inherits an ignored SIGINT; Ctrl-C is tested here.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health") as answer:
                    health = json.load(answer)
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("the server did not answer")
        assert health["status"] == "ok"
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/accounts",
            data=json.dumps({"username": "ann", "password": "correct horse battery"}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request) as answer:
            assert json.load(answer) == {"username": "ann", "owner_of": ["ketamine"]}
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    assert process.returncode in (0, 130), output
    assert f"http://localhost:{port}/ (projects: ketamine)" in output.replace("\n", "")
    assert store.is_file()  # created, and the server's tables are in it too
