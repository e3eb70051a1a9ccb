"""The study pages: the list of a project's studies with their flags, and the study editor.

The editor is a page shell (``study.html.j2``) that ``static/study.js`` fills from the API, so
the page, the API and dual extraction edit the same document the same way: the shell names the
URLs to load from and save to (the study, or with ``?extraction=mine`` the reader's own
extraction), and the choices each controlled field offers (the model's vocabularies).

A page someone may not see, or of a study that does not exist, is an HTML error page
(:func:`error_page`), never the API's JSON.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from neuroreview.model import (
    Direction,
    EffectKind,
    Exposure,
    FindingKind,
    Measure,
    Modality,
    Population,
    Space,
    StatKind,
    Timing,
)
from neuroreview.pipeline import studies
from neuroreview.store.server import Role, Session
from neuroreview.web.deps import Member, member_of
from neuroreview.web.pages import _page, _session, _sign_in_first

router = APIRouter(include_in_schema=False)

#: The choices of each controlled field of the editor, by the model field's name.
CHOICES = {
    "population": Population,
    "modality": Modality,
    "timing": Timing,
    "exposure": Exposure,
    "direction": Direction,
    "kind": FindingKind,
    "measure": Measure,
    "space": Space,
    "stat_kind": StatKind,
    "effect_kind": EffectKind,
}


def error_page(found: Session | None, status: int, message: str) -> Response:
    """An HTML page saying what went wrong, with the status code the API would give."""
    titles = {403: "Not allowed", 404: "Not found"}
    response = _page(
        "error.html.j2",
        found,
        status=status,
        heading=titles.get(status, "Something is wrong"),
        message=message,
    )
    response.status_code = status
    return response


def member_or_error(request: Request, slug: str, found: Session, needed: Role) -> Member | Response:
    """The member with at least ``needed``, or the error page saying why not."""
    try:
        return member_of(request, slug, found, needed)
    except HTTPException as error:
        return error_page(found, error.status_code, str(error.detail))


@router.get("/p/{slug}/studies")
def studies_page(request: Request, slug: str) -> Response:
    found = _session(request)
    if found is None:
        return _sign_in_first()
    member = member_or_error(request, slug, found, Role.VIEWER)
    if isinstance(member, Response):
        return member
    return _page(
        "studies.html.j2",
        found,
        project=member.project,
        role=member.role,
        summaries=studies.study_summaries(member.project.url),
        can_edit=member.role.allows(Role.REVIEWER),
    )


@router.get("/p/{slug}/studies/{study_id}")
def study_page(
    request: Request, slug: str, study_id: str, extraction: str | None = None
) -> Response:
    found = _session(request)
    if found is None:
        return _sign_in_first()
    if extraction not in (None, "mine"):
        return error_page(found, 404, f"no extraction {extraction!r}: only ?extraction=mine")
    mine = extraction == "mine"
    member = member_or_error(request, slug, found, Role.REVIEWER if mine else Role.VIEWER)
    if isinstance(member, Response):
        return member
    try:
        study = studies.find_study(member.project.url, study_id)
    except studies.StudyNotFound as error:
        return error_page(found, 404, str(error))
    api = f"/api/projects/{quote(slug)}/studies/{quote(study_id, safe='')}"
    document = f"{api}/extractions/mine" if mine else api
    return _page(
        "study.html.j2",
        found,
        project=member.project,
        role=member.role,
        study=study,
        mode="extraction" if mine else "study",
        urls={
            "load": document,
            "save": document,
            "check": f"{api}/check",
            "glass": f"{api}/glass.svg",
            "points-glass": f"/api/projects/{quote(slug)}/glass.svg",
            "list": f"/p/{quote(slug)}/studies",
            "study_page": f"/p/{quote(slug)}/studies/{quote(study_id, safe='')}",
            "delete": api,
        },
        editable=mine or member.role.allows(Role.REVIEWER),
        can_delete=not mine and member.role.allows(Role.OWNER),
        choices={name: [m.value for m in enum] for name, enum in CHOICES.items()},
    )
