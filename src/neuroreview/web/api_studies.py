"""Studies over the web: list, read, check, save, create and delete a study, and its glass brain.

A study is edited as one document (its metadata, analyses with their foci, region findings and
sources): one PUT of the whole study is one audited change (``pipeline.changes``), so the trail
shows each save as a whole and an undo restores it as a whole. Each answer carries where every
focus lands (MNI, AAL3 label, distance outside the brain) and the corpus check's flags, all
computed by ``pipeline.studies``; a document that does not validate is a 422 whose ``detail``
lists ``{"path", "message"}`` per field, so the editor can show each message at its input.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Response
from pydantic import BaseModel, Field

from neuroreview.errors import NeuroreviewError
from neuroreview.model import Analysis, RegionFinding, Study
from neuroreview.pipeline import changes, studies
from neuroreview.pipeline.glass_brain import glass_brain_svg
from neuroreview.web.deps import Member, Owner, Reviewer, Viewer

router = APIRouter(prefix="/api/projects/{slug}", tags=["studies"])

#: Most points one ad hoc glass brain draws (a long query string is refused before this).
MAX_GLASS_POINTS = 2000
SVG = "image/svg+xml"


class StudySummaryOut(BaseModel):
    id: str
    label: str
    title: str | None
    year: int | None
    n_analyses: int
    n_foci: int
    n_findings: int
    n_flags: int = Field(description="foci the corpus check flags")
    record_id: str | None


class FocusNoteOut(BaseModel):
    mni: list[float] | None = Field(description="the focus in MNI mm; null: space unknown")
    aal3: str | None = Field(description="AAL3 label; null: none within 5 mm or not placed")
    aal3_distance_mm: float | None
    outside_brain: bool | None
    distance_mm: float | None = Field(description="distance outside the brain mask (0 inside)")
    flag: str | None = Field(description="the corpus check's reason, if it flags this focus")


class AnalysisNotesOut(BaseModel):
    analysis_id: str
    foci: list[FocusNoteOut]


class FlagOut(BaseModel):
    analysis_id: str
    focus_index: int = Field(description="from 0, as in the study document's paths")
    x: float
    y: float
    z: float
    space: str
    reason: str
    distance_mm: float
    leaves: bool = Field(description="left out of a meta-analysis (a duplicate is pooled)")


class CheckedOut(BaseModel):
    foci_notes: list[AnalysisNotesOut]
    flags: list[FlagOut]


class StudyViewOut(CheckedOut):
    study: Study


class SavedOut(StudyViewOut):
    change_id: int | None = Field(description="the audited change this save recorded")


class DeletedOut(BaseModel):
    change_id: int


class FieldError(BaseModel):
    path: str = Field(description="dotted path in the study document, e.g. analyses.0.foci.2.x")
    message: str


class InvalidOut(BaseModel):
    detail: list[FieldError]


INVALID = {422: {"model": InvalidOut, "description": "the study document does not validate"}}
StudyDocument = Annotated[
    dict[str, Any],
    Body(description="the study as JSON (as `study` in GET /studies/{study_id})"),
]


def _view_out(view: studies.StudyView) -> dict[str, Any]:
    answer = view.to_json()
    answer["study"] = view.study
    return answer


def _study(member: Member, study_id: str) -> Study:
    try:
        return studies.find_study(member.project.url, study_id)
    except studies.StudyNotFound as error:
        raise HTTPException(404, str(error)) from None


def _parsed(body: Any, study_id: str | None) -> Study:
    try:
        return studies.parse_study(body, study_id)
    except studies.StudyInvalid as error:
        raise HTTPException(422, error.errors) from None


def _saved(member: Member, study: Study, *, create: bool) -> dict[str, Any]:
    try:
        change = changes.save_study(member.project.url, study, member.username, create=create)
    except NeuroreviewError as error:
        raise HTTPException(400, str(error)) from None
    answer = _view_out(studies.study_view(member.project.url, study.id))
    answer["change_id"] = change.id if change is not None else None
    return answer


@router.get("/studies", response_model=list[StudySummaryOut])
def list_studies(member: Viewer) -> list[StudySummaryOut]:
    """Every study of the project in corpus order, with its counts and flags."""
    return [StudySummaryOut(**s.__dict__) for s in studies.study_summaries(member.project.url)]


@router.post("/studies", status_code=201, response_model=SavedOut, responses=INVALID)
def create_study(body: StudyDocument, member: Reviewer) -> dict[str, Any]:
    """A new study (its id must be new to the project), recorded as a change."""
    study = _parsed(body, None)
    try:
        studies.find_study(member.project.url, study.id)
    except studies.StudyNotFound:
        return _saved(member, study, create=True)
    raise HTTPException(409, f"study {study.id!r} exists already; edit it instead")


@router.get("/studies/{study_id}", response_model=StudyViewOut)
def get_study(study_id: str, member: Viewer) -> dict[str, Any]:
    """The study document, where each focus lands, and the corpus check's flags."""
    return _view_out(studies.view_of(_study(member, study_id)))


