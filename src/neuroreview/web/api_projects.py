"""Projects and their members: list yours, create one, add or remove people, set roles."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from neuroreview.errors import NeuroreviewError
from neuroreview.store import engines
from neuroreview.store.server import Role, ServerStore
from neuroreview.web.deps import CurrentSession, Member, Owner, Server, Viewer

router = APIRouter(prefix="/api/projects", tags=["projects"])
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class ProjectOut(BaseModel):
    slug: str
    title: str
    role: str


class NewProject(BaseModel):
    slug: str = Field(min_length=1, max_length=63, description="lower-case letters, digits, '-'")
    title: str = Field(min_length=1, max_length=300)


class MemberOut(BaseModel):
    username: str
    role: Role


class RoleIn(BaseModel):
    role: Role


@router.get("", response_model=list[ProjectOut])
def my_projects(found: CurrentSession, store: Server):
    return [
        ProjectOut(slug=p.slug, title=p.title, role=r.value)
        for p, r in store.memberships(found.user)
    ]


@router.post("", status_code=201, response_model=ProjectOut)
def new_project(
    body: NewProject,
    request: Request,
    found: CurrentSession,
    store: Server,
) -> ProjectOut:
    """A new review with a store of its own, beside the server's (a SQLite server only: on
    PostgreSQL, projects are databases an administrator creates and serves with --db)."""
    if not SLUG.match(body.slug):
        raise HTTPException(422, "a project name is lower-case letters, digits and '-'")
    folder = request.app.state.project_folder
    if folder is None:
        raise HTTPException(
            409, "this server creates no project stores; serve an existing one with --db"
        )
    from neuroreview.pipeline.screening.plan import open_store

    path = folder / f"{body.slug}.db"
    if store.project(body.slug) is not None or path.exists():
        raise HTTPException(409, f"a project {body.slug!r} exists already")
    open_store(str(path), create=True).close()
    try:
        project = store.add_project(body.slug, body.title, str(path))
    except NeuroreviewError as error:
        raise HTTPException(409, str(error)) from None
    store.set_role(project, found.user, Role.OWNER)
    engines.keep([project.url])
    return ProjectOut(slug=project.slug, title=project.title, role=Role.OWNER.value)


@router.get("/{slug}/members", response_model=list[MemberOut])
def members(member: Viewer, store: Server):
    return [MemberOut(username=u.username, role=r) for u, r in store.members(member.project)]


@router.put("/{slug}/members/{username}", response_model=MemberOut)
def set_member(
    username: str,
    body: RoleIn,
    member: Owner,
    store: Server,
) -> MemberOut:
    """Add someone to the project or change their role (recorded in the project's history)."""
    _set_role(store, member, username, body.role)
    return MemberOut(username=username, role=body.role)


@router.delete("/{slug}/members/{username}", status_code=204)
def remove_member(username: str, member: Owner, store: Server) -> None:
    user = store.user(username)
    if user is None or store.role(member.project, user) is None:
        raise HTTPException(404, f"{username!r} is not a member")
    _set_role(store, member, username, None)


def _set_role(store: ServerStore, member: Member, username: str, role: Role | None) -> None:
    from neuroreview.pipeline.team import LastOwner, set_member_role

    try:
        set_member_role(store, member.project, username, role, member.username)
    except LastOwner as error:
        raise HTTPException(409, str(error)) from None
    except NeuroreviewError as error:
        raise HTTPException(404, str(error)) from None


class PlanIn(BaseModel):
    reviewers: dict[str, int] = Field(
        default_factory=dict,
        description="reviewers each stage needs, e.g. {'screening': 2} for dual screening",
    )
    reasons: list[str] | None = Field(
        default=None, max_length=50, description="the full-text exclusion reasons, in order"
    )


class PlanOut(BaseModel):
    reviewers: dict[str, int]
    reasons: list[str]


@router.put("/{slug}/screening-plan", response_model=PlanOut)
def set_plan(body: PlanIn, member: Owner) -> PlanOut:
    """How many reviewers each stage needs (2: blind dual review) and the exclusion reasons."""
    from neuroreview.pipeline.screening import configure

    bad = {stage: n for stage, n in body.reviewers.items() if not 1 <= n <= 20}
    if bad:
        stage, n = next(iter(bad.items()))
        raise HTTPException(422, f"reviewers at {stage}: {n} is not between 1 and 20")
    try:
        plan = configure(member.project.url, body.reviewers, body.reasons, editor=member.username)
    except NeuroreviewError as error:
        raise HTTPException(400, str(error)) from None
    return PlanOut(
        reviewers={s.value: n for s, n in plan.reviewers.items()}, reasons=list(plan.reasons)
    )
