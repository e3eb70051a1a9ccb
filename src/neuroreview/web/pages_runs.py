"""Pages for runs (start, follow live, cancel, open the report and the maps), the history of
study edits with undo, and the conflicts between reviewers. Laid out from the same functions
as the API, so the same roles and blinding apply."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from neuroreview.store.server import Role
from neuroreview.web import api_changes, api_runs, api_screening
from neuroreview.web.pages import member_page, page

router = APIRouter(include_in_schema=False)


@router.get("/p/{slug}/runs")
def runs_page(request: Request, slug: str) -> Response:
    entered = member_page(request, slug, Role.VIEWER)
    if isinstance(entered, Response):
        return entered
    found, member = entered
    runs = api_runs.list_runs(request, member)
    return page("runs.html.j2", found, project=member.project, role=member.role, runs=runs)


@router.get("/p/{slug}/runs/{run_id}")
def run_page(request: Request, slug: str, run_id: str) -> Response:
    entered = member_page(request, slug, Role.VIEWER)
    if isinstance(entered, Response):
        return entered
    found, member = entered
    run = api_runs.one_run(request, run_id, member)
    maps = [f for f in run["files"] if f.endswith(".nii.gz")]
    tables = [f for f in run["files"] if f.endswith(".tsv")]
    return page(
        "run.html.j2",
        found,
        project=member.project,
        role=member.role,
        run=run,
        maps=maps,
        tables=tables,
        report="report.html" in run["files"],
    )


@router.get("/p/{slug}/history")
def history_page(request: Request, slug: str, study: str | None = None) -> Response:
    entered = member_page(request, slug, Role.VIEWER)
    if isinstance(entered, Response):
        return entered
    found, member = entered
    listed = api_changes.list_changes(member, study=study, details=False, offset=0, limit=200)
    return page(
        "history.html.j2",
        found,
        project=member.project,
        role=member.role,
        changes=listed.changes,
        total=listed.total,
        study=study,
    )


@router.get("/p/{slug}/conflicts")
def conflicts_page(request: Request, slug: str) -> Response:
    entered = member_page(request, slug, Role.VIEWER)
    if isinstance(entered, Response):
        return entered
    found, member = entered
    records = api_screening.conflicts(member)
    board = api_screening.dashboard(member)
    return page(
        "conflicts.html.j2",
        found,
        project=member.project,
        role=member.role,
        records=records,
        reasons=board.get("reasons", []),
    )
