"""Where each record stands in the PRISMA 2020 flow, from its decisions.

The rules a team agrees before screening (how many independent reviewers each stage needs, the
controlled list of full-text exclusion reasons) are a :class:`ScreeningPlan`. A stage's outcome
for one record follows from the decisions alone, so it can be recomputed at any time and never
drifts from the history:

- a ``withdrawal`` (undo) cancels its reviewer's latest decision at its stage still in force
  before it, and counts for nothing itself: the record is where it was before that decision;
- each reviewer's latest ``review`` decision counts, once;
- fewer reviewers than the plan asks for: the record is still awaiting that stage, and no
  reviewer's verdict is shown to another (blind review);
- all reviewers agree (``maybe`` goes forward like ``include`` at title/abstract, as in Covidence;
  at full text, excluders must also agree on the reason): that is the outcome;
- otherwise a conflict, until a ``resolution`` decision (a third reviewer or the team's
  consensus) settles it; the latest resolution outranks every review.

Records from other methods (websites, organisations, citation searching) start at retrieval, as
PRISMA 2020's right-hand arm does. At retrieval, ``include`` means the report was obtained; a
full-text decision without one implies it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from neuroreview.model import AUTOMATION_REASON, Decision, DecisionRole, Record, Stage, Verdict

#: The stages a reviewer decides, in the order a record passes them.
DECIDED_STAGES = (Stage.SCREENING, Stage.RETRIEVAL, Stage.ELIGIBILITY)

#: Full-text exclusion reasons offered until a review defines its own list: the PICOS-shaped
#: reasons of a drug neuroimaging review.
DEFAULT_REASONS = (
    "not a drug administration study",
    "wrong drug",
    "no human participants",
    "no neuroimaging outcome",
    "not a primary study",
    "no usable results",
    "duplicate data",
)


@dataclass(frozen=True)
class ScreeningPlan:
    """How many independent reviewers each stage needs, and the allowed exclusion reasons."""

    reviewers: dict[Stage, int] = field(
        default_factory=lambda: {Stage.SCREENING: 2, Stage.RETRIEVAL: 1, Stage.ELIGIBILITY: 2}
    )
    reasons: tuple[str, ...] = DEFAULT_REASONS

    def __post_init__(self) -> None:
        for stage in DECIDED_STAGES:
            if self.reviewers.get(stage, 0) < 1:
                raise ValueError(f"the {stage.value} stage needs at least one reviewer")
        if not self.reasons:
            raise ValueError("the list of full-text exclusion reasons is empty")

    def needed(self, stage: Stage) -> int:
        return self.reviewers[stage]

    def reason(self, text: str) -> str:
        """The listed reason ``text`` names (case and spacing ignored), or a ValueError."""
        wanted = " ".join(text.lower().split())
        for reason in self.reasons:
            if " ".join(reason.lower().split()) == wanted:
                return reason
        listed = "; ".join(self.reasons)
        raise ValueError(f"{text!r} is not one of the review's exclusion reasons ({listed})")


class Status(StrEnum):
    """A stage's outcome for one record."""

    AWAITING = "awaiting"
    CONFLICT = "conflict"
    INCLUDE = "include"
    EXCLUDE = "exclude"


@dataclass(frozen=True)
class StageOutcome:
    stage: Stage
    status: Status
    reason: str | None = None
    reviews: tuple[Decision, ...] = ()
    resolution: Decision | None = None

    @property
    def settled(self) -> bool:
        return self.status in (Status.INCLUDE, Status.EXCLUDE)


def effective_decisions(decisions: Iterable[Decision]) -> list[Decision]:
    """The decisions still in force, in the order they were made, without the withdrawals.

    A withdrawal cancels the latest decision of its reviewer at its stage that is still in force
    before it (a review, a resolution or a removal), so a reviewer's undos unwind their own
    decisions last first, and a later decision counts again. It copies the verdict and reason
    it withdraws, and cancels nothing when they differ from that decision's: an undo sent twice
    at once (two clicks racing) then takes back one decision, not two. Every rule below reads
    decisions through this, so a withdrawn verdict is counted nowhere (flow, PRISMA counts,
    agreement, ranking, blinding).
    """
    kept: list[Decision] = []
    for decision in decisions:
        if decision.role is not DecisionRole.WITHDRAWAL:
            kept.append(decision)
            continue
        for i in range(len(kept) - 1, -1, -1):
            if kept[i].reviewer == decision.reviewer and kept[i].stage is decision.stage:
                if (kept[i].verdict, kept[i].reason) == (decision.verdict, decision.reason):
                    del kept[i]
                break
    return kept


def latest_reviews(decisions: Iterable[Decision], stage: Stage) -> tuple[Decision, ...]:
    """Each reviewer's latest review at ``stage`` still in force, in the order the reviewers
    first decided."""
    latest: dict[str, Decision] = {}
    for decision in effective_decisions(decisions):
        if decision.stage is stage and decision.role is DecisionRole.REVIEW:
            latest[decision.reviewer] = decision
    return tuple(latest.values())


