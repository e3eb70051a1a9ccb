"""Dual extraction over the web API and its comparison page, on SQLite and PostgreSQL."""

from __future__ import annotations

from neuroreview.model import Study
from neuroreview.pipeline import changes
from neuroreview.store import Repository
from test_extraction import smith, with_analysis, with_focus
from test_web_api import team

#: The SQLite and PostgreSQL server fixture, shared with the API's own tests.

STUDY = "/api/projects/ketamine/studies/smith2019"
START = Study(id="smith2019", title="Ketamine and the sgACC", year=2019, record_id="1.1")


def project_url(app) -> str:
    return app.state.server.project("ketamine").url


def add_study(app) -> None:
    with Repository(project_url(app)) as repository:
        repository.add_study(START)


def test_two_reviewers_extract_blind_then_an_owner_compares_and_adopts(served):
    owner, ann, bob, vic = team(served)
    add_study(served)
    mine = ann.get(f"{STUDY}/extractions/mine")
    assert mine.status_code == 200, mine.text
    assert mine.json() == START.model_dump(mode="json") | {"submitted": False}

    ann_study = smith()
    saved = ann.put(
        f"{STUDY}/extractions/mine",
        params={"submit": "true"},
        json=ann_study.model_dump(mode="json"),
    )
    assert saved.status_code == 200, saved.text
    assert saved.json() == ann_study.model_dump(mode="json") | {"submitted": True}

    bob_study = with_analysis(with_focus(smith(), 0, 1, y=-50), 1, kind="correlation")
    # The draft as GET returned it (with "submitted") is accepted back as it is.
    draft = bob.put(
        f"{STUDY}/extractions/mine", json=bob_study.model_dump(mode="json") | {"submitted": False}
    )
    assert draft.status_code == 200 and draft.json()["submitted"] is False

    status = vic.get(f"{STUDY}/extractions").json()
    assert [(e["reviewer"], e["submitted"] is not None) for e in status["extractors"]] == [
        ("ann", True),
        ("bob", False),
    ]
    assert (status["submitted"], status["comparable"], status["agreement"]) == (1, False, None)
    blind = bob.get(f"{STUDY}/extractions/compare")
    assert blind.status_code == 409
    assert blind.json()["detail"] == (
        "study 'smith2019': submit your own extraction first: the others stay hidden while "
        "yours is open"
    )
    assert owner.get(f"{STUDY}/extractions/compare").status_code == 409

    submitted = bob.put(
        f"{STUDY}/extractions/mine?submit=true", json=bob_study.model_dump(mode="json")
    )
    assert submitted.status_code == 200, submitted.text
    locked = bob.put(f"{STUDY}/extractions/mine", json=bob_study.model_dump(mode="json"))
    assert locked.status_code == 409
    assert locked.json()["detail"] == (
        "bob's extraction of study 'smith2019' is submitted; reopen it to edit it"
    )

    compared = vic.get(f"{STUDY}/extractions/compare")
    assert compared.status_code == 200, compared.text
    body = compared.json()
    assert (body["reviewers"], body["compared"], body["disagreements"]) == (["ann", "bob"], 56, 2)
    assert [(f["path"], f["values"]) for f in body["fields"] if not f["agree"]] == [
        ("analyses.0.foci.1.y", {"ann": -52.0, "bob": -50.0}),
        ("analyses.1.kind", {"ann": "drug_effect", "bob": "correlation"}),
    ]
    assert abs(vic.get(f"{STUDY}/extractions").json()["agreement"] - 100 * 54 / 56) < 1e-9

    # Writing needs a reviewer, adopting an owner.
    assert (
        vic.put(f"{STUDY}/extractions/mine", json=START.model_dump(mode="json")).status_code == 403
    )
    assert ann.post(f"{STUDY}/extractions/adopt", json={"reviewer": "ann"}).status_code == 403
    wrong = owner.post(
        f"{STUDY}/extractions/adopt", json={"reviewer": "ann", "choices": {"analyses.7": "bob"}}
    )
    assert (wrong.status_code, wrong.json()["detail"]) == (
        422,
        "no compared field 'analyses.7' in the comparison of these extractions",
    )
    adopted = owner.post(
        f"{STUDY}/extractions/adopt",
        json={"reviewer": "ann", "choices": {"analyses.0.foci.1.y": "bob"}},
    )
    assert adopted.status_code == 200, adopted.text
    expected = with_focus(smith(), 0, 1, y=-50)
    assert adopted.json()["study"] == expected.model_dump(mode="json")
    change = adopted.json()["change"]
    assert (change["editor"], change["action"], change["study_id"]) == (
        "olga",
        "update",
        "smith2019",
    )
    with Repository(project_url(served)) as repository:
        assert repository.get_study("smith2019") == expected
    changes.undo_change(project_url(served), change["id"], "olga")
    with Repository(project_url(served)) as repository:
        assert repository.get_study("smith2019") == START


