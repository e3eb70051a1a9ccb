"""Opening the store, reading the user's spellings, and the review's screening rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from neuroreview.errors import NeuroreviewError
from neuroreview.model import (
    Stage,
)
from neuroreview.screening.flow import (
    DECIDED_STAGES,
    DEFAULT_REASONS,
    RecordState,
    ScreeningPlan,
    record_states,
)

#: Settings keys in the store.
REVIEWERS_KEY = "reviewers"
REASONS_KEY = "reasons"


def open_store(db: str, create: bool = False):
    from neuroreview.store import Repository

    return Repository(db, create=create)


def parse_choice(enum, text: object, option: str):
    """An enum member from the user's spelling, or an error naming the option."""
    try:
        return enum.parse(text)
    except ValueError as error:
        raise NeuroreviewError(f"{option}: {error}") from None


# --- the plan ------------------------------------------------------------------------------


def plan_of(repository) -> ScreeningPlan:
    """The review's screening rules as stored, or the defaults."""
    stored = repository.screening_settings()
    plan = ScreeningPlan()
    reviewers = dict(plan.reviewers)
    for stage, count in (stored.get(REVIEWERS_KEY) or {}).items():
        reviewers[parse_choice(Stage, stage, "stored reviewers")] = int(count)
    reasons = tuple(stored.get(REASONS_KEY) or DEFAULT_REASONS)
    return ScreeningPlan(reviewers=reviewers, reasons=reasons)


def configure(
    db: str,
    reviewers: dict[str, int] | None = None,
    reasons: Sequence[str] | None = None,
    *,
    editor: str | None = None,
) -> ScreeningPlan:
    """Set how many reviewers each stage needs and the full-text exclusion reasons; with
    ``editor`` (the web app's owner) the change is recorded in the history, undoable."""
    with open_store(db, create=True) as repository:
        before = plan_of(repository)
        counts = {s: before.reviewers[s] for s in DECIDED_STAGES}
        for stage, count in (reviewers or {}).items():
            counts[parse_choice(Stage, stage, "--reviewers")] = count
        new_reasons = tuple(r.strip() for r in reasons) if reasons is not None else before.reasons
        try:
            plan = ScreeningPlan(reviewers=counts, reasons=new_reasons)
        except ValueError as error:
            raise NeuroreviewError(str(error)) from None
        change = None
        if editor is not None and plan_values(plan) != plan_values(before):
            change = {
                "editor": editor,
                "action": "update",
                "summary": describe_plan_change(plan_values(before), plan_values(plan)),
                "before": plan_values(before),
                "after": plan_values(plan),
            }
        repository.set_screening_settings(plan_values(plan), change=change)
    return plan


def plan_values(plan: ScreeningPlan) -> dict[str, Any]:
    """The plan as it is stored (and recorded in the history)."""
    return {
        REVIEWERS_KEY: {s.value: n for s, n in plan.reviewers.items()},
        REASONS_KEY: list(plan.reasons),
    }


def describe_plan_change(before: dict[str, Any], after: dict[str, Any]) -> str:
    """E.g. "reviewers at eligibility 2 -> 1; exclusion reasons changed"."""
    parts = [
        f"reviewers at {stage} {before[REVIEWERS_KEY].get(stage)} -> {n}"
        for stage, n in after[REVIEWERS_KEY].items()
        if before[REVIEWERS_KEY].get(stage) != n
    ]
    if before[REASONS_KEY] != after[REASONS_KEY]:
        parts.append("exclusion reasons changed")
    return "; ".join(parts) or "no visible change"


def states_of(repository) -> tuple[list[RecordState], ScreeningPlan]:
    plan = plan_of(repository)
    return record_states(repository.list_records(), plan), plan


def screening_plan(db: str) -> ScreeningPlan:
    """The store's screening rules (the defaults until someone sets them)."""
    with open_store(db) as repository:
        return plan_of(repository)
