"""The study API and pages: list, read, check, save, create and delete studies, per-field 422s,
roles, the audit trail, the glass brain, and HTML error pages. On SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuroreview.pipeline import changes
from neuroreview.pipeline.corpus import builtin_studies
from neuroreview.store import Repository
from neuroreview.web.deps import CSRF_HEADER
from test_web_api import Browser, team

#: The SQLite and PostgreSQL server fixture, shared with the API's own tests.

API = "/api/projects/ketamine"
IDS = ("abdallah2015", "abdallah2017", "fu2005")


def _stocked(app) -> tuple[str, dict]:
    """Put three built-in studies into the project's store; its URL and the studies by id."""
    url = app.state.server.project("ketamine").url
    studies = {s.id: s for s in builtin_studies() if s.id in IDS}
    with Repository(url) as repository:
        repository.add_studies([studies[i] for i in IDS])
    return url, studies


def test_the_list_counts_analyses_foci_findings_and_flags(served):
    _owner, _ann, _bob, vic = team(served)
    _url, studies = _stocked(served)
    answer = vic.get(f"{API}/studies")
    assert answer.status_code == 200
    assert [
        (s["id"], s["label"], s["n_analyses"], s["n_foci"], s["n_findings"], s["n_flags"])
        for s in answer.json()
    ] == [
        ("abdallah2015", "Abdallah 2015", 0, 0, 2, 0),
        ("abdallah2017", "Abdallah 2017", 2, 5, 7, 0),
        ("fu2005", "Fu 2005", 1, 51, 0, 0),
    ]
    assert answer.json()[2]["title"] == studies["fu2005"].title


def test_a_study_comes_with_where_its_foci_land(served):
    _owner, _ann, _bob, vic = team(served)
    _url, studies = _stocked(served)
    answer = vic.get(f"{API}/studies/abdallah2017")
    assert answer.status_code == 200
    body = answer.json()
    assert body["study"] == studies["abdallah2017"].model_dump(mode="json")
    assert [n["analysis_id"] for n in body["foci_notes"]] == ["saberi-increase", "saberi-decrease"]
    assert body["foci_notes"][0]["foci"][0] == {
        "mni": [-32.0, 50.0, 20.0],
        "aal3": "Frontal_Mid_2_L",
        "aal3_distance_mm": 0.0,
        "outside_brain": False,
        "distance_mm": 0.0,
        "flag": None,
    }
    assert body["flags"] == []
    # fu2005 reported Talairach: its notes carry the converted MNI coordinate.
    fu = vic.get(f"{API}/studies/fu2005").json()
    first = studies["fu2005"].analyses[0].foci[0]
    assert [first.x, first.y, first.z] != fu["foci_notes"][0]["foci"][0]["mni"]
    assert len(fu["foci_notes"][0]["foci"]) == 51
    analyses = vic.get(f"{API}/studies/abdallah2017/analyses").json()
    assert analyses == body["study"]["analyses"]
    findings = vic.get(f"{API}/studies/abdallah2017/region-findings").json()
    assert findings == body["study"]["region_findings"]
    missing = vic.get(f"{API}/studies/nope")
    assert (missing.status_code, missing.json()) == (
        404,
        {"detail": "no study 'nope' in this project"},
    )


