"""Changes with a trail: every edit of a study (and of the screening plan, and of who is on the
team) says who made it, when, and what it was before and after, and can be undone.

The web workspace's study editor and dual extraction write studies only through here, so no
edit escapes the record. A change is undone by restoring its ``before`` in a new change, and
only while the thing still equals its ``after``: an undo never overwrites someone's later work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from neuroreview.errors import NeuroreviewError
from neuroreview.model import Study
from neuroreview.store import Repository, StudyFilter
from neuroreview.store.server import Project, ServerStore


@dataclass(frozen=True)
class Change:
    """One recorded change (``entity``: study, screening-plan or member; ``action``: create,
    update, delete or undo)."""

    id: int
    time: datetime
    editor: str
    entity: str
    entity_id: str
    action: str
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    undoes: int | None
    undone_by: int | None


def save_study(db: str, study: Study, editor: str, *, create: bool = False) -> Change | None:
    """Write ``study`` (replacing the stored one of its id, kept in its place in the corpus;
    ``create=True``: a new study, an error if the id exists) and record the change, in one
    transaction. Saving a study equal to the stored one records nothing and returns None."""
    with Repository(db, create=False) as repository:
        current = _stored(repository, study.id)
        if create and current is not None:
            raise NeuroreviewError(f"study {study.id!r} exists already; choose another id")
        if not create and current is None:
            raise NeuroreviewError(f"no study {study.id!r} in {repository.name}")
        new = study.model_dump(mode="json")
        if current == new:
            return None
        row = repository.change_study(
            study.id,
            study,
            expected=current,
            editor=editor,
            action="create" if current is None else "update",
            summary=describe_change(current, new),
        )
    return _change(row)


def delete_study(db: str, study_id: str, editor: str) -> Change:
    """Remove a study, recording it whole so that an undo brings it back."""
    with Repository(db, create=False) as repository:
        current = _stored(repository, study_id)
        if current is None:
            raise NeuroreviewError(f"no study {study_id!r} in {repository.name}")
        row = repository.change_study(
            study_id,
            None,
            expected=current,
            editor=editor,
            action="delete",
            summary=describe_change(current, None),
        )
    return _change(row)


def undo_change(
    db: str,
    change_id: int,
    editor: str,
    *,
    allow_others: bool = False,
    team: tuple[ServerStore, Project] | None = None,
) -> Change:
    """Put back what change ``change_id`` changed (a study, the screening plan, a member's
    role, given ``team``: the server's store and the project), as a new change; refused when
    it has changed since (naming who changed a study) or the change was undone already.

    People undo their own changes; undoing someone else's needs ``allow_others`` (the web app
    grants it to a project's owners), so a reviewer cannot quietly revert a colleague.
    """
    with Repository(db, create=False) as repository:
        target = repository.get_change(change_id)
        if target["editor"] != editor and not allow_others:
            raise NeuroreviewError(
                f"change {change_id} was made by {target['editor']}; only they or a project "
                "owner can undo it"
            )
        if target["undone_by"] is not None:
            raise NeuroreviewError(
                f"change {change_id} was undone already (by change {target['undone_by']})"
            )
        summary = f"undid change {change_id} ({target['summary']})"
        if target["entity"] == "screening-plan":
            row = _undo_plan(repository, target, editor, summary)
        elif target["entity"] == "member":
            if team is None:
                raise NeuroreviewError(
                    f"change {change_id} is a member's role: undo it on the server"
                )
            from neuroreview.pipeline.team import restore_role

            row = restore_role(team[0], team[1], repository, target, editor)
        else:
            restored = target["before"]
            row = repository.change_study(
                target["entity_id"],
                Study.model_validate(restored) if restored is not None else None,
                expected=target["after"],
                editor=editor,
                action="undo",
                summary=summary,
                undoes=change_id,
            )
    return _change(row)


def _undo_plan(
    repository: Repository, target: dict[str, Any], editor: str, summary: str
) -> dict[str, Any]:
    from neuroreview.pipeline.screening.plan import plan_of, plan_values

    current = plan_values(plan_of(repository))
    if current != target["after"]:
        raise NeuroreviewError(
            f"the screening plan has changed since change {target['pk']}; set it on the "
            "project page"
        )
    change = {
        "editor": editor,
        "action": "undo",
        "summary": summary,
        "before": current,
        "after": target["before"],
        "undoes": target["pk"],
    }
    row = repository.set_screening_settings(target["before"], change=change)
    assert row is not None
    return row


def list_changes(
    db: str, *, entity_id: str | None = None, offset: int = 0, limit: int = 100
) -> tuple[list[Change], int]:
    """Changes newest first (those of one study when ``entity_id``), and how many there are."""
    with Repository(db, create=False) as repository:
        rows, total = repository.study_changes(entity_id, offset=offset, limit=limit)
    return [_change(row) for row in rows], total


def describe_change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """One line a person can scan in the history: which fields changed, and how the counts of
    analyses, foci and region findings moved."""
    if before is None and after is None:
        return "nothing"
    if before is None:
        return f"created ({_counts(after)})"
    if after is None:
        return f"deleted ({_counts(before)})"
    fields = [
        key
        for key in sorted(set(before) | set(after))
        if key not in ("analyses", "region_findings") and before.get(key) != after.get(key)
    ]
    parts = [f"{', '.join(fields)} changed"] if fields else []
    if before.get("analyses") != after.get("analyses"):
        parts.append(f"analyses edited ({_counts(before)} -> {_counts(after)})")
    if before.get("region_findings") != after.get("region_findings"):
        parts.append(
            "region findings edited "
            f"({len(before.get('region_findings') or [])} -> "
            f"{len(after.get('region_findings') or [])})"
        )
    return "; ".join(parts) or "no visible change"


def _counts(study: dict[str, Any]) -> str:
    analyses = study.get("analyses") or []
    foci = sum(len(a.get("foci") or []) for a in analyses)
    findings = len(study.get("region_findings") or [])
    return f"{len(analyses)} analyses, {foci} foci, {findings} region findings"


def _stored(repository: Repository, study_id: str) -> dict[str, Any] | None:
    found = repository.list_studies(StudyFilter(study_ids=(study_id,)))
    return found[0].model_dump(mode="json") if found else None


def _change(row: dict[str, Any]) -> Change:
    return Change(
        id=int(row["pk"]),
        time=row["time"] if row["time"].tzinfo else row["time"].replace(tzinfo=UTC),
        editor=row["editor"],
        entity=row["entity"],
        entity_id=row["entity_id"],
        action=row["action"],
        summary=row["summary"],
        before=row["before"],
        after=row["after"],
        undoes=row["undoes"],
        undone_by=row["undone_by"],
    )
