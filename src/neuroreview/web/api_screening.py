"""Screening over the web: the dashboard's counts, records as you may see them, what to read
next, verdicts and their undo, conflicts, and importing a search export. Every rule (stages,
blinding, reasons, ranking) is the pipeline's; this module only moves requests and answers."""

from __future__ import annotations

import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request, UploadFile
from pydantic import BaseModel, Field

from neuroreview.errors import NeuroreviewError
from neuroreview.pipeline import screening as pipeline
from neuroreview.pipeline.screening.views import Place, RecordView, record_view, record_views
from neuroreview.store import StoreBusy
from neuroreview.web.deps import Reviewer, Viewer

router = APIRouter(prefix="/api/projects/{slug}", tags=["screening"])


class DecisionOut(BaseModel):
    stage: str
    verdict: str
    reason: str | None
    reviewer: str
    role: str = Field(
        description="review, resolution, or withdrawal (an undo: it copies what it withdraws)"
    )
    time: str


class RecordOut(BaseModel):
    id: str
    title: str | None
    abstract: str | None
    authors: list[str]
    year: int | None
    journal: str | None
    doi: str | None
    pmid: str | None
    source: str | None
    location: str | None
    place: str
    reason: str | None
    conflict: str | None
    decisions: list[DecisionOut]
    hidden_decisions: int = Field(description="decisions of others you may not see yet")
    study_id: str | None


class RecordPage(BaseModel):
    total: int
    records: list[RecordOut]


class QueueOut(BaseModel):
    stage: str
    ranked: bool
    decided_by_you: int
    remaining: int
    since_last_include: int | None
    estimated_recall: float | None
    notes: list[str]
    records: list[RecordOut]
    scores: list[float] | None


class DecisionIn(BaseModel):
    verdict: str = Field(description="include, exclude or maybe")
    reason: str | None = Field(default=None, max_length=500)
    stage: str | None = None
    resolve: bool = False


class DecidedOut(BaseModel):
    record: RecordOut
    study_id: str | None


class ImportOut(BaseModel):
    batch: str
    file: str
    n_records: int
    source: str | None


def _decision(d) -> DecisionOut:
    return DecisionOut(
        stage=d.stage.value,
        verdict=d.verdict.value,
        reason=d.reason,
        reviewer=d.reviewer,
        role=d.role.value,
        time=d.time.isoformat(),
    )


def _record(view: RecordView) -> RecordOut:
    r = view.record
    return RecordOut(
        id=r.id,
        title=r.title,
        abstract=r.abstract,
        authors=list(r.authors),
        year=r.year,
        journal=r.journal,
        doi=r.doi,
        pmid=r.pmid,
        source=r.source,
        location=r.location,
        place=view.place.value,
        reason=view.reason,
        conflict=view.conflict,
        decisions=[_decision(d) for d in view.decisions],
        hidden_decisions=view.hidden,
        study_id=view.study_id,
    )


def _fail(error: NeuroreviewError) -> HTTPException:
    if isinstance(error, StoreBusy):  # another writer held the store: nothing was written
        return HTTPException(503, str(error), headers={"Retry-After": "1"})
    return HTTPException(400, str(error))


@router.get("/screening")
def dashboard(member: Viewer) -> dict[str, Any]:
    """The PRISMA 2020 counts of every box, and what is left to do at each stage."""
    report = pipeline.screening_report(member.project.url)
    if report is None:
        from neuroreview.pipeline.screening.plan import screening_plan

        plan = screening_plan(member.project.url)
        return {
            "records": 0,
            "prisma": None,
            "waiting": {},
            "conflicts": 0,
            "reviewers": {s.value: n for s, n in plan.reviewers.items()},
            "reasons": list(plan.reasons),
        }
    waiting: dict[str, int] = {}
    for state in report.states:
        if state.next_stage is not None:
            waiting[state.next_stage.value] = waiting.get(state.next_stage.value, 0) + 1
    return {
        "records": len(report.states),
        "prisma": report.counts.to_json(),
        "waiting": waiting,
        "conflicts": sum(1 for s in report.states if s.conflict is not None),
        "reviewers": {s.value: n for s, n in report.plan.reviewers.items()},
        "reasons": list(report.plan.reasons),
    }


