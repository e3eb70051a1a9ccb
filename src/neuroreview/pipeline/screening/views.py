"""Records as one reviewer may see them: where each stands, and only the verdicts they may know.

The web workspace lists records through this, so blinding (``screening.blinding``) is applied
before anything leaves the pipeline: a face cannot show what it never receives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from neuroreview.errors import NeuroreviewError
from neuroreview.model import Decision, Record
from neuroreview.pipeline.screening.plan import open_store, plan_of, states_of
from neuroreview.screening.blinding import visible_decisions
from neuroreview.screening.flow import Place, RecordState, ScreeningPlan, record_state

__all__ = ["Place", "RecordView", "record_view", "record_views"]


@dataclass(frozen=True)
class RecordView:
    """A record, where it stands, and the decisions ``viewer`` may see (``hidden`` more exist)."""

    record: Record
    place: Place
    reason: str | None
    conflict: str | None
    decisions: list[Decision]
    hidden: int
    study_id: str | None


def _view(state: RecordState, plan: ScreeningPlan, viewer: str, study: str | None) -> RecordView:
    shown = visible_decisions(state.record.decisions, plan, viewer)
    # A conflict exists only once every review is in, so naming its stage reveals nothing.
    return RecordView(
        record=state.record.model_copy(update={"decisions": []}),
        place=state.place,
        reason=state.reason,
        conflict=state.conflict.value if state.conflict is not None else None,
        decisions=shown,
        hidden=len(state.record.decisions) - len(shown),
        study_id=study,
    )


def record_views(
    db: str,
    viewer: str,
    *,
    place: Place | None = None,
    ids: Sequence[str] | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[RecordView], int]:
    """One page of the store's records (those in ``place``, or those ``ids`` name, in that
    order) as ``viewer`` may see them, and how many match; the store is read once.

    With ``ids`` only those records are read (the page shown after each decision must not
    cost a read of the whole search); ``place`` needs every record's state.
    """
    with open_store(db) as repository:
        if ids is not None:
            plan = plan_of(repository)
            found = repository.records_by_id(ids)
            missing = [i for i in ids if i not in found]
            if missing:
                raise NeuroreviewError(f"no record {missing[0]!r}")
            chosen = [record_state(found[i], plan) for i in ids]
        else:
            states, plan = states_of(repository)
            chosen = [s for s in states if place is None or s.place is place]
        page = chosen[offset : offset + limit]
        studies = repository.studies_of_records([s.record.id for s in page])
    return [_view(s, plan, viewer, studies.get(s.record.id)) for s in page], len(chosen)


def record_view(db: str, record_id: str, viewer: str) -> RecordView:
    """One record as ``viewer`` may see it."""
    return record_views(db, viewer, ids=[record_id])[0][0]
