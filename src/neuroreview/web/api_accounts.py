"""Accounts and sessions: sign up, sign in, who am I, sign out."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from neuroreview.errors import NeuroreviewError
from neuroreview.store.server import Role, ServerStore, Session
from neuroreview.web import security
from neuroreview.web.deps import SESSION_COOKIE, CurrentSession, Server

router = APIRouter(prefix="/api", tags=["accounts"])

#: How long a session lasts without signing in again.
SESSION_LIFETIME = timedelta(hours=12)
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")


class Credentials(BaseModel):
    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SessionInfo(BaseModel):
    username: str
    csrf: str
    projects: dict[str, str] = Field(description="slug -> your role")


class Account(BaseModel):
    username: str
    owner_of: list[str] = Field(description="projects without an owner that you now own")


@router.post("/accounts", status_code=201, response_model=Account)
def sign_up(credentials: Credentials, store: Server) -> Account:
    """Create an account. It sees no project until an owner adds it; the server's first
    account becomes the owner of every project that has none, so a new server can be used."""
    if not USERNAME.match(credentials.username):
        raise HTTPException(
            422,
            "a user name is 2-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    if len(credentials.password) < security.MIN_PASSWORD:
        raise HTTPException(422, f"a password needs at least {security.MIN_PASSWORD} characters")
    try:
        user = store.add_user(credentials.username, security.hash_password(credentials.password))
    except NeuroreviewError as error:
        raise HTTPException(409, str(error)) from None
    owned = []
    if store.n_users() == 1:
        for project in store.unowned_projects():
            store.set_role(project, user, Role.OWNER)
            owned.append(project.slug)
    return Account(username=user.username, owner_of=owned)


@router.post("/session", response_model=SessionInfo)
def sign_in(
    credentials: Credentials,
    request: Request,
    response: Response,
    store: Server,
) -> SessionInfo:
    found = store.password_hash(credentials.username)
    stored = found[1] if found else security.DUMMY_HASH
    if not security.check_password(stored, credentials.password) or found is None:
        raise HTTPException(401, "wrong user name or password")
    user = found[0]
    if security.needs_rehash(stored):
        store.set_password_hash(user, security.hash_password(credentials.password))
    token = security.new_token()
    opened = store.add_session(user, token, security.new_token(), SESSION_LIFETIME)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.app.state.secure_cookies,
        path="/",
    )
    return _info(store, opened)


@router.get("/session", response_model=SessionInfo)
def who_am_i(found: CurrentSession, store: Server) -> SessionInfo:
    return _info(store, found)


@router.delete("/session", status_code=204)
def sign_out(request: Request, response: Response, _found: CurrentSession) -> None:
    request.app.state.server.end_session(request.cookies[SESSION_COOKIE])
    response.delete_cookie(SESSION_COOKIE, path="/")


def _info(store: ServerStore, found: Session) -> SessionInfo:
    projects = {p.slug: r.value for p, r in store.memberships(found.user)}
    return SessionInfo(username=found.user.username, csrf=found.csrf, projects=projects)
