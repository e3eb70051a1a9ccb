"""Duplicates: merged automatically when certain, asked about when not, undone on request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neuroreview.errors import NeuroreviewError
from neuroreview.model import (
    Merge,
)
from neuroreview.pipeline.screening.plan import open_store

# --- deduplication -------------------------------------------------------------------------


@dataclass(frozen=True)
class DedupSummary:
    checked: int
    merged: int
    uncertain: int
    merges: tuple[Merge, ...]


def deduplicate(db: str, by: str = "automatic") -> DedupSummary:
    """Merge the certain duplicates among the records not yet merged; list the uncertain."""
    from neuroreview.screening.dedup import find_duplicates

    with open_store(db) as repository:
        records = [r for r in repository.list_records() if r.duplicate_of is None]
        known = repository.list_candidates()
        distinct = {
            frozenset((c["first"], c["second"])) for c in known if c["status"] == "distinct"
        }
        pending = {frozenset((c["first"], c["second"])) for c in known if c["status"] == "pending"}
        pairs = find_duplicates(records, distinct=distinct)
        merges = tuple(
            Merge(
                duplicate=p.duplicate,
                kept=p.kept,
                evidence=p.evidence,
                score=p.score,
                decided_by=by,
            )
            for p in pairs
            if p.certain
        )
        uncertain = [
            (p.duplicate, p.kept, p.score, p.evidence)
            for p in pairs
            if not p.certain and frozenset((p.duplicate, p.kept)) not in pending
        ]
        repository.merge_records(merges)
        added = repository.add_candidates(uncertain)
    return DedupSummary(len(records), len(merges), added, merges)


def duplicate_candidates(db: str, status: str | None = "pending") -> list[dict[str, Any]]:
    """Uncertain pairs with both records, for a person to compare."""
    with open_store(db) as repository:
        records = {r.id: r for r in repository.list_records()}
        out = []
        for candidate in repository.list_candidates(status):
            first, second = records.get(candidate["first"]), records.get(candidate["second"])
            out.append(candidate | {"records": (first, second)})
    return out


def settle_duplicate(db: str, first: str, second: str, same: bool, by: str) -> Merge | None:
    """A person's answer on a pair: the same report (merge, keeping ``second``) or distinct."""
    with open_store(db) as repository:
        records = {r.id: r for r in repository.list_records()}
        for record_id in (first, second):
            if record_id not in records:
                raise NeuroreviewError(f"no record {record_id!r} in {repository.name}")
        if not same:
            repository.mark_distinct(first, second, by)
            return None
        merge = Merge(
            duplicate=first,
            kept=second,
            evidence="judged the same report",
            score=1.0,
            decided_by=by,
        )
        repository.merge_records([merge], settled=[(first, second)])
        return merge


def undo_merge(db: str, duplicate: str, by: str) -> Merge:
    with open_store(db) as repository:
        return repository.undo_merge(duplicate, by)
