"""Reviewers' queues and verdicts, and their undo; an included record becomes a study.

Deciding and undoing read only the record concerned (one record and its decisions), never the
whole search: many reviewers decide at once, and each decision must stay fast however large the
search is. Only the queue (:func:`next_records`) reads every record, since it ranks them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from neuroreview.errors import NeuroreviewError
from neuroreview.model import (
    AUTOMATION_REASON,
    Decision,
    DecisionRole,
    Record,
    Stage,
    Study,
    Verdict,
)
from neuroreview.pipeline.screening.plan import open_store, parse_choice, plan_of, states_of
from neuroreview.screening.blinding import visible_decisions
from neuroreview.screening.flow import (
    Place,
    RecordState,
    ScreeningPlan,
    effective_decisions,
    latest_reviews,
    record_state,
)

# --- decisions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    """What a reviewer should read next at a stage, and how far screening has come."""

    stage: Stage
    reviewer: str
    records: list[Record]
    scores: list[float] | None
    ranked: bool
    decided_by_reviewer: int
    remaining: int
    since_last_include: int | None = None
    estimated_recall: float | None = None
    notes: list[str] = field(default_factory=list)


def next_records(
    db: str,
    reviewer: str,
    stage: str | Stage = Stage.SCREENING,
    *,
    limit: int = 10,
    model: str = "logistic",
    seed: int = 0,
) -> Queue:
    """The records ``reviewer`` has still to decide at ``stage``, most likely includes first.

    Title/abstract records are ranked by a model trained on what the reviewer may see: the
    settled outcomes, and the reviewer's own verdicts on unsettled records, never another
    reviewer's pending verdict (the review stays blind).
    """
    from neuroreview.screening.ranking import rank

    stage = parse_choice(Stage, stage, "--stage")
    with open_store(db) as repository:
        states, _plan = states_of(repository)
    waiting = [
        s
        for s in states
        if s.next_stage is stage
        and s.conflict is None
        and reviewer not in {d.reviewer for d in latest_reviews(s.record.decisions, stage)}
    ]
    mine = sum(
        1
        for s in states
        if reviewer in {d.reviewer for d in latest_reviews(s.record.decisions, stage)}
    )
    if stage is not Stage.SCREENING or not waiting:
        return Queue(
            stage, reviewer, [s.record for s in waiting[:limit]], None, False, mine, len(waiting)
        )
    pool = [
        s for s in states if not s.record.origin.other_methods and s.place is not Place.DUPLICATE
    ]
    index = {s.record.id: i for i, s in enumerate(pool)}
    decided = _visible_labels(pool, reviewer)
    texts = [s.record.text() for s in pool]
    candidates = {index[s.record.id] for s in waiting}
    ranking = rank(texts, decided, model=model, seed=seed)
    order = [
        (i, score)
        for i, score in zip(ranking.order, ranking.scores, strict=True)
        if i in candidates
    ]
    picked = order[:limit]
    notes = []
    if not ranking.trained:
        notes.append(
            "not ranked yet: the model needs at least one include and one exclude; "
            "records are in a random order (seeded)"
        )
    return Queue(
        stage,
        reviewer,
        [pool[i].record for i, _ in picked],
        [score for _, score in picked] if ranking.trained else None,
        ranking.trained,
        mine,
        len(waiting),
        ranking.since_last_include,
        ranking.estimated_recall,
        notes,
    )


def _visible_labels(pool: Sequence[RecordState], reviewer: str) -> list[tuple[int, bool]]:
    """(index, included) a reviewer may learn from, in the order the decisions were made."""
    labelled: list[tuple[Any, int, bool]] = []
    for i, state in enumerate(pool):
        if state.place in (Place.REMOVED_AUTOMATION, Place.REMOVED_OTHER):
            continue
        in_force = effective_decisions(state.record.decisions)  # withdrawn verdicts teach nothing
        decisions = [d for d in in_force if d.stage is Stage.SCREENING]
        if state.place is Place.AWAITING_SCREENING:
            own = [d for d in decisions if d.reviewer == reviewer and d.role is DecisionRole.REVIEW]
            if own:
                labelled.append((own[-1].time, i, own[-1].verdict is not Verdict.EXCLUDE))
        elif decisions:
            included = state.place is not Place.EXCLUDED_SCREENING
            labelled.append((decisions[-1].time, i, included))
    labelled.sort(key=lambda item: (item[0], item[1]))
    return [(i, included) for _, i, included in labelled]


@dataclass(frozen=True)
class Decided:
    record: Record
    state: RecordState
    study: Study | None


def decide(
    db: str,
    record_id: str,
    verdict: str,
    reviewer: str,
    *,
    stage: str | Stage | None = None,
    reason: str | None = None,
    resolve: bool = False,
) -> Decided:
    """Record one reviewer's verdict; when it settles a record as included, make its study.

    The stage defaults to the one the record waits at. A resolution is only taken on a record
    whose reviewers disagree, and only once all of them have decided.
    """
    with open_store(db) as repository:
        plan = plan_of(repository)
        record = repository.get_record(record_id)
        state = record_state(record, plan)
        chosen = _stage_to_decide(state, stage, resolve)
        the_verdict = parse_choice(Verdict, verdict, "verdict")
        if chosen is not Stage.SCREENING and the_verdict is Verdict.MAYBE:
            raise NeuroreviewError(
                f"record {record_id}: 'maybe' is for title/abstract screening; at "
                f"{chosen.value} decide include or exclude"
            )
        if chosen is Stage.IDENTIFICATION and (the_verdict is not Verdict.EXCLUDE or not reason):
            raise NeuroreviewError(
                f"record {record_id}: at identification a record can only be removed: "
                f"exclude --reason {AUTOMATION_REASON} (marked ineligible by an automation "
                "tool) or --reason TEXT (removed for another reason)"
            )
        if the_verdict is Verdict.EXCLUDE and chosen is Stage.ELIGIBILITY:
            if not reason:
                raise NeuroreviewError(
                    f"record {record_id}: an exclusion at full text needs --reason, one of: "
                    + "; ".join(plan.reasons)
                )
            try:
                reason = plan.reason(reason)
            except ValueError as error:
                raise NeuroreviewError(f"record {record_id}: {error}") from None
        decision = Decision(
            stage=chosen,
            verdict=the_verdict,
            reason=reason,
            reviewer=reviewer,
            role=DecisionRole.RESOLUTION if resolve else DecisionRole.REVIEW,
        )
        updated = record.model_copy(update={"decisions": [*record.decisions, decision]})
        after = record_state(updated, plan)
        study = None
        if after.place is Place.INCLUDED and repository.record_study(record_id) is None:
            study = study_from_record(updated, repository.study_ids())
        repository.add_decision(record_id, decision, study=study)
    return Decided(updated, after, study)


def _stage_to_decide(state: RecordState, stage: str | Stage | None, resolve: bool) -> Stage:
    record = state.record
    if state.place is Place.DUPLICATE:
        raise NeuroreviewError(
            f"record {record.id} is a duplicate of {record.duplicate_of}; decide on that one"
        )
    if resolve:
        if state.conflict is None:
            raise NeuroreviewError(
                f"record {record.id} has no conflict to resolve (it is {state.place.value})"
            )
        if stage is not None and parse_choice(Stage, stage, "--stage") is not state.conflict:
            raise NeuroreviewError(
                f"record {record.id}: the conflict is at {state.conflict.value}, not {stage}"
            )
        return state.conflict
    waiting = state.next_stage
    if stage is not None and parse_choice(Stage, stage, "--stage") is Stage.IDENTIFICATION:
        return _removal_stage(state)
    if waiting is None:
        raise NeuroreviewError(f"record {record.id} needs no more decisions: {state.place.value}")
    chosen = parse_choice(Stage, stage, "--stage") if stage is not None else waiting
    if chosen is Stage.ELIGIBILITY and waiting is Stage.RETRIEVAL:
        # Assessing the full text says it was retrieved: no separate retrieval step needed.
        waiting = Stage.ELIGIBILITY
    if chosen is not waiting:
        if chosen is Stage.SCREENING and record.origin.other_methods:
            raise NeuroreviewError(
                f"record {record.id} comes from other methods ({record.origin.value}); PRISMA "
                "2020 sends such reports straight to retrieval, without title/abstract screening"
            )
        raise NeuroreviewError(
            f"record {record.id} waits at {waiting.value}, not {chosen.value} ({state.place.value})"
        )
    if state.conflict is not None:
        raise NeuroreviewError(
            f"record {record.id}: its reviewers disagree at {state.conflict.value}; "
            "settle it with --resolve"
        )
    return waiting


def _removal_stage(state: RecordState) -> Stage:
    """Removing a record before screening (PRISMA: by automation tools, or for other reasons)
    is only possible while nobody has screened it."""
    record = state.record
    in_force = effective_decisions(record.decisions)
    screened = [d for d in in_force if d.stage is not Stage.IDENTIFICATION]
    if screened or state.next_stage is None:
        raise NeuroreviewError(
            f"record {record.id} has been screened already ({state.place.value}); only "
            "unscreened records can be removed before screening"
        )
    return Stage.IDENTIFICATION


def undo_decision(db: str, record_id: str, reviewer: str) -> Decided:
    """Withdraw ``reviewer``'s latest decision on a record that is still in force (a review, a
    resolution or a removal before screening): the record goes back to where it was before it.

    Nothing is deleted: a ``withdrawal`` decision is appended, copying the stage, verdict and
    reason it withdraws, so the history keeps who decided what, when, and who undid it. Only
    the last decision on the record can be undone (nobody else may have decided after it,
    since they decided on what they saw), and never once the record has become a study: the
    study may hold extracted data by then, so it is edited or deleted as a study instead.
    """
    with open_store(db) as repository:
        plan = plan_of(repository)
        record = repository.get_record(record_id)
        in_force = effective_decisions(record.decisions)
        own = [i for i, d in enumerate(in_force) if d.reviewer == reviewer]
        if not own:
            raise NeuroreviewError(f"record {record_id}: {reviewer} has no decision on it to undo")
        study = repository.record_study(record_id)
        if study is not None:
            raise NeuroreviewError(
                f"record {record_id} has become study {study}; its decisions can no longer be "
                "undone: edit or delete the study instead"
            )
        target = in_force[own[-1]]
        since = in_force[own[-1] + 1 :]  # all by others: the reviewer's own last is target
        if since:
            who = _who_decided(record.decisions, since, plan, reviewer)
            raise NeuroreviewError(
                f"record {record_id}: {who} decided on it after {reviewer}'s "
                f"{_described(target)}; only a decision nobody has decided after can be undone"
            )
        withdrawal = Decision(
            stage=target.stage,
            verdict=target.verdict,
            reason=target.reason,
            reviewer=reviewer,
            role=DecisionRole.WITHDRAWAL,
        )
        updated = record.model_copy(update={"decisions": [*record.decisions, withdrawal]})
        after = record_state(updated, plan)
        repository.add_decision(record_id, withdrawal)
    return Decided(updated, after, None)


def _described(decision: Decision) -> str:
    """'exclude (wrong drug) at eligibility', as an error names the decision it is about."""
    why = f" ({decision.reason})" if decision.reason else ""
    return f"{decision.verdict.value}{why} at {decision.stage.value}"


def _who_decided(
    decisions: Sequence[Decision], since: Sequence[Decision], plan: ScreeningPlan, reviewer: str
) -> str:
    """Who decided after the reviewer, naming only those the reviewer may see: a colleague's
    review still blind is 'another reviewer', never their name (nor their verdict)."""
    visible = {id(d) for d in visible_decisions(list(decisions), plan, reviewer)}
    names = list(dict.fromkeys(d.reviewer for d in since if id(d) in visible))
    if any(id(d) not in visible for d in since):
        names.append("another reviewer (blind until every review of that stage is in)")
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def study_from_record(record: Record, taken: Sequence[str]) -> Study:
    """The study an included record becomes: its citation filled in, the rest to extract."""
    base = _study_id(record)
    study_id, n = base, 1
    while study_id in taken:
        n += 1
        study_id = f"{base}-{n}"
    where = ", ".join(p for p in (record.source, record.location) if p)
    provenance = {
        field: f"screening record {record.id} ({where})"
        for field in ("title", "authors", "year", "journal", "doi", "pmid")
        if getattr(record, field)
    }
    return Study(
        id=study_id,
        title=record.title,
        authors=record.authors,
        year=record.year if record.year and record.year >= 1900 else None,
        journal=record.journal,
        doi=record.doi,
        pmid=record.pmid,
        record_id=record.id,
        provenance=provenance,
    )


def _study_id(record: Record) -> str:
    import re
    import unicodedata

    family = record.authors[0].split(",")[0] if record.authors else "record"
    ascii_name = unicodedata.normalize("NFKD", family).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "", ascii_name.lower()) or "record"
    return f"{slug}{record.year}" if record.year else f"{slug}-{record.id}"