def goes_forward(verdict: Verdict) -> bool:
    return verdict is not Verdict.EXCLUDE


def stage_outcome(decisions: Sequence[Decision], stage: Stage, needed: int) -> StageOutcome:
    in_force = effective_decisions(decisions)
    reviews = latest_reviews(in_force, stage)
    resolutions = [d for d in in_force if d.stage is stage and d.role is DecisionRole.RESOLUTION]
    if resolutions:
        final = resolutions[-1]
        status = Status.INCLUDE if goes_forward(final.verdict) else Status.EXCLUDE
        return StageOutcome(stage, status, final.reason, reviews, final)
    if len(reviews) < needed:
        return StageOutcome(stage, Status.AWAITING, None, reviews)
    forward = {goes_forward(d.verdict) for d in reviews}
    if forward == {True}:
        return StageOutcome(stage, Status.INCLUDE, None, reviews)
    reasons = {d.reason for d in reviews}
    if forward == {False} and (stage is not Stage.ELIGIBILITY or len(reasons) == 1):
        return StageOutcome(stage, Status.EXCLUDE, reviews[0].reason, reviews)
    return StageOutcome(stage, Status.CONFLICT, None, reviews)


class Place(StrEnum):
    """Where a record ends up in the flow diagram (or waits)."""

    DUPLICATE = "duplicate"
    REMOVED_AUTOMATION = "removed by automation"
    REMOVED_OTHER = "removed for other reasons"
    AWAITING_SCREENING = "awaiting title/abstract screening"
    EXCLUDED_SCREENING = "excluded at title/abstract"
    AWAITING_RETRIEVAL = "awaiting retrieval"
    NOT_RETRIEVED = "not retrieved"
    AWAITING_ELIGIBILITY = "awaiting full-text assessment"
    EXCLUDED_FULL_TEXT = "excluded at full text"
    INCLUDED = "included"


@dataclass(frozen=True)
class RecordState:
    record: Record
    place: Place
    reason: str | None = None
    conflict: Stage | None = None

    @property
    def next_stage(self) -> Stage | None:
        """The stage a reviewer decides next, or None once the record has left the flow."""
        return {
            Place.AWAITING_SCREENING: Stage.SCREENING,
            Place.AWAITING_RETRIEVAL: Stage.RETRIEVAL,
            Place.AWAITING_ELIGIBILITY: Stage.ELIGIBILITY,
        }.get(self.place)


def identification_removal(record: Record) -> Decision | None:
    """The latest identification-stage exclusion (automation or another reason) still in force,
    if any: a withdrawn removal puts the record back in the flow."""
    removals = [
        d
        for d in effective_decisions(record.decisions)
        if d.stage is Stage.IDENTIFICATION and d.verdict is Verdict.EXCLUDE
    ]
    return removals[-1] if removals else None


def record_state(record: Record, plan: ScreeningPlan) -> RecordState:
    if record.duplicate_of is not None:
        return RecordState(record, Place.DUPLICATE)
    removal = identification_removal(record)
    if removal is not None:
        automated = (removal.reason or "").strip().lower() == AUTOMATION_REASON
        place = Place.REMOVED_AUTOMATION if automated else Place.REMOVED_OTHER
        return RecordState(record, place, removal.reason)
    decisions = effective_decisions(record.decisions)
    if not record.origin.other_methods:
        screening = stage_outcome(decisions, Stage.SCREENING, plan.needed(Stage.SCREENING))
        if screening.status is Status.EXCLUDE:
            return RecordState(record, Place.EXCLUDED_SCREENING, screening.reason)
        if not screening.settled:
            conflict = Stage.SCREENING if screening.status is Status.CONFLICT else None
            return RecordState(record, Place.AWAITING_SCREENING, conflict=conflict)
    eligibility = stage_outcome(decisions, Stage.ELIGIBILITY, plan.needed(Stage.ELIGIBILITY))
    retrieval = stage_outcome(decisions, Stage.RETRIEVAL, plan.needed(Stage.RETRIEVAL))
    started_full_text = bool(eligibility.reviews) or eligibility.resolution is not None
    if retrieval.status is Status.EXCLUDE and not started_full_text:
        return RecordState(record, Place.NOT_RETRIEVED, retrieval.reason)
    if retrieval.status is not Status.INCLUDE and not started_full_text:
        conflict = Stage.RETRIEVAL if retrieval.status is Status.CONFLICT else None
        return RecordState(record, Place.AWAITING_RETRIEVAL, conflict=conflict)
    if eligibility.status is Status.INCLUDE:
        return RecordState(record, Place.INCLUDED)
    if eligibility.status is Status.EXCLUDE:
        return RecordState(record, Place.EXCLUDED_FULL_TEXT, eligibility.reason)
    conflict = Stage.ELIGIBILITY if eligibility.status is Status.CONFLICT else None
    return RecordState(record, Place.AWAITING_ELIGIBILITY, conflict=conflict)


def record_states(records: Sequence[Record], plan: ScreeningPlan) -> list[RecordState]:
    return [record_state(record, plan) for record in records]
