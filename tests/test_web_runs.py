"""Runs from the workspace: a meta-analysis in a child process with live progress, its files
served back, cancelling, and the change history with undo over the API."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from neuroreview.model import Space
from neuroreview.pipeline.corpus import builtin_studies
from neuroreview.store import Repository
from neuroreview.store.server import ServerStore
from neuroreview.web.app import create_app
from test_web_api import Browser, team


@pytest.fixture
def corpus_app(tmp_path):
    """A server whose project 'ketamine' holds the built-in corpus's studies whose coordinate
    space is known (SQLite), its runs in tmp."""
    store_path = tmp_path / "ketamine.db"
    known = [s for s in builtin_studies() if all(a.space is not Space.UNKNOWN for a in s.analyses)]
    with Repository(store_path) as repository:
        repository.add_studies(known)
    server = ServerStore(str(tmp_path / "server.db"))
    server.add_project("ketamine", "Ketamine", str(store_path))
    app = create_app(server, project_folder=tmp_path, runs_folder=tmp_path / "runs")
    with TestClient(app):  # runs the lifespan: stopping the app cancels its runs
        yield app, tmp_path / "runs" / "ketamine"
    server.close()


def _wait(person: Browser, run_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = person.get(f"/api/projects/ketamine/runs/{run_id}").json()
        if state["status"] != "running":
            return state
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} still running after {timeout} s")


def test_an_ale_run_reports_progress_and_serves_its_maps(corpus_app):
    app, folder = corpus_app
    owner, ann, _bob, vic = team(app)
    refused = vic.post("/api/projects/ketamine/runs", json={"kind": "analysis"})
    assert refused.status_code == 403
    bad = ann.post("/api/projects/ketamine/runs", json={"kind": "meta", "iterations": 5})
    assert bad.status_code == 422
    started = ann.post(
        "/api/projects/ketamine/runs",
        json={"kind": "analysis", "method": "ale", "iterations": 20, "seed": 3},
    )
    assert started.status_code == 201, started.text
    run = started.json()
    assert (run["status"], run["started_by"], run["spec"]["iterations"]) == ("running", "ann", 20)
    # One run at a time per project.
    second = ann.post("/api/projects/ketamine/runs", json={"kind": "analysis"})
    assert second.status_code == 409 and "is running" in second.json()["detail"]
    # The event stream sends states until the run ends; its last one is final.
    with vic.client.stream("GET", f"/api/projects/ketamine/runs/{run['id']}/events") as stream:
        states = [
            json.loads(line.removeprefix("data: "))
            for line in stream.iter_lines()
            if line.startswith("data: ")
        ]
    assert states[-1]["status"] == "done", states[-1]
    tasks = [s["task"] for s in states if s["task"]]
    assert tasks and tasks[-1]["done"] == tasks[-1]["total"] == 20
    final = _wait(vic, run["id"])
    assert {"analysis.json", "clusters.tsv", "z.nii.gz"} <= set(final["files"])
    record = json.loads(
        vic.get(f"/api/projects/ketamine/runs/{run['id']}/files/analysis.json").text
    )
    assert (record["method"], record["fwe"]["n_iters_run"], record["fwe"]["seed"]) == ("ale", 20, 3)
    assert record["sample_size_imputation"] is not None  # three experiments report no N
    zmap = vic.get(f"/api/projects/ketamine/runs/{run['id']}/files/z.nii.gz")
    assert zmap.status_code == 200 and zmap.content[:2] == b"\x1f\x8b"
    preview = vic.get(f"/api/projects/ketamine/runs/{run['id']}/preview/z.nii.gz")
    assert preview.status_code == 200 and preview.content[:8] == b"\x89PNG\r\n\x1a\n"
    not_z = vic.get(f"/api/projects/ketamine/runs/{run['id']}/preview/p.nii.gz")
    assert not_z.status_code == 404 and "only z maps are previewed" in not_z.json()["detail"]
    shown = vic.get(f"/p/ketamine/runs/{run['id']}").text
    assert f"/api/projects/ketamine/runs/{run['id']}/preview/z.nii.gz" in shown
    assert 'data-action="cancel"' not in shown  # finished, and vic is a viewer anyway
    listing = ann.get("/p/ketamine/runs").text
    assert f'href="/p/ketamine/runs/{run["id"]}"' in listing and 'id="start-run"' in listing
    assert 'id="start-run"' not in vic.get("/p/ketamine/runs").text
    sneaky = vic.get(f"/api/projects/ketamine/runs/{run['id']}/files/../../server.db")
    assert sneaky.status_code == 404
    # The run is listed, and still is for a new server over the same folder (from its record).
    assert [r["id"] for r in vic.get("/api/projects/ketamine/runs").json()] == [run["id"]]
    assert json.loads((folder / f"{run['id']}.json").read_text())["status"] == "done"


def test_a_cancelled_review_leaves_nothing_half_written(corpus_app):
    app, folder = corpus_app
    owner, *_ = team(app)
    run = owner.post(
        "/api/projects/ketamine/runs", json={"kind": "review", "iterations": 5000}
    ).json()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = owner.get(f"/api/projects/ketamine/runs/{run['id']}").json()
        if state["stage"] is not None:
            break
        time.sleep(0.2)
    cancelled = owner.post(f"/api/projects/ketamine/runs/{run['id']}/cancel")
    assert cancelled.status_code == 200
    final = _wait(owner, run["id"], timeout=60)
    assert (final["status"], final["files"]) == ("cancelled", [])
    # Neither the output folder nor a staging folder is left behind; only the run's record.
    assert sorted(p.name for p in folder.iterdir()) == [f"{run['id']}.json"]
    again = owner.post(f"/api/projects/ketamine/runs/{run['id']}/cancel")
    assert again.status_code == 409


def test_change_history_and_undo_over_the_api(served):
    owner, ann, bob, vic = team(served)
    url = served.state.server.project("ketamine").url
    study = builtin_studies()[1]
    with Repository(url) as repository:
        repository.add_study(study)
    from neuroreview.pipeline import changes

    edited = study.model_copy(update={"notes": "dose checked against the methods"})
    change = changes.save_study(url, edited, "ann")
    page = vic.get("/api/projects/ketamine/changes", params={"study": study.id}).json()
    assert page["total"] == 1
    (listed,) = page["changes"]
    assert (listed["id"], listed["editor"], listed["action"]) == (change.id, "ann", "update")
    assert listed["summary"] == "notes changed" and listed["before"] is None
    detailed = vic.get("/api/projects/ketamine/changes?details=true").json()["changes"][0]
    assert detailed["after"]["notes"] == "dose checked against the methods"
    assert vic.post(f"/api/projects/ketamine/changes/{change.id}/undo").status_code == 403
    other = bob.post(f"/api/projects/ketamine/changes/{change.id}/undo")
    assert other.status_code == 409
    assert other.json()["detail"].endswith("only they or a project owner can undo it")
    undone = owner.post(f"/api/projects/ketamine/changes/{change.id}/undo")
    assert undone.status_code == 201, undone.text
    assert (undone.json()["action"], undone.json()["undoes"]) == ("undo", change.id)
    with Repository(url) as repository:
        assert repository.get_study(study.id) == study
    missing = owner.post("/api/projects/ketamine/changes/999/undo")
    assert missing.status_code == 404


def test_stopping_the_server_cancels_its_runs_and_records_it(tmp_path):
    store_path = tmp_path / "ketamine.db"
    with Repository(store_path) as repository:
        repository.add_studies(
            [s for s in builtin_studies() if all(a.space is not Space.UNKNOWN for a in s.analyses)]
        )
    server = ServerStore(str(tmp_path / "server.db"))
    server.add_project("ketamine", "Ketamine", str(store_path))
    app = create_app(server, runs_folder=tmp_path / "runs")
    with TestClient(app):
        owner = Browser(app, "olga")
        owner.sign_up_and_in()
        run = owner.post(
            "/api/projects/ketamine/runs", json={"kind": "review", "iterations": 5000}
        ).json()
        deadline = time.monotonic() + 120
        while owner.get(f"/api/projects/ketamine/runs/{run['id']}").json()["stage"] is None:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    # Leaving the block stops the app: the run is cancelled, and its record says so.
    folder = tmp_path / "runs" / "ketamine"
    record = json.loads((folder / f"{run['id']}.json").read_text())
    assert (record["status"], record["files"]) == ("cancelled", []), record
    assert sorted(p.name for p in folder.iterdir()) == [f"{run['id']}.json"]
    server.close()


def test_a_run_that_does_not_stop_is_killed_its_folder_removed_and_its_record_saved(
    tmp_path, monkeypatch
):
    """A child that cannot answer SIGINT (stopped here with SIGSTOP, as a stuck one would be) is
    killed after the grace, with everything in its process group; its staging folder, which a
    kill leaves behind, is removed by the server; and the record says it was cancelled."""
    import os
    import signal

    from neuroreview.pipeline import jobs

    monkeypatch.setattr(jobs, "CANCEL_GRACE_SECONDS", 0.5)
    store_path = tmp_path / "ketamine.db"
    with Repository(store_path) as repository:
        repository.add_studies(
            [s for s in builtin_studies() if all(a.space is not Space.UNKNOWN for a in s.analyses)]
        )
    board = jobs.JobBoard(tmp_path / "runs")
    record = board.start("ketamine", str(store_path), jobs.JobSpec(kind="review"), "olga")
    job = board.job("ketamine", record.id)
    folder = tmp_path / "runs" / "ketamine"
    deadline = time.monotonic() + 120
    while not any(p.name.endswith(".partial") for p in folder.iterdir()):
        assert job.snapshot().status == "running", job.snapshot().error
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert os.getpgid(job.process.pid) == job.process.pid  # a process group of its own
    os.kill(job.process.pid, signal.SIGSTOP)
    started = time.monotonic()
    board.cancel_all(wait=10)
    assert time.monotonic() - started < 5
    assert job.process.returncode == -signal.SIGKILL
    saved = json.loads((folder / f"{record.id}.json").read_text())
    assert (saved["status"], saved["files"]) == ("cancelled", [])
    assert sorted(p.name for p in folder.iterdir()) == [f"{record.id}.json"]


def test_a_run_record_that_cannot_be_read_is_listed_not_dropped(tmp_path):
    from neuroreview.pipeline.jobs import JobBoard

    folder = tmp_path / "runs" / "ketamine"
    folder.mkdir(parents=True)
    (folder / "20261207-120000-review.json").write_text("{not json")
    (folder / "20261207-110000-analysis.json").write_text(
        json.dumps(
            {
                "id": "20261207-110000-analysis",
                "kind": "analysis",
                "spec": {"kind": "analysis"},
                "started_by": "ann",
                "started": "2026-12-07T11:00:00Z",
                "status": "running",
            }
        )
    )
    broken, stopped = JobBoard(tmp_path / "runs").records("ketamine")
    assert (broken.id, broken.status) == ("20261207-120000-review", "failed")
    assert broken.error.startswith("its record 20261207-120000-review.json cannot be read (")
    assert (stopped.status, stopped.error) == ("failed", "the server stopped during the run")
