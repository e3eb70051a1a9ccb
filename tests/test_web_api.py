"""The web workspace's REST API: accounts, roles, blind dual screening, imports, bad requests.

Each test runs on SQLite and on PostgreSQL (when ``NEUROREVIEW_TEST_POSTGRES_URL`` is set, as
``.ci/run`` sets it): the server's tables and the project's store in one database.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from conftest import POSTGRES_URL, _empty_postgres  # noqa: F401  (re-exported for other tests)
from neuroreview.store.server import Role, ServerStore
from neuroreview.web.deps import CSRF_HEADER

PASSWORD = "correct horse battery"

RIS = """\
TY  - JOUR
DB  - Embase
TI  - Ketamine reduces subgenual anterior cingulate activity in major depression
AU  - Smith, J.
PY  - 2019
AB  - We scanned 20 patients before and after a ketamine infusion.
ER  -

TY  - JOUR
DB  - Embase
TI  - Glutamate spectroscopy after ketamine in bipolar depression
AU  - White, Kim
PY  - 2021
ER  -

TY  - JOUR
DB  - Embase
TI  - Esketamine nasal spray and default mode connectivity
AU  - Brown, A.
PY  - 2022
ER  -
"""


class Browser:
    """One person's session: a client with its own cookies, sending the CSRF token."""

    def __init__(self, app, username: str) -> None:
        self.client = TestClient(app)
        self.username = username
        self.csrf = ""

    def sign_up_and_in(self) -> dict:
        made = self.client.post(
            "/api/accounts", json={"username": self.username, "password": PASSWORD}
        )
        assert made.status_code == 201, made.text
        signed = self.client.post(
            "/api/session", json={"username": self.username, "password": PASSWORD}
        )
        assert signed.status_code == 200, signed.text
        self.csrf = signed.json()["csrf"]
        return made.json()

    def get(self, url: str, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url: str, **kwargs):
        return self.client.post(url, headers={CSRF_HEADER: self.csrf}, **kwargs)

    def put(self, url: str, **kwargs):
        return self.client.put(url, headers={CSRF_HEADER: self.csrf}, **kwargs)

    def delete(self, url: str, **kwargs):
        return self.client.delete(url, headers={CSRF_HEADER: self.csrf}, **kwargs)


def team(app) -> tuple[Browser, Browser, Browser, Browser]:
    """owner (first account: owns the project), two reviewers, a viewer."""
    owner, ann, bob, vic = (Browser(app, n) for n in ("olga", "ann", "bob", "vic"))
    assert owner.sign_up_and_in()["owner_of"] == ["ketamine"]
    for person, role in ((ann, "reviewer"), (bob, "reviewer"), (vic, "viewer")):
        assert person.sign_up_and_in()["owner_of"] == []
        answer = owner.put(f"/api/projects/ketamine/members/{person.username}", json={"role": role})
        assert answer.status_code == 200, answer.text
    return owner, ann, bob, vic


def upload(person: Browser, text: str = RIS, name: str = "embase.ris"):
    return person.post(
        "/api/projects/ketamine/imports", files={"file": (name, text.encode(), "text/plain")}
    )


def test_sign_in_roles_and_members(served):
    owner, ann, bob, vic = team(served)
    assert ann.get("/api/session").json()["projects"] == {"ketamine": "reviewer"}
    members = owner.get("/api/projects/ketamine/members").json()
    assert members == [
        {"username": "ann", "role": "reviewer"},
        {"username": "bob", "role": "reviewer"},
        {"username": "olga", "role": "owner"},
        {"username": "vic", "role": "viewer"},
    ]
    wrong = TestClient(served).post(
        "/api/session", json={"username": "ann", "password": "nope" * 3}
    )
    assert (wrong.status_code, wrong.json()["detail"]) == (401, "wrong user name or password")
    ghost = TestClient(served).post("/api/session", json={"username": "zed", "password": PASSWORD})
    assert ghost.status_code == 401
    taken = TestClient(served).post("/api/accounts", json={"username": "ann", "password": PASSWORD})
    assert taken.status_code == 409 and "taken" in taken.json()["detail"]
    short = TestClient(served).post("/api/accounts", json={"username": "new", "password": "short"})
    assert short.status_code == 422
    lone = owner.put("/api/projects/ketamine/members/olga", json={"role": "viewer"})
    assert (lone.status_code, lone.json()["detail"]) == (409, "a project keeps at least one owner")