@router.put("/studies/{study_id}", response_model=SavedOut, responses=INVALID)
def put_study(study_id: str, body: StudyDocument, member: Reviewer) -> dict[str, Any]:
    """Replace the study with ``body`` (its id must be ``study_id``): one audited change."""
    _study(member, study_id)
    return _saved(member, _parsed(body, study_id), create=False)


@router.delete("/studies/{study_id}", response_model=DeletedOut)
def delete_study(study_id: str, member: Owner) -> DeletedOut:
    """Remove the study, recorded whole so that undoing the change brings it back."""
    _study(member, study_id)
    try:
        change = changes.delete_study(member.project.url, study_id, member.username)
    except NeuroreviewError as error:
        raise HTTPException(400, str(error)) from None
    return DeletedOut(change_id=change.id)


@router.post("/studies/{study_id}/check", response_model=CheckedOut, responses=INVALID)
def check_study(study_id: str, body: StudyDocument, member: Viewer) -> dict[str, Any]:
    """Where the foci of an unsaved study document land, and its flags, without saving it:
    the editor checks a value as it is typed, and an extraction that is not the study yet."""
    answer = _view_out(studies.view_of(_parsed(body, study_id)))
    del answer["study"]
    return answer


@router.get("/studies/{study_id}/analyses", response_model=list[Analysis])
def list_analyses(study_id: str, member: Viewer) -> list[Analysis]:
    return _study(member, study_id).analyses


@router.get("/studies/{study_id}/region-findings", response_model=list[RegionFinding])
def list_region_findings(study_id: str, member: Viewer) -> list[RegionFinding]:
    return _study(member, study_id).region_findings


@router.get(
    "/studies/{study_id}/glass.svg",
    response_class=Response,
    responses={200: {"content": {SVG: {}}, "description": "the glass brain as SVG"}},
)
def study_glass(
    study_id: str,
    member: Viewer,
    analysis: Annotated[str | None, Query(description="the analysis of the focus")] = None,
    focus: Annotated[int | None, Query(ge=0, description="the focus to highlight, from 0")] = None,
) -> Response:
    """Every placeable focus of the study on a glass brain, one of them highlighted."""
    study = _study(member, study_id)
    try:
        svg = studies.study_glass_brain(study, analysis, focus)
    except NeuroreviewError as error:
        raise HTTPException(422, str(error)) from None
    return Response(svg, media_type=SVG)


@router.get(
    "/glass.svg",
    response_class=Response,
    responses={200: {"content": {SVG: {}}, "description": "the glass brain as SVG"}},
)
def points_glass(
    member: Viewer,
    points: Annotated[
        str, Query(max_length=60_000, description="MNI points 'x,y,z;x,y,z' (mm)")
    ] = "",
    highlight: Annotated[int | None, Query(ge=0, description="the point to highlight")] = None,
) -> Response:
    """Any MNI points on a glass brain: the editor's view of values not saved yet."""
    parsed = _points(points)
    if highlight is not None and highlight >= len(parsed):
        raise HTTPException(422, f"highlight {highlight}: there are {len(parsed)} points")
    return Response(glass_brain_svg(parsed, highlight), media_type=SVG)


def _points(text: str) -> list[tuple[float, float, float]]:
    """``x,y,z;x,y,z`` as finite numbers, or a 422 naming the point."""
    found = []
    for number, item in enumerate(p for p in text.split(";") if p.strip()):
        try:
            values = tuple(float(v) for v in item.split(","))
        except ValueError:
            values = ()
        if len(values) != 3 or not all(math.isfinite(v) for v in values):
            raise HTTPException(422, f"point {number + 1} ({item[:40]!r}) is not x,y,z in mm")
        found.append(values)
    if len(found) > MAX_GLASS_POINTS:
        raise HTTPException(422, f"at most {MAX_GLASS_POINTS} points")
    return found
