"""Dual extraction over the web: my own extraction of a study (a draft, then submitted), who has
extracted what, the field-by-field comparison, and an owner adopting the settled extraction.

Blinding, pairing and agreement are the pipeline's (``pipeline.extraction``,
``model.compare``); this module moves requests and answers and picks the status code.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query
from pydantic import BaseModel, Field

from neuroreview.errors import InputError, NeuroreviewError
from neuroreview.model import Study
from neuroreview.model.compare import Comparison
from neuroreview.pipeline import extraction
from neuroreview.store.repository import StaleStudy
from neuroreview.web.api_changes import ChangeOut, change_out
from neuroreview.web.deps import Owner, Reviewer, Viewer

router = APIRouter(prefix="/api/projects/{slug}", tags=["extraction"])


class ExtractorOut(BaseModel):
    reviewer: str
    saved: str
    submitted: str | None


class StatusOut(BaseModel):
    study_id: str
    study_label: str
    required: int = Field(description="submitted extractions a comparison needs")
    extractors: list[ExtractorOut]
    submitted: int
    mine: ExtractorOut | None
    comparable: bool = Field(description="whether you may see the comparison now")
    reason: str | None = Field(description="why you may not, while you may not")
    agreement: float | None = Field(description="% of compared fields in agreement")


class FieldOut(BaseModel):
    path: str
    values: dict[str, Any]
    agree: bool
    item: bool = Field(description="a whole analysis, focus or finding some extractions lack")
    spread_mm: float | None


class PairingOut(BaseModel):
    path: str
    paired_by: str
    labels: dict[str, str | None]


class ComparisonOut(BaseModel):
    study_id: str
    reviewers: list[str]
    compared: int
    disagreements: int
    agreement: float
    fields: list[FieldOut]
    pairings: list[PairingOut]


class AdoptIn(BaseModel):
    reviewer: str = Field(description="whose submitted extraction becomes the study")
    choices: dict[str, str] | None = Field(
        default=None, description="compared field path -> the reviewer whose value to take"
    )


class AdoptedOut(BaseModel):
    change: ChangeOut | None = Field(description="None when the study was that already")
    study: dict[str, Any]


def _fail(error: NeuroreviewError) -> HTTPException:
    """404 for a missing study, 409 for a state that forbids the request (blind, submitted, the
    study changed while adopting), 422 for a bad extraction or choice (per field where known),
    400 otherwise."""
    if isinstance(error, extraction.InvalidExtraction):
        detail = [{"path": path, "message": message} for path, message in error.problems]
        return HTTPException(422, detail)
    if isinstance(error, extraction.UnknownStudy):
        return HTTPException(404, str(error))
    if isinstance(error, extraction.NotComparable | extraction.ExtractionConflict | StaleStudy):
        return HTTPException(409, str(error))
    if isinstance(error, InputError):
        return HTTPException(422, str(error))
    return HTTPException(400, str(error))


def _draft(study: Study, state: extraction.ExtractorState | None) -> dict[str, Any]:
    return study.model_dump(mode="json") | {
        "submitted": state is not None and state.submitted is not None
    }


def _extractor(state: extraction.ExtractorState) -> ExtractorOut:
    return ExtractorOut(
        reviewer=state.reviewer,
        saved=state.saved.isoformat(),
        submitted=state.submitted.isoformat() if state.submitted else None,
    )


def status_out(status: extraction.ExtractionStatus) -> StatusOut:
    return StatusOut(
        study_id=status.study_id,
        study_label=status.study_label,
        required=extraction.REQUIRED_EXTRACTIONS,
        extractors=[_extractor(e) for e in status.extractors],
        submitted=status.submitted,
        mine=_extractor(status.mine) if status.mine else None,
        comparable=status.comparable,
        reason=status.refusal,
        agreement=status.agreement,
    )


def comparison_out(comparison: Comparison) -> ComparisonOut:
    return ComparisonOut(
        study_id=comparison.study_id,
        reviewers=list(comparison.reviewers),
        compared=comparison.compared,
        disagreements=comparison.disagreements,
        agreement=comparison.agreement,
        fields=[
            FieldOut(
                path=f.path, values=f.values, agree=f.agree, item=f.item, spread_mm=f.spread_mm
            )
            for f in comparison.fields
        ],
        pairings=[
            PairingOut(path=p.path, paired_by=p.paired_by, labels=p.labels)
            for p in comparison.pairings
        ],
    )


@router.get("/studies/{study_id}/extractions/mine")
def my_extraction(study_id: str, member: Reviewer) -> dict[str, Any]:
    """My extraction (the study as stored until I first save), as the study editor's JSON,
    with ``submitted``."""
    url = member.project.url
    try:
        study = extraction.my_extraction(url, study_id, member.username)
        status = extraction.extraction_status(url, study_id, member.username)
    except NeuroreviewError as error:
        raise _fail(error) from None
    return _draft(study, status.mine)


@router.put("/studies/{study_id}/extractions/mine")
def save_my_extraction(
    study_id: str,
    member: Reviewer,
    body: Annotated[dict[str, Any], Body(description="the Study JSON, as the study editor's")],
    submit: Annotated[bool, Query(description="submit it: it can no longer be edited")] = False,
) -> dict[str, Any]:
    """Save my draft (and submit it with ``submit=true``); invalid fields answer 422 with
    ``[{"path", "message"}]``."""
    try:
        study = extraction.parse_extraction(body, study_id)
        state = extraction.save_extraction(
            member.project.url, study_id, member.username, study, submit=submit
        )
    except NeuroreviewError as error:
        raise _fail(error) from None
    return _draft(study, state)


@router.post("/studies/{study_id}/extractions/mine/reopen")
def reopen_my_extraction(study_id: str, member: Reviewer) -> dict[str, Any]:
    """Make my submitted extraction a draft again; the others are hidden until I resubmit."""
    url = member.project.url
    try:
        state = extraction.reopen_extraction(url, study_id, member.username)
        study = extraction.my_extraction(url, study_id, member.username)
    except NeuroreviewError as error:
        raise _fail(error) from None
    return _draft(study, state)


@router.get("/studies/{study_id}/extractions", response_model=StatusOut)
def extraction_status(study_id: str, member: Viewer) -> StatusOut:
    """Who has extracted the study and submitted; whether you may compare, and if so the
    agreement."""
    try:
        return status_out(
            extraction.extraction_status(member.project.url, study_id, member.username)
        )
    except NeuroreviewError as error:
        raise _fail(error) from None


@router.get("/studies/{study_id}/extractions/compare", response_model=ComparisonOut)
def compare(study_id: str, member: Viewer) -> ComparisonOut:
    """The submitted extractions field by field (409 while fewer than two are submitted, or
    while your own extraction is open)."""
    try:
        found = extraction.compare_extractions(member.project.url, study_id, member.username)
    except NeuroreviewError as error:
        raise _fail(error) from None
    return comparison_out(found)


@router.post("/studies/{study_id}/extractions/adopt", response_model=AdoptedOut)
def adopt(study_id: str, body: AdoptIn, member: Owner) -> AdoptedOut:
    """Make the study one reviewer's submitted extraction, some fields taken from another
    (``choices``: path -> reviewer); recorded as your change, so it can be undone."""
    url = member.project.url
    try:
        change = extraction.adopt_extraction(
            url, study_id, body.reviewer, member.username, body.choices
        )
        study = extraction.stored_study(url, study_id)
    except NeuroreviewError as error:
        raise _fail(error) from None
    return AdoptedOut(
        change=change_out(change) if change is not None else None,
        study=study.model_dump(mode="json"),
    )