@router.get("/records", response_model=RecordPage)
def records(
    member: Viewer,
    place: Annotated[str | None, Query(description="only records in this box")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> RecordPage:
    try:
        chosen = Place(place) if place else None
    except ValueError:
        raise HTTPException(422, f"unknown place {place!r}; one of: {', '.join(Place)}") from None
    views, total = record_views(
        member.project.url, member.username, place=chosen, offset=offset, limit=limit
    )
    return RecordPage(total=total, records=[_record(v) for v in views])


@router.get("/records/{record_id}", response_model=RecordOut)
def one_record(record_id: str, member: Viewer) -> RecordOut:
    try:
        return _record(record_view(member.project.url, record_id, member.username))
    except NeuroreviewError as error:
        raise HTTPException(404, str(error)) from None


@router.get("/queue", response_model=QueueOut)
def queue(
    member: Reviewer,
    stage: Annotated[str, Query()] = "screening",
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> QueueOut:
    """What you should read next at a stage, most likely includes first, with the stopping aid."""
    try:
        found = pipeline.next_records(member.project.url, member.username, stage, limit=limit)
    except NeuroreviewError as error:
        raise _fail(error) from None
    ids = [r.id for r in found.records]
    views, _ = record_views(member.project.url, member.username, ids=ids, limit=len(ids) or 1)
    return QueueOut(
        stage=found.stage.value,
        ranked=found.ranked,
        decided_by_you=found.decided_by_reviewer,
        remaining=found.remaining,
        since_last_include=found.since_last_include,
        estimated_recall=found.estimated_recall,
        notes=found.notes,
        records=[_record(v) for v in views],
        scores=found.scores,
    )


@router.post("/records/{record_id}/decisions", status_code=201, response_model=DecidedOut)
def decide(record_id: str, body: DecisionIn, member: Reviewer) -> DecidedOut:
    try:
        done = pipeline.decide(
            member.project.url,
            record_id,
            body.verdict,
            member.username,
            stage=body.stage,
            reason=body.reason,
            resolve=body.resolve,
        )
    except NeuroreviewError as error:
        raise _fail(error) from None
    view = record_view(member.project.url, record_id, member.username)
    return DecidedOut(record=_record(view), study_id=done.study.id if done.study else None)


@router.post("/records/{record_id}/undo", status_code=201, response_model=DecidedOut)
def undo(record_id: str, member: Reviewer) -> DecidedOut:
    """Withdraw your latest decision on this record (kept in its history as a withdrawal);
    refused once someone else has decided after it or the record has become a study."""
    try:
        pipeline.undo_decision(member.project.url, record_id, member.username)
    except NeuroreviewError as error:
        raise _fail(error) from None
    view = record_view(member.project.url, record_id, member.username)
    return DecidedOut(record=_record(view), study_id=None)


@router.get("/conflicts", response_model=list[RecordOut])
def conflicts(member: Viewer) -> list[RecordOut]:
    """Records whose reviewers disagree (listed only once all of them have decided)."""
    ids = [s.record.id for s in pipeline.conflicts(member.project.url)]
    views, _ = record_views(member.project.url, member.username, ids=ids, limit=len(ids) or 1)
    return [_record(v) for v in views]


SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@router.post("/imports", status_code=201, response_model=ImportOut)
async def import_file(
    request: Request,
    file: UploadFile,
    member: Reviewer,
    source: Annotated[str | None, Form()] = None,
    origin: Annotated[str | None, Form()] = None,
    search_date: Annotated[date | None, Form()] = None,
) -> ImportOut:
    """A search export (RIS, BibTeX, MEDLINE, CSV...) as one batch: all its records or none."""
    name = SAFE_NAME.sub("_", Path(file.filename or "upload").name)[:120] or "upload"
    limit = request.app.state.max_upload_bytes
    with tempfile.TemporaryDirectory(prefix="neuroreview-upload-") as folder:
        path = Path(folder) / name
        size = 0
        with path.open("wb") as out:
            while chunk := await file.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise HTTPException(413, f"{name}: larger than the {limit // 2**20} MiB limit")
                out.write(chunk)
        try:
            summary = pipeline.import_references(
                member.project.url, path, source=source, origin=origin, search_date=search_date
            )
        except NeuroreviewError as error:
            raise HTTPException(400, str(error).replace(f"{folder}/", "")) from None
    batch = summary.batch
    return ImportOut(
        batch=batch.id, file=batch.file, n_records=batch.n_records, source=batch.source
    )
