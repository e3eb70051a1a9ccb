"""The browser pages: server-rendered Jinja2, a small script of our own, nothing from the web.

Pages read through the same functions as the API (and so the same blinding and roles); they
only lay the answers out. A page asked for without a session sends the browser to sign in.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from neuroreview.store.server import Role, Session
from neuroreview.web import api_screening
from neuroreview.web.deps import SESSION_COOKIE, member_of

router = APIRouter(include_in_schema=False)
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)


def _session(request: Request) -> Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    return request.app.state.server.session(token) if token else None


def _page(name: str, found: Session | None, **values) -> HTMLResponse:
    html = TEMPLATES.get_template(name).render(
        username=found.user.username if found else None,
        csrf=found.csrf if found else None,
        **values,
    )
    return HTMLResponse(html)


def _sign_in_first() -> RedirectResponse:
    return RedirectResponse("/sign-in", status_code=303)


@router.get("/sign-in")
def sign_in_page(request: Request) -> Response:
    return _page("sign_in.html.j2", None)


@router.get("/")
def projects_page(request: Request) -> Response:
    found = _session(request)
    if found is None:
        return _sign_in_first()
    memberships = request.app.state.server.memberships(found.user)
    return _page("projects.html.j2", found, projects=memberships)


@router.get("/p/{slug}")
def dashboard_page(request: Request, slug: str) -> Response:
    found = _session(request)
    if found is None:
        return _sign_in_first()
    member = member_of(request, slug, found, Role.VIEWER)
    board = api_screening.dashboard(member)
    return _page("dashboard.html.j2", found, project=member.project, role=member.role, board=board)


@router.get("/p/{slug}/screen")
def screening_page(request: Request, slug: str, stage: str = "screening") -> Response:
    found = _session(request)
    if found is None:
        return _sign_in_first()
    member = member_of(request, slug, found, Role.REVIEWER)
    board = api_screening.dashboard(member)
    if stage not in ("screening", "retrieval", "eligibility"):
        raise HTTPException(404, f"no stage {stage!r}")
    return _page(
        "screen.html.j2",
        found,
        project=member.project,
        stage=stage,
        reasons=board.get("reasons", []),
    )
