"""Opening the store, reading the user's spellings, and the review's screening rules."""

from __future__ import annotations

from collections.abc import Sequence

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
) -> ScreeningPlan:
    """Set how many reviewers each stage needs and the full-text exclusion reasons."""
    with open_store(db, create=True) as repository:
        plan = plan_of(repository)
        counts = {s: plan.reviewers[s] for s in DECIDED_STAGES}
        for stage, count in (reviewers or {}).items():
            counts[parse_choice(Stage, stage, "--reviewers")] = count
        new_reasons = tuple(r.strip() for r in reasons) if reasons is not None else plan.reasons
        try:
            plan = ScreeningPlan(reviewers=counts, reasons=new_reasons)
        except ValueError as error:
            raise NeuroreviewError(str(error)) from None
        repository.set_screening_settings(
            {
                REVIEWERS_KEY: {s.value: n for s, n in plan.reviewers.items()},
                REASONS_KEY: list(plan.reasons),
            }
        )
    return plan


def states_of(repository) -> tuple[list[RecordState], ScreeningPlan]:
    plan = plan_of(repository)
    return record_states(repository.list_records(), plan), plan


def screening_plan(db: str) -> ScreeningPlan:
    """The store's screening rules (the defaults until someone sets them)."""
    with open_store(db) as repository:
        return plan_of(repository)
