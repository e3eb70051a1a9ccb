"""The dashboard's team and screening plan, the conflicts page and the history page, as each
role sees them; and the screening plan's API."""

from __future__ import annotations

from neuroreview.pipeline import changes
from neuroreview.pipeline.corpus import builtin_studies
from neuroreview.store import Repository
from test_web_api import team, upload


def test_owner_sets_dual_screening_and_the_team_is_shown(served):
    owner, ann, _bob, vic = team(served)
    plan = owner.put("/api/projects/ketamine/screening-plan", json={"reviewers": {"screening": 2}})
    assert plan.status_code == 200, plan.text
    assert plan.json()["reviewers"]["screening"] == 2
    assert (
        ann.put(
            "/api/projects/ketamine/screening-plan", json={"reviewers": {"screening": 1}}
        ).status_code
        == 403
    )
    bad = owner.put("/api/projects/ketamine/screening-plan", json={"reviewers": {"screening": 0}})
    assert (bad.status_code, bad.json()["detail"]) == (
        422,
        "reviewers at screening: 0 is not between 1 and 20",
    )
    unknown = owner.put("/api/projects/ketamine/screening-plan", json={"reviewers": {"reading": 2}})
    assert unknown.status_code == 400 and "reading" in unknown.json()["detail"]
    page = owner.get("/p/ketamine").text
    assert 'id="add-member"' in page and "screening 2" in page
    assert '<option value="2" selected>two reviewers, blind</option>' in page
    for name, role in (("ann", "reviewer"), ("olga", "owner"), ("vic", "viewer")):
        assert f'<li>{name} <span class="role">{role}</span></li>' in page
    assert 'id="add-member"' not in vic.get("/p/ketamine").text


def test_conflicts_page_lists_disagreements_once_both_decided(served):
    owner, ann, bob, vic = team(served)
    owner.put("/api/projects/ketamine/screening-plan", json={"reviewers": {"screening": 2}})
    assert upload(owner).status_code == 201
    record = owner.get("/api/projects/ketamine/records").json()["records"][0]["id"]
    url = f"/api/projects/ketamine/records/{record}/decisions"
    assert ann.post(url, json={"verdict": "include"}).status_code == 201
    # Blind: one verdict in, no conflict shown, and bob cannot see ann's.
    assert "No conflicts" in vic.get("/p/ketamine/conflicts").text
    assert bob.post(url, json={"verdict": "exclude"}).status_code == 201
    page = vic.get("/p/ketamine/conflicts").text
    assert f'data-record="{record}"' in page
    assert "<strong>ann</strong>: include" in page and "<strong>bob</strong>: exclude" in page
    assert "data-resolve" not in page  # a viewer cannot resolve
    assert 'data-resolve="include"' in owner.get("/p/ketamine/conflicts").text
    resolved = owner.post(url, json={"verdict": "include", "resolve": True})
    assert resolved.status_code == 201 and resolved.json()["record"]["conflict"] is None
    assert "No conflicts" in vic.get("/p/ketamine/conflicts").text


def test_history_page_shows_changes_and_undo_to_members_who_may(served):
    owner, ann, _bob, vic = team(served)
    url = served.state.server.project("ketamine").url
    study = builtin_studies()[1]
    with Repository(url) as repository:
        repository.add_study(study)
    change = changes.save_study(url, study.model_copy(update={"notes": "dose checked"}), "ann")
    page = ann.get("/p/ketamine/history").text
    assert f'<tr data-change="{change.id}">' in page
    assert "update: notes changed" in page and f'data-undo="{change.id}"' in page
    assert "data-undo" not in vic.get("/p/ketamine/history").text
    owner.post(f"/api/projects/ketamine/changes/{change.id}/undo")
    page = ann.get(f"/p/ketamine/history?study={study.id}").text
    assert "(undone by #" in page and f'data-undo="{change.id}"' not in page


def test_pages_answer_errors_as_html_and_the_api_as_json(served):
    from test_web_api import Browser

    team(served)
    eve = Browser(served, "eve")
    eve.sign_up_and_in()
    for url in ("/p/ketamine", "/p/ketamine/runs", "/p/ketamine/history", "/p/ketamine/conflicts"):
        answer = eve.get(url)
        assert answer.status_code == 403 and answer.headers["content-type"].startswith("text/html")
        assert "Not allowed" in answer.text
        assert "you are not a member of project &#39;ketamine&#39;" in answer.text
    api = eve.get("/api/projects/ketamine/runs")
    assert api.status_code == 403 and api.json() == {
        "detail": "you are not a member of project 'ketamine'"
    }
    missing = eve.get("/no/such/page")
    assert missing.status_code == 404 and "Not found" in missing.text