def test_reopening_hides_the_others_again(served):
    _owner, ann, bob, _vic = team(served)
    add_study(served)
    for person in (ann, bob):
        answer = person.put(
            f"{STUDY}/extractions/mine?submit=true", json=smith().model_dump(mode="json")
        )
        assert answer.status_code == 200, answer.text
    assert ann.get(f"{STUDY}/extractions/compare").json()["disagreements"] == 0
    reopened = ann.post(f"{STUDY}/extractions/mine/reopen")
    assert reopened.status_code == 200 and reopened.json()["submitted"] is False
    assert ann.get(f"{STUDY}/extractions/compare").status_code == 409
    again = ann.post(f"{STUDY}/extractions/mine/reopen")
    assert again.status_code == 409 and "nothing to reopen" in again.json()["detail"]


def test_bad_extractions_get_422_per_field_and_unknown_studies_404(served):
    _owner, ann, _bob, _vic = team(served)
    add_study(served)
    data = smith().model_dump(mode="json")
    data["analyses"][0]["foci"][1]["x"] = 300
    data["analyses"][1]["kind"] = "vibes"
    bad = ann.put(f"{STUDY}/extractions/mine", json=data)
    assert bad.status_code == 422
    assert [d["path"] for d in bad.json()["detail"]] == ["analyses.0.foci.1.x", "analyses.1.kind"]
    assert bad.json()["detail"][0]["message"].startswith("coordinate 300 mm lies beyond")
    other = ann.put(f"{STUDY}/extractions/mine", json=smith(id="jones2020").model_dump(mode="json"))
    assert other.json()["detail"] == [
        {
            "path": "id",
            "message": "the study id 'jones2020' differs from 'smith2019', the study being saved",
        }
    ]
    assert ann.get(f"{STUDY}/extractions/mine").json()["analyses"] == []  # nothing half-written
    missing = ann.get("/api/projects/ketamine/studies/nope/extractions")
    assert (missing.status_code, missing.json()["detail"]) == (
        404,
        "no study 'nope' in this project",
    )


def test_the_comparison_page_hides_values_until_compared_and_offers_owners_adopt(served):
    owner, ann, bob, vic = team(served)
    add_study(served)
    page_url = "/p/ketamine/studies/smith2019/compare"
    ann.put(f"{STUDY}/extractions/mine?submit=true", json=smith().model_dump(mode="json"))
    waiting = vic.get(page_url)
    assert waiting.status_code == 200
    assert "The values are hidden: 1 of the 2 extractions needed are submitted" in waiting.text
    assert "-52" not in waiting.text and "Edit my extraction" not in waiting.text
    bob_study = with_focus(smith(), 0, 1, y=-50)
    bob.put(f"{STUDY}/extractions/mine?submit=true", json=bob_study.model_dump(mode="json"))
    page = owner.get(page_url)
    assert page.status_code == 200
    assert "56 fields compared, <strong>1 disagree</strong>" in page.text
    rows = page.text.split('<tr class="')[1:]
    assert rows[0].startswith('disagree"') and "<code>analyses.0.foci.1.y</code>" in rows[0]
    assert 'data-path="analyses.0.foci.1.y"' in rows[0] and "(2 mm)" in rows[0]
    assert all(r.startswith('agree"') for r in rows[1:])
    assert 'id="adopt"' in page.text and "/static/compare.js" in page.text
    assert 'href="/p/ketamine/studies/smith2019?extraction=mine"' in page.text
    seen_by_vic = vic.get(page_url).text
    assert 'id="adopt"' not in seen_by_vic and "data-path" not in seen_by_vic
    assert vic.get("/p/ketamine/studies/nope/compare").status_code == 404
    assert owner.get("/static/compare.js").text.startswith("// The comparison of two extractions")
