"""Who is asking, and may they: the session behind a request, its CSRF token, a member's role.

Every project route depends on :func:`member` with the least role it needs, so access is
checked in one place: no session is 401, not a member of the project is 403 (the same answer
whether or not the project exists, so names of other teams' projects do not leak), a role
below the one needed is 403 naming both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from neuroreview.store.server import Project, Role, ServerStore, Session
from neuroreview.web.security import same_token

SESSION_COOKIE = "neuroreview_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def server(request: Request) -> ServerStore:
    return request.app.state.server


def session(request: Request) -> Session:
    """The request's session; a change also needs the session's CSRF token."""
    token = request.cookies.get(SESSION_COOKIE)
    found = request.app.state.server.session(token) if token else None
    if found is None:
        raise HTTPException(401, "sign in first")
    if request.method in UNSAFE and not same_token(found.csrf, request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, f"missing or wrong CSRF token (send it in {CSRF_HEADER})")
    return found


@dataclass(frozen=True)
class Member:
    session: Session
    project: Project
    role: Role

    @property
    def username(self) -> str:
        return self.session.user.username


def member_of(request: Request, slug: str, found: Session, needed: Role) -> Member:
    store: ServerStore = request.app.state.server
    project = store.project(slug)
    role = store.role(project, found.user) if project is not None else None
    if project is None or role is None:
        raise HTTPException(403, f"you are not a member of project {slug!r}")
    if not role.allows(needed):
        raise HTTPException(
            403, f"your role in {slug!r} is {role.value}; this needs {needed.value} or above"
        )
    return Member(found, project, role)


CurrentSession = Annotated[Session, Depends(session)]


def viewer(request: Request, slug: str, found: CurrentSession) -> Member:
    return member_of(request, slug, found, Role.VIEWER)


def reviewer(request: Request, slug: str, found: CurrentSession) -> Member:
    return member_of(request, slug, found, Role.REVIEWER)


def owner(request: Request, slug: str, found: CurrentSession) -> Member:
    return member_of(request, slug, found, Role.OWNER)


Server = Annotated[ServerStore, Depends(server)]
#: A member of the route's project with at least that role.
Viewer = Annotated[Member, Depends(viewer)]
Reviewer = Annotated[Member, Depends(reviewer)]
Owner = Annotated[Member, Depends(owner)]
