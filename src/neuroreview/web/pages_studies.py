"""The study pages: the list of a project's studies with their flags, and the study editor.

The editor is a page shell (``study.html.j2``) that ``static/study.js`` fills from the API, so
the page, the API and dual extraction edit the same document the same way: the shell names the
URLs to load from and save to (the study, or with ``?extraction=mine`` the reader's own
extraction), and the choices each controlled field offers (the model's vocabularies).

A page someone may not see, or of a study that does not exist, is an HTML error page (the app's
handler of HTTP errors outside ``/api``), never the API's JSON.
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
from neuroreview.store.server import Role
from neuroreview.web.pages import member_page, page

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


@router.get("/p/{slug}/studies")
def studies_page(request: Request, slug: str) -> Response:
    entered = member_page(request, slug, Role.VIEWER)
    if isinstance(entered, Response):
        return entered
    found, member = entered
    return page(
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
    if extraction not in (None, "mine"):
        raise HTTPException(404, f"no extraction {extraction!r}: only ?extraction=mine")
    mine = extraction == "mine"
    entered = member_page(request, slug, Role.REVIEWER if mine else Role.VIEWER)
    if isinstance(entered, Response):
        return entered
    found, member = entered
    try:
        study = studies.find_study(member.project.url, study_id)
    except studies.StudyNotFound as error:
        raise HTTPException(404, str(error)) from None
    api = f"/api/projects/{quote(slug)}/studies/{quote(study_id, safe='')}"
    document = f"{api}/extractions/mine" if mine else api
    return page(
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
