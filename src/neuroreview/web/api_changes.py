"""The history of changes (studies, the screening plan, the team): who changed what, when,
before and after; and undo.

People undo their own changes; a project's owners may undo anyone's (``pipeline.changes``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from neuroreview.errors import NeuroreviewError
from neuroreview.pipeline import changes
from neuroreview.store.server import Role
from neuroreview.web.deps import Reviewer, Server, Viewer

router = APIRouter(prefix="/api/projects/{slug}/changes", tags=["changes"])


class ChangeOut(BaseModel):
    id: int
    time: str
    editor: str
    entity: str = Field(description="study, screening-plan or member")
    entity_id: str = Field(description="the study's id, 'plan', or the member's name")
    study_id: str | None = Field(description="the study's id, for a change of a study")
    action: str = Field(description="create, update, delete or undo")
    summary: str
    undoes: int | None
    undone_by: int | None
    before: dict[str, Any] | None = Field(default=None, description="with details=true")
    after: dict[str, Any] | None = Field(default=None, description="with details=true")


class ChangePage(BaseModel):
    total: int
    changes: list[ChangeOut]


def change_out(change: changes.Change, details: bool = False) -> ChangeOut:
    return ChangeOut(
        id=change.id,
        time=change.time.isoformat(),
        editor=change.editor,
        entity=change.entity,
        entity_id=change.entity_id,
        study_id=change.entity_id if change.entity == "study" else None,
        action=change.action,
        summary=change.summary,
        undoes=change.undoes,
        undone_by=change.undone_by,
        before=change.before if details else None,
        after=change.after if details else None,
    )


@router.get("", response_model=ChangePage)
def list_changes(
    member: Viewer,
    study: Annotated[str | None, Query(description="only this study's changes")] = None,
    details: Annotated[bool, Query(description="include the study before and after")] = False,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ChangePage:
    """Every recorded change of the project's studies, newest first."""
    found, total = changes.list_changes(
        member.project.url, entity_id=study, offset=offset, limit=limit
    )
    return ChangePage(total=total, changes=[change_out(c, details) for c in found])


@router.post("/{change_id}/undo", status_code=201, response_model=ChangeOut)
def undo(
    change_id: Annotated[int, PathParam(ge=1, le=2**62)], member: Reviewer, store: Server
) -> ChangeOut:
    """Put back what the change changed (recorded as a change of its own)."""
    try:
        done = changes.undo_change(
            member.project.url,
            change_id,
            member.username,
            allow_others=member.role.allows(Role.OWNER),
            team=(store, member.project),
        )
    except NeuroreviewError as error:
        status = 404 if str(error).startswith("no change") else 409
        raise HTTPException(status, str(error)) from None
    return change_out(done)
