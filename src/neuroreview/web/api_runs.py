"""Runs over the web: start a review or one meta-analysis on the project's store, follow its
progress live (server-sent events), cancel it, and open what it wrote (the report, the maps).

The work happens in a child process (``pipeline.jobs``); this module only moves requests."""

from __future__ import annotations

import asyncio
import json
import mimetypes
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from neuroreview.errors import NeuroreviewError
from neuroreview.pipeline.jobs import JobBoard, JobSpec
from neuroreview.web.deps import Reviewer, Viewer

router = APIRouter(prefix="/api/projects/{slug}/runs", tags=["runs"])


def _board(request: Request) -> JobBoard:
    return request.app.state.jobs


@router.get("")
def list_runs(request: Request, member: Viewer) -> list[dict[str, Any]]:
    """The project's runs, newest first: running ones with their progress."""
    return [r.to_json() for r in _board(request).records(member.project.slug)]


@router.post("", status_code=201)
def start_run(request: Request, spec: JobSpec, member: Reviewer) -> dict[str, Any]:
    """Start a review (``kind: review``) or one meta-analysis (``kind: analysis``)."""
    try:
        started = _board(request).start(
            member.project.slug, member.project.url, spec, member.username
        )
    except NeuroreviewError as error:
        raise HTTPException(409, str(error)) from None
    return started.to_json()


@router.get("/{run_id}")
def one_run(request: Request, run_id: str, member: Viewer) -> dict[str, Any]:
    try:
        return _board(request).record(member.project.slug, run_id).to_json()
    except NeuroreviewError as error:
        raise HTTPException(404, str(error)) from None


@router.get("/{run_id}/events")
async def run_events(request: Request, run_id: str, member: Viewer) -> StreamingResponse:
    """Server-sent events: the run's state each time it changes, until it has finished."""
    board = _board(request)
    job = board.job(member.project.slug, run_id)
    try:
        first = board.record(member.project.slug, run_id)
    except NeuroreviewError as error:
        raise HTTPException(404, str(error)) from None

    async def events() -> AsyncIterator[str]:
        state = first
        yield f"data: {json.dumps(state.to_json())}\n\n"
        while job is not None and state.status == "running":
            if await request.is_disconnected():
                return
            version = state.version
            state = await asyncio.to_thread(job.wait_for_change, version, 5.0)
            if state.version != version:
                yield f"data: {json.dumps(state.to_json())}\n\n"
            else:
                yield ": still running\n\n"

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )


@router.post("/{run_id}/cancel")
def cancel_run(request: Request, run_id: str, member: Reviewer) -> dict[str, Any]:
    """Stop a running run; its partial output is removed, nothing of it is kept."""
    job = _board(request).job(member.project.slug, run_id)
    if job is None or job.snapshot().status != "running":
        raise HTTPException(409, f"run {run_id!r} is not running")
    job.cancel()
    return job.snapshot().to_json()


@router.get("/{run_id}/preview/{path:path}", response_class=Response)
async def run_map_preview(request: Request, run_id: str, path: str, member: Viewer) -> Response:
    """A glass brain of a run's z map (PNG), drawn as the report draws it."""
    board = _board(request)
    try:
        png = await asyncio.to_thread(board.map_preview, member.project.slug, run_id, path)
    except NeuroreviewError as error:
        raise HTTPException(404, str(error)) from None
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/{run_id}/files/{path:path}")
def run_file(request: Request, run_id: str, path: str, member: Viewer) -> FileResponse:
    """A file a finished run wrote: the report (``report.html``, whose figures load from the
    same place), maps (``.nii.gz``), tables."""
    try:
        found = _board(request).file(member.project.slug, run_id, path)
    except NeuroreviewError as error:
        raise HTTPException(404, str(error)) from None
    media = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
    if found.name.endswith((".tsv", ".toml", ".md")):
        media = "text/plain; charset=utf-8"
    return FileResponse(found, media_type=media)