def test_a_put_is_one_recorded_change_and_reads_back_equal(served):
    _owner, ann, _bob, _vic = team(served)
    url, _studies = _stocked(served)
    document = ann.get(f"{API}/studies/abdallah2017").json()["study"]
    edited = copy.deepcopy(document)
    edited["analyses"][0]["foci"][0]["z"] = 22.0
    edited["analyses"][1]["kind"] = "correlation"
    edited["region_findings"][0]["notes"] = (
        'PFC: "Ketamine significantly increased GBCr in the PFC"'
    )
    edited["provenance"]["title"] = "journal page, first line"
    saved = ann.put(f"{API}/studies/abdallah2017", json=edited)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["study"] == edited
    assert isinstance(body["change_id"], int)
    assert ann.get(f"{API}/studies/abdallah2017").json()["study"] == edited
    listed, total = changes.list_changes(url, entity_id="abdallah2017")
    assert total == 1
    assert (listed[0].id, listed[0].editor, listed[0].action) == (
        body["change_id"],
        "ann",
        "update",
    )
    assert (listed[0].before, listed[0].after) == (document, edited)
    # Saving it unchanged records nothing more.
    again = ann.put(f"{API}/studies/abdallah2017", json=edited)
    assert again.status_code == 200 and changes.list_changes(url, entity_id="abdallah2017")[1] == 1


def test_invalid_fields_answer_422_with_their_paths_and_nothing_is_saved(served):
    _owner, ann, _bob, _vic = team(served)
    url, studies = _stocked(served)
    document = studies["abdallah2017"].model_dump(mode="json")
    document["analyses"][0]["foci"][2]["x"] = "12,5"
    document["analyses"][1]["foci"] = []
    document["region_findings"][1]["kind"] = "drug"  # a synonym: accepted
    document["region_findings"][2]["direction"] = "sideways"
    answer = ann.put(f"{API}/studies/abdallah2017", json=document)
    assert answer.status_code == 422
    assert answer.json() == {
        "detail": [
            {
                "path": "analyses.0.foci.2.x",
                "message": "Input should be a valid number, unable to parse string as a number",
            },
            {
                "path": "analyses.1.foci",
                "message": "List should have at least 1 item after validation, not 0",
            },
            {
                "path": "region_findings.2.direction",
                "message": "unknown direction 'sideways' (expected one of: increase, decrease, "
                "no_change, unknown)",
            },
        ]
    }
    other = ann.put(
        f"{API}/studies/abdallah2017", json={**studies["fu2005"].model_dump(mode="json")}
    )
    assert other.status_code == 422
    assert other.json()["detail"] == [
        {
            "path": "id",
            "message": "the study id 'fu2005' differs from 'abdallah2017', the study being saved",
        }
    ]
    assert changes.list_changes(url, entity_id="abdallah2017")[1] == 0
    with Repository(url) as repository:
        assert repository.get_study("abdallah2017") == studies["abdallah2017"]


def test_roles_guard_every_write(served):
    owner, ann, _bob, vic = team(served)
    _url, studies = _stocked(served)
    document = studies["fu2005"].model_dump(mode="json")
    refused = vic.put(f"{API}/studies/fu2005", json=document)
    assert (refused.status_code, refused.json()["detail"]) == (
        403,
        "your role in 'ketamine' is viewer; this needs reviewer or above",
    )
    assert vic.post(f"{API}/studies", json={"id": "new2020"}).status_code == 403
    assert ann.delete(f"{API}/studies/fu2005").status_code == 403
    eve = Browser(served, "eve")
    eve.sign_up_and_in()
    for url in (f"{API}/studies", f"{API}/studies/fu2005", f"{API}/studies/fu2005/glass.svg"):
        answer = eve.get(url)
        assert (answer.status_code, answer.json()["detail"]) == (
            403,
            "you are not a member of project 'ketamine'",
        )
    assert TestClient(served).get(f"{API}/studies").status_code == 401
    forged = ann.client.put(f"{API}/studies/fu2005", json=document)
    assert forged.status_code == 403 and "CSRF" in forged.json()["detail"]
    assert owner.get(f"{API}/studies/fu2005").json()["study"] == document


