"""Undo over the web: ``POST /api/projects/{slug}/records/{id}/undo`` on SQLite and PostgreSQL.

A reviewer withdraws their own latest decision; the withdrawal stays in the record's history
(role ``withdrawal``), is as blind to the others as a review, and refusals are 400s that say why.
"""

from __future__ import annotations

from test_web_api import team, upload

#: The SQLite and PostgreSQL server fixture, shared with the API's own tests.

DECIDE = "/api/projects/ketamine/records/{}/decisions"
UNDO = "/api/projects/ketamine/records/{}/undo"
RECORD = "/api/projects/ketamine/records/{}"


def history(record: dict) -> list[tuple[str, str, str]]:
    return [(d["reviewer"], d["verdict"], d["role"]) for d in record["decisions"]]


def test_undo_shows_the_record_waiting_again_with_the_withdrawal_in_its_history(served):
    _owner, ann, bob, _vic = team(served)
    assert upload(ann).status_code == 201
    assert ann.post(DECIDE.format("1.1"), json={"verdict": "include"}).status_code == 201
    undone = ann.post(UNDO.format("1.1"))
    assert undone.status_code == 201, undone.text
    body = undone.json()
    assert body["study_id"] is None
    assert body["record"]["place"] == "awaiting title/abstract screening"
    assert history(body["record"]) == [
        ("ann", "include", "review"),
        ("ann", "include", "withdrawal"),
    ]
    queue = ann.get("/api/projects/ketamine/queue?limit=10").json()
    assert (sorted(r["id"] for r in queue["records"]), queue["decided_by_you"]) == (
        ["1.1", "1.2", "1.3"],
        0,
    )
    # Bob sees that two decisions exist, never whose or which: the withdrawal is as blind as
    # the review it withdraws.
    seen_by_bob = bob.get(RECORD.format("1.1")).json()
    assert (seen_by_bob["decisions"], seen_by_bob["hidden_decisions"]) == ([], 2)
    # Decided again, by both: now everything is shown, the withdrawal included.
    ann.post(DECIDE.format("1.1"), json={"verdict": "exclude"})
    bob.post(DECIDE.format("1.1"), json={"verdict": "exclude"})
    settled = bob.get(RECORD.format("1.1")).json()
    assert settled["place"] == "excluded at title/abstract"
    assert history(settled) == [
        ("ann", "include", "review"),
        ("ann", "include", "withdrawal"),
        ("ann", "exclude", "review"),
        ("bob", "exclude", "review"),
    ]


def test_a_viewer_cannot_undo_and_refusals_are_400s(served):
    owner, ann, bob, vic = team(served)
    upload(ann)
    ann.post(DECIDE.format("1.2"), json={"verdict": "include"})
    refused = vic.post(UNDO.format("1.2"))
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "your role in 'ketamine' is viewer; this needs reviewer or above"
    )
    forged = ann.client.post(UNDO.format("1.2"))
    assert forged.status_code == 403 and "CSRF" in forged.json()["detail"]
    nothing = bob.post(UNDO.format("1.2"))
    assert (nothing.status_code, nothing.json()["detail"]) == (
        400,
        "record 1.2: bob has no decision on it to undo",
    )
    missing = ann.post(UNDO.format("9.9"))
    assert missing.status_code == 400 and missing.json()["detail"].startswith("no record '9.9'")
    bob.post(DECIDE.format("1.2"), json={"verdict": "exclude"})
    late = ann.post(UNDO.format("1.2"))
    assert (late.status_code, late.json()["detail"]) == (
        400,
        "record 1.2: bob decided on it after ann's include at screening; only a decision "
        "nobody has decided after can be undone",
    )
    # A resolution undone reopens the conflict.
    owner.post(DECIDE.format("1.2"), json={"verdict": "include", "resolve": True})
    assert owner.get(RECORD.format("1.2")).json()["place"] == "awaiting retrieval"
    reopened = owner.post(UNDO.format("1.2")).json()["record"]
    assert (reopened["place"], reopened["conflict"]) == (
        "awaiting title/abstract screening",
        "screening",
    )
    assert [r["id"] for r in ann.get("/api/projects/ketamine/conflicts").json()] == ["1.2"]
    assert ann.get(RECORD.format("1.2")).json()["decisions"][-1]["role"] == "withdrawal"


def test_a_record_that_became_a_study_is_not_undone(served):
    owner, ann, bob, _vic = team(served)
    upload(ann)
    for person in (ann, bob):
        person.post(DECIDE.format("1.3"), json={"verdict": "include"})
    owner.post(DECIDE.format("1.3"), json={"verdict": "include"})  # retrieved
    ann.post(DECIDE.format("1.3"), json={"verdict": "include"})
    made = bob.post(DECIDE.format("1.3"), json={"verdict": "include"}).json()
    assert (made["record"]["place"], made["study_id"]) == ("included", "brown2022")
    refused = bob.post(UNDO.format("1.3"))
    assert (refused.status_code, refused.json()["detail"]) == (
        400,
        "record 1.3 has become study brown2022; its decisions can no longer be undone: "
        "edit or delete the study instead",
    )
    board = owner.get("/api/projects/ketamine/screening").json()
    assert board["prisma"]["databases"]["included"] == 1


def test_the_screening_page_offers_undo(served):
    _owner, ann, _bob, _vic = team(served)
    upload(ann)
    page = ann.get("/p/ketamine/screen?stage=screening")
    assert page.status_code == 200, page.text
    assert '<button type="button" data-action="undo"' in page.text
    assert "<kbd>u</kbd> undo" in page.text
