"""The browser pages: server-rendered Jinja2, a small script of our own, nothing from the web.

Pages read through the same functions as the API (and so the same blinding and roles); they
only lay the answers out. A page asked for without a session sends the browser to sign in.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from neuroreview.pipeline import studies
from neuroreview.store.server import Role, Session
from neuroreview.web import api_screening
from neuroreview.web.deps import SESSION_COOKIE, Member, member_of

router = APIRouter(include_in_schema=False)
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)


def _session(request: Request) -> Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    return request.app.state.server.session(token) if token else None


def page(name: str, found: Session | None, **values) -> HTMLResponse:
    html = TEMPLATES.get_template(name).render(
        username=found.user.username if found else None,
        csrf=found.csrf if found else None,
        **values,
    )
    return HTMLResponse(html)


#: Headings of the error page, by status.
ERROR_TITLES = {401: "Sign in first", 403: "Not allowed", 404: "Not found"}


def error_response(request: Request, status: int, message: str) -> HTMLResponse:
    """An HTML page saying what went wrong, with the status code the API would give."""
    response = page(
        "error.html.j2",
        _session(request),
        status=status,
        heading=ERROR_TITLES.get(status, "Something is wrong"),
        message=message,
    )
    response.status_code = status
    return response


def _sign_in_first() -> RedirectResponse:
    return RedirectResponse("/sign-in", status_code=303)


def member_page(request: Request, slug: str, needed: Role) -> tuple[Session, Member] | Response:
    """The session and membership a project page needs, or the redirect that sends a browser
    without a session to sign in (a member below ``needed`` gets the 403 page)."""
    found = _session(request)
    if found is None:
        return _sign_in_first()
    return found, member_of(request, slug, found, needed)


@router.get("/sign-in")
def sign_in_page(request: Request) -> Response:
    return page("sign_in.html.j2", None)


@router.get("/")
def projects_page(request: Request) -> Response:
    found = _session(request)
    if found is None:
        return _sign_in_first()
    memberships = request.app.state.server.memberships(found.user)
    return page("projects.html.j2", found, projects=memberships)


@router.get("/p/{slug}")
def dashboard_page(request: Request, slug: str) -> Response:
    entered = member_page(request, slug, Role.VIEWER)
    if isinstance(entered, Response):
        return entered
    found, member = entered
    board = api_screening.dashboard(member)
    members = request.app.state.server.members(member.project)
    return page(
        "dashboard.html.j2",
        found,
        project=member.project,
        role=member.role,
        board=board,
        extraction=studies.extraction_progress(member.project.url),
        members=[(user.username, role.value) for user, role in members],
    )


@router.get("/p/{slug}/screen")
def screening_page(request: Request, slug: str, stage: str = "screening") -> Response:
    entered = member_page(request, slug, Role.REVIEWER)
    if isinstance(entered, Response):
        return entered
    found, member = entered
    board = api_screening.dashboard(member)
    if stage not in ("screening", "retrieval", "eligibility"):
        raise HTTPException(404, f"no stage {stage!r}")
    return page(
        "screen.html.j2",
        found,
        project=member.project,
        stage=stage,
        reasons=board.get("reasons", []),
    )