def test_a_non_member_gets_403_and_a_stranger_401(served):
    team(served)
    eve = Browser(served, "eve")
    eve.sign_up_and_in()
    for url in ("/api/projects/ketamine/screening", "/api/projects/ketamine/records"):
        answer = eve.get(url)
        assert answer.status_code == 403
        assert answer.json()["detail"] == "you are not a member of project 'ketamine'"
    # A project that does not exist answers the same: names of projects do not leak.
    assert eve.get("/api/projects/secret/records").json()["detail"] == (
        "you are not a member of project 'secret'"
    )
    assert TestClient(served).get("/api/projects/ketamine/records").status_code == 401


def test_a_viewer_reads_but_cannot_write(served):
    owner, ann, _bob, vic = team(served)
    assert upload(ann).status_code == 201
    assert vic.get("/api/projects/ketamine/records").json()["total"] == 3
    refused = vic.post("/api/projects/ketamine/records/1.1/decisions", json={"verdict": "include"})
    assert refused.status_code == 403
    assert (
        refused.json()["detail"]
        == "your role in 'ketamine' is viewer; this needs reviewer or above"
    )
    assert upload(vic, name="other.ris").status_code == 403
    assert vic.put("/api/projects/ketamine/members/ann", json={"role": "owner"}).status_code == 403


def test_changes_need_the_csrf_token(served):
    _owner, ann, _bob, _vic = team(served)
    assert upload(ann).status_code == 201
    forged = ann.client.post(
        "/api/projects/ketamine/records/1.1/decisions", json={"verdict": "include"}
    )
    assert forged.status_code == 403 and "CSRF" in forged.json()["detail"]
    wrong = ann.client.post(
        "/api/projects/ketamine/records/1.1/decisions",
        json={"verdict": "include"},
        headers={CSRF_HEADER: "x" * 43},
    )
    assert wrong.status_code == 403
    assert ann.get("/api/projects/ketamine/records/1.1").json()["decisions"] == []


def test_dual_screening_is_blind_until_both_have_decided(served):
    _owner, ann, bob, vic = team(served)
    assert upload(ann).json() == {
        "batch": "1",
        "file": "embase.ris",
        "n_records": 3,
        "source": "Embase",
    }
    said = ann.post("/api/projects/ketamine/records/1.1/decisions", json={"verdict": "include"})
    assert said.status_code == 201, said.text
    assert [d["verdict"] for d in said.json()["record"]["decisions"]] == ["include"]
    # bob sees that one decision exists, never whose or which, and the record still waits.
    seen_by_bob = bob.get("/api/projects/ketamine/records/1.1").json()
    assert seen_by_bob["decisions"] == [] and seen_by_bob["hidden_decisions"] == 1
    assert seen_by_bob["place"] == "awaiting title/abstract screening"
    assert vic.get("/api/projects/ketamine/records/1.1").json()["decisions"] == []
    assert [r["id"] for r in bob.get("/api/projects/ketamine/queue").json()["records"]] != []
    assert bob.get("/api/projects/ketamine/conflicts").json() == []
    bob.post("/api/projects/ketamine/records/1.1/decisions", json={"verdict": "exclude"})
    both = vic.get("/api/projects/ketamine/records/1.1").json()
    assert sorted((d["reviewer"], d["verdict"]) for d in both["decisions"]) == [
        ("ann", "include"),
        ("bob", "exclude"),
    ]
    assert both["conflict"] == "screening" and both["hidden_decisions"] == 0
    assert [r["id"] for r in ann.get("/api/projects/ketamine/conflicts").json()] == ["1.1"]