def test_create_then_delete_a_study(served):
    owner, ann, _bob, _vic = team(served)
    url, _studies = _stocked(served)
    made = ann.post(f"{API}/studies", json={"id": "smith2019", "title": "Ketamine and the sgACC"})
    assert made.status_code == 201, made.text
    assert made.json()["study"]["title"] == "Ketamine and the sgACC"
    assert [s["id"] for s in ann.get(f"{API}/studies").json()][-1] == "smith2019"
    taken = ann.post(f"{API}/studies", json={"id": "fu2005"})
    assert (taken.status_code, taken.json()["detail"]) == (
        409,
        "study 'fu2005' exists already; edit it instead",
    )
    nameless = ann.post(f"{API}/studies", json={"title": "no id"})
    assert (nameless.status_code, nameless.json()["detail"]) == (
        422,
        [{"path": "id", "message": "Field required"}],
    )
    gone = owner.delete(f"{API}/studies/smith2019")
    assert gone.status_code == 200, gone.text
    assert owner.get(f"{API}/studies/smith2019").status_code == 404
    assert owner.delete(f"{API}/studies/smith2019").status_code == 404
    listed, total = changes.list_changes(url, entity_id="smith2019")
    assert total == 2
    assert [(c.action, c.editor) for c in listed] == [("delete", "olga"), ("create", "ann")]
    assert listed[0].id == gone.json()["change_id"]


def test_check_places_an_unsaved_document_without_saving_it(served):
    _owner, ann, _bob, vic = team(served)
    url, studies = _stocked(served)
    document = studies["abdallah2017"].model_dump(mode="json")
    document["analyses"][0]["foci"][0].update(x=0, y=0, z=100)
    checked = vic.post(f"{API}/studies/abdallah2017/check", json=document)
    assert checked.status_code == 200
    assert checked.json()["foci_notes"][0]["foci"][0] == {
        "mni": [0.0, 0.0, 100.0],
        "aal3": None,
        "aal3_distance_mm": None,
        "outside_brain": True,
        "distance_mm": 26.0,
        "flag": "outside the brain mask beyond kernel reach",
    }
    assert [(f["analysis_id"], f["focus_index"]) for f in checked.json()["flags"]] == [
        ("saberi-increase", 0)
    ]
    document["analyses"][0]["foci"][0]["z"] = None
    invalid = vic.post(f"{API}/studies/abdallah2017/check", json=document)
    assert invalid.json()["detail"] == [
        {"path": "analyses.0.foci.0.z", "message": "Input should be a valid number"}
    ]
    with Repository(url) as repository:
        assert repository.get_study("abdallah2017") == studies["abdallah2017"]


def test_the_glass_brain_routes(served):
    _owner, _ann, _bob, vic = team(served)
    _stocked(served)
    svg = vic.get(f"{API}/studies/abdallah2017/glass.svg?analysis=saberi-decrease&focus=1")
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.text.count('class="focus highlight"') == 3
    assert svg.text.count("<circle") == 3 * 5
    assert "<title>saberi-decrease, focus 2:" in svg.text
    bad = vic.get(f"{API}/studies/abdallah2017/glass.svg?analysis=saberi-decrease&focus=9")
    assert (bad.status_code, bad.json()["detail"]) == (
        422,
        "analysis 'saberi-decrease' has 2 foci; there is no focus 9",
    )
    assert vic.get(f"{API}/studies/nope/glass.svg").status_code == 404
    points = vic.get(f"{API}/glass.svg?points=2,24,-8;0,0,100&highlight=1")
    assert points.status_code == 200
    assert points.text.count('class="focus outside highlight"') == 3
    wrong = vic.get(f"{API}/glass.svg?points=2,24;0,0,nan")
    assert (wrong.status_code, wrong.json()["detail"]) == (
        422,
        "point 1 ('2,24') is not x,y,z in mm",
    )
    beyond = vic.get(f"{API}/glass.svg?points=2,24,-8&highlight=1")
    assert beyond.status_code == 422