def test_a_decision_on_a_locked_store_is_503_try_again_and_writes_nothing(tmp_path, monkeypatch):
    import sqlite3

    from fastapi.testclient import TestClient

    from neuroreview.store import repository as repository_module
    from neuroreview.store.server import ServerStore
    from neuroreview.web.app import create_app
    from test_web_api import Browser

    monkeypatch.setattr(repository_module, "SQLITE_BUSY_TIMEOUT", 0.05)
    store_path = tmp_path / "ketamine.db"
    Repository(store_path).close()
    server = ServerStore(str(tmp_path / "server.db"))
    server.add_project("ketamine", "Ketamine", str(store_path))
    app = create_app(server)
    with TestClient(app):  # the lifespan keeps the store's engine, as a served app does
        owner = Browser(app, "olga")
        owner.sign_up_and_in()
        assert upload(owner).status_code == 201
        record = owner.get("/api/projects/ketamine/records").json()["records"][0]["id"]
        holder = sqlite3.connect(store_path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            busy = owner.post(
                f"/api/projects/ketamine/records/{record}/decisions", json={"verdict": "include"}
            )
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert busy.json()["detail"].endswith(
            "ketamine.db: locked by another neuroreview process, try again"
        )
        again = owner.post(
            f"/api/projects/ketamine/records/{record}/decisions", json={"verdict": "include"}
        )
        assert again.status_code == 201
        assert [d["verdict"] for d in again.json()["record"]["decisions"]] == ["include"]
    server.close()


def test_dashboard_lists_what_is_left_to_extract_and_check(served):
    from neuroreview.model import Analysis, Focus, Study

    owner, *_ = team(served)
    url = served.state.server.project("ketamine").url
    typo = Study(
        id="typo2020",
        authors=["Typo, T."],
        year=2020,
        analyses=[Analysis(id="a", space="MNI", foci=[Focus(x=6, y=30, z=95)])],
    )
    with Repository(url) as repository:
        repository.add_studies(
            [builtin_studies()[1], Study(id="smith2021", authors=["Smith, J."], year=2021), typo]
        )
    page = owner.get("/p/ketamine").text
    assert "<p>3 studies in the corpus.</p>" in page
    assert (
        "1 not extracted yet (no analysis, no region finding):\n    "
        '<a href="/p/ketamine/studies/smith2021">Smith 2021</a>'
    ) in page
    assert (
        "1 with foci the coordinate check flags:\n    "
        '<a href="/p/ketamine/studies/typo2020">Typo 2020</a> (1)'
    ) in page


def test_team_and_plan_changes_are_recorded_and_undone(served):
    from neuroreview.pipeline.screening import configure

    owner, ann, bob, vic = team(served)
    url = served.state.server.project("ketamine").url
    history = owner.get("/api/projects/ketamine/changes").json()
    assert [(c["entity"], c["entity_id"], c["summary"]) for c in history["changes"]] == [
        ("member", "vic", "vic added as viewer"),
        ("member", "bob", "bob added as reviewer"),
        ("member", "ann", "ann added as reviewer"),
    ]
    assert {c["editor"] for c in history["changes"]} == {"olga"}
    assert history["changes"][0]["study_id"] is None
    plan = owner.put(
        "/api/projects/ketamine/screening-plan", json={"reviewers": {"eligibility": 1}}
    )
    assert plan.status_code == 200
    # The same plan again is no change; the CLI's configure (no editor) records none either.
    owner.put("/api/projects/ketamine/screening-plan", json={"reviewers": {"eligibility": 1}})
    configure(url, {"eligibility": 1})
    changes = owner.get("/api/projects/ketamine/changes?details=true").json()["changes"]
    latest = changes[0]
    assert (latest["entity"], latest["summary"]) == (
        "screening-plan",
        "reviewers at eligibility 2 -> 1",
    )
    assert latest["before"]["reviewers"]["eligibility"] == 2
    assert latest["after"]["reviewers"]["eligibility"] == 1
    assert len(changes) == 4
    refused = ann.post(f"/api/projects/ketamine/changes/{latest['id']}/undo")
    assert refused.status_code == 409 and "only they or a project owner" in refused.json()["detail"]
    assert owner.post(f"/api/projects/ketamine/changes/{latest['id']}/undo").status_code == 201
    assert owner.get("/api/projects/ketamine/screening").json()["reviewers"]["eligibility"] == 2
    # Undo bob's admission: he is no longer a member.
    bobs = next(c for c in changes if c["entity_id"] == "bob")
    undone = owner.post(f"/api/projects/ketamine/changes/{bobs['id']}/undo")
    assert undone.status_code == 201 and undone.json()["summary"].startswith(
        f"undid change {bobs['id']} (bob added as reviewer)"
    )
    assert bob.get("/api/projects/ketamine/records").status_code == 403
    # Ann's role changed since her admission: that undo is refused, naming her role now.
    owner.put("/api/projects/ketamine/members/ann", json={"role": "viewer"})
    anns = next(c for c in changes if c["entity_id"] == "ann")
    stale = owner.post(f"/api/projects/ketamine/changes/{anns['id']}/undo")
    assert stale.status_code == 409
    assert stale.json()["detail"] == (
        f"ann's role has changed since change {anns['id']} (now viewer); set it on the project page"
    )
    page = owner.get("/p/ketamine/history").text
    assert "member ann" in page and "screening plan" in page