def test_a_conflict_resolved_includes_the_record_and_makes_its_study(served):
    owner, ann, bob, _vic = team(served)
    upload(ann)
    settings = {"verdict": "include"}
    for person, verdict in ((ann, "include"), (bob, "exclude")):
        person.post("/api/projects/ketamine/records/1.2/decisions", json={"verdict": verdict})
    resolved = owner.post(
        "/api/projects/ketamine/records/1.2/decisions", json=settings | {"resolve": True}
    )
    assert resolved.status_code == 201, resolved.text
    assert resolved.json()["record"]["place"] == "awaiting retrieval"
    owner.post("/api/projects/ketamine/records/1.2/decisions", json={"verdict": "include"})
    for person in (ann, bob):
        person.post("/api/projects/ketamine/records/1.2/decisions", json={"verdict": "include"})
    included = owner.get("/api/projects/ketamine/records/1.2").json()
    assert included["place"] == "included" and included["study_id"]
    board = owner.get("/api/projects/ketamine/screening").json()
    assert board["records"] == 3 and board["waiting"] == {"screening": 2}
    assert board["prisma"]["databases"]["included"] == 1


def test_bad_requests_get_a_4xx_with_a_message(served):
    _owner, ann, _bob, _vic = team(served)
    upload(ann)
    malformed = ann.client.post(
        "/api/projects/ketamine/records/1.1/decisions",
        content=b"{not json",
        headers={CSRF_HEADER: ann.csrf, "content-type": "application/json"},
    )
    assert malformed.status_code == 422 and malformed.json()["detail"]
    verdict = ann.post("/api/projects/ketamine/records/1.1/decisions", json={"verdict": "perhaps"})
    assert verdict.status_code == 400 and "perhaps" in verdict.json()["detail"]
    missing = ann.post("/api/projects/ketamine/records/9.9/decisions", json={"verdict": "include"})
    assert missing.status_code == 400 and "no record '9.9'" in missing.json()["detail"]
    again = upload(ann)
    assert again.status_code == 400 and "was already imported as batch 1" in again.json()["detail"]
    assert "neuroreview-upload" not in again.json()["detail"]  # no server paths in messages
    broken = upload(ann, "TY  - JOUR\nTI  - No end\n", "broken.ris")
    assert broken.status_code == 400 and broken.json()["detail"].startswith("broken.ris:")
    served.state.max_upload_bytes = 1000
    big = upload(ann, RIS * 20, "big.ris")
    assert big.status_code == 413 and "limit" in big.json()["detail"]
    assert ann.get("/api/projects/ketamine/records").json()["total"] == 3


def test_openapi_spec_lists_the_routes(served):
    spec = TestClient(served).get("/api/openapi.json").json()
    assert {"/api/session", "/api/projects/{slug}/records/{record_id}/decisions"} <= set(
        spec["paths"]
    )


def test_server_store_keeps_roles_per_project(tmp_path):
    store = ServerStore(str(tmp_path / "s.db"))
    a = store.add_project("a", "A", "a.db")
    b = store.add_project("b", "B", "b.db")
    user = store.add_user("ann", "hash")
    store.set_role(a, user, Role.REVIEWER)
    assert store.role(a, user) is Role.REVIEWER and store.role(b, user) is None
    assert [p.slug for p in store.unowned_projects()] == ["a", "b"]
    store.set_role(a, user, None)
    assert store.memberships(user) == []
    assert Role.OWNER.allows(Role.REVIEWER) and not Role.VIEWER.allows(Role.REVIEWER)
    store.close()


def test_pages_send_a_stranger_to_sign_in_and_show_a_member_the_counts(served):
    _owner, ann, _bob, vic = team(served)
    stranger = TestClient(served, follow_redirects=False).get("/p/ketamine")
    assert (stranger.status_code, stranger.headers["location"]) == (303, "/sign-in")
    upload(ann)
    page = vic.get("/p/ketamine")
    assert page.status_code == 200
    assert '<td data-count="identified">3</td>' in page.text
    assert "3 record(s) await screening" in page.text
    assert f'<meta name="csrf-token" content="{vic.csrf}">' in page.text
    assert 'id="import"' not in page.text  # a viewer gets no import form
    assert vic.get("/p/ketamine/screen").status_code == 403
    assert ann.get("/p/ketamine/screen").status_code == 200
    assert ann.get("/static/workspace.js").text.startswith("// neuroreview's browser script")


@pytest.mark.real_argon2
def test_passwords_are_stored_as_argon2id_hashes_at_the_library_defaults(served):
    owner = Browser(served, "olga")
    owner.sign_up_and_in()
    _user, stored = served.state.server.password_hash("olga")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in stored
    wrong = TestClient(served).post(
        "/api/session", json={"username": "olga", "password": PASSWORD + "!"}
    )
    assert wrong.status_code == 401