def test_the_pages_list_edit_and_refuse_in_html(served):
    owner, ann, _bob, vic = team(served)
    _stocked(served)
    listing = vic.get("/p/ketamine/studies")
    assert listing.status_code == 200 and "text/html" in listing.headers["content-type"]
    assert re.findall(r'<tr data-study="([^"]+)">', listing.text) == list(IDS)
    assert 'id="new-study"' not in listing.text  # a viewer adds no study
    assert 'id="new-study"' in ann.get("/p/ketamine/studies").text
    page = vic.get("/p/ketamine/studies/abdallah2017")
    assert page.status_code == 200
    assert 'data-editable="false"' in page.text
    assert 'data-load-url="/api/projects/ketamine/studies/abdallah2017"' in page.text
    assert '<script src="/static/study.js" defer></script>' in page.text
    editing = ann.get("/p/ketamine/studies/abdallah2017")
    assert 'data-editable="true"' in editing.text and 'data-action="delete"' not in editing.text
    assert 'data-action="delete"' in owner.get("/p/ketamine/studies/abdallah2017").text
    mine = ann.get("/p/ketamine/studies/abdallah2017?extraction=mine")
    url = "/api/projects/ketamine/studies/abdallah2017/extractions/mine"
    assert f'data-load-url="{url}" data-save-url="{url}"' in mine.text
    assert 'data-mode="extraction"' in mine.text
    refused = vic.get("/p/ketamine/studies/abdallah2017?extraction=mine")
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    assert "your role in &#39;ketamine&#39; is viewer; this needs reviewer or above" in refused.text
    missing = vic.get("/p/ketamine/studies/nope")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert "no study &#39;nope&#39; in this project" in missing.text
    eve = Browser(served, "eve")
    eve.sign_up_and_in()
    stranger = eve.get("/p/ketamine/studies")
    assert stranger.status_code == 403 and "<h1>Not allowed" in stranger.text
    signed_out = TestClient(served).get("/p/ketamine/studies", follow_redirects=False)
    assert (signed_out.status_code, signed_out.headers["location"]) == (303, "/sign-in")
    assert "/static/study.js" not in vic.get("/p/ketamine").text


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    """A SQLite server whose owner edits abdallah2017, and the study's document."""
    from neuroreview.pipeline.screening.plan import open_store
    from neuroreview.store.server import ServerStore
    from neuroreview.web.app import create_app

    folder = tmp_path_factory.mktemp("fuzzed")
    open_store(str(folder / "ketamine.db"), create=True).close()
    store = ServerStore(str(folder / "server.db"))
    store.add_project("ketamine", "Ketamine fMRI", str(folder / "ketamine.db"))
    app = create_app(store, project_folder=folder)
    _stocked(app)
    owner = Browser(app, "olga")
    owner.sign_up_and_in()
    owner.client = TestClient(app, raise_server_exceptions=False, cookies=owner.client.cookies)
    yield owner, owner.get(f"{API}/studies/abdallah2017").json()["study"]
    store.close()


def _paths(document, prefix=()):
    yield prefix
    if isinstance(document, dict | list):
        children = document.items() if isinstance(document, dict) else enumerate(document)
        for key, value in children:
            yield from _paths(value, (*prefix, key))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=5,
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), route=st.sampled_from(["put", "check"]))
def test_no_mangled_document_gets_a_server_error(fuzzed, data, route):
    owner, document = fuzzed
    mangled = copy.deepcopy(document)
    paths = [p for p in _paths(mangled) if p]
    for path in data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3)):
        target = mangled
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = data.draw(JSON)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change replaced what held this path
    url = f"{API}/studies/abdallah2017" + ("/check" if route == "check" else "")
    # Python's JSON (the server's too) writes and reads NaN and Infinity: send them as such.
    headers = {CSRF_HEADER: owner.csrf, "Content-Type": "application/json"}
    send = owner.client.put if route == "put" else owner.client.post
    answer = send(url, content=json.dumps(mangled), headers=headers)
    assert answer.status_code in (200, 422), (answer.status_code, answer.text[:300])
    if answer.status_code == 422:
        detail = answer.json()["detail"]
        assert detail and all(set(d) == {"path", "message"} and d["message"] for d in detail)
