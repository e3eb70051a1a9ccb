"""The comparison page of dual extraction: each reviewer's value of every compared field,
disagreements first, and for owners the choice of whose value to keep and an "Adopt" button.

It reads through the same pipeline functions as the API, so the page is exactly as blind as
``GET .../extractions/compare``: while the comparison is refused it shows who has extracted
and why the values are hidden.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from neuroreview.errors import NeuroreviewError
from neuroreview.model.compare import ComparedField
from neuroreview.pipeline import extraction
from neuroreview.store.server import Role
from neuroreview.web.pages import member_page, page

router = APIRouter(include_in_schema=False)


@router.get("/p/{slug}/studies/{study_id}/compare")
def compare_page(request: Request, slug: str, study_id: str) -> Response:
    entered = member_page(request, slug, Role.VIEWER)
    if isinstance(entered, Response):
        return entered
    found, member = entered
    url = member.project.url
    try:
        status = extraction.extraction_status(url, study_id, member.username)
        comparison = (
            extraction.compare_extractions(url, study_id, member.username)
            if status.comparable
            else None
        )
    except extraction.UnknownStudy as error:
        raise HTTPException(404, str(error)) from None
    except NeuroreviewError as error:
        raise HTTPException(400, str(error)) from None
    rows = []
    if comparison is not None:
        # Disagreements first, each group in the study's order (sorted() is stable).
        rows = [_row(f, comparison.reviewers) for f in sorted(comparison.fields, key=_agreed)]
    return page(
        "compare.html.j2",
        found,
        project=member.project,
        status=status,
        comparison=comparison,
        rows=rows,
        can_extract=member.role.allows(Role.REVIEWER),
        can_adopt=member.role.allows(Role.OWNER),
    )


def _agreed(field: ComparedField) -> bool:
    return field.agree


def _row(field: ComparedField, reviewers: tuple[str, ...]) -> dict[str, Any]:
    return {
        "path": field.path,
        "agree": field.agree,
        "item": field.item,
        "spread": f"{field.spread_mm:g} mm" if field.spread_mm else "",
        "cells": [(r, shown(field.values.get(r), field.item)) for r in reviewers],
    }


def shown(value: Any, item: bool = False) -> str:
    """A compared value as a cell shows it; absent and empty are said, never left blank."""
    if value is None or value == [] or value == "":
        return "(absent)" if item else "(empty)"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {shown(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
