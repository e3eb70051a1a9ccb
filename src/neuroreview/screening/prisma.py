"""The counts of every box of the PRISMA 2020 flow diagram (Page et al., 2021, BMJ 372:n71).

The template for new reviews has two arms: records identified from databases and registers
(which pass title/abstract screening) and records identified by other methods (websites,
organisations, citation searching), whose reports go straight to retrieval. Both end in the
studies included. Reviews in progress also have records waiting at each stage; they are counted
as waiting, so every box still adds up (:meth:`PrismaCounts.balances`), which is what a reader of
the diagram checks first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from neuroreview.model import Origin
from neuroreview.screening.flow import Place, RecordState

UNNAMED_SOURCE = "unnamed source"


@dataclass(frozen=True)
class Arm:
    """One column of the diagram: what was identified, then each stage's outflow and waiting."""

    identified: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    automation: int = 0
    other_removed: int = 0
    screened: int = 0
    excluded_screening: int = 0
    awaiting_screening: int = 0
    sought: int = 0
    not_retrieved: int = 0
    awaiting_retrieval: int = 0
    assessed: int = 0
    excluded_full_text: dict[str, int] = field(default_factory=dict)
    awaiting_eligibility: int = 0
    included: int = 0
    conflicts: int = 0
    #: False for the other-methods arm, whose reports skip title/abstract screening.
    screens: bool = True

    @property
    def n_identified(self) -> int:
        return sum(self.identified.values())

    @property
    def n_excluded_full_text(self) -> int:
        return sum(self.excluded_full_text.values())

    def balances(self) -> list[tuple[str, int, int]]:
        """(box, its count, the sum of where its records went): equal in a consistent flow."""
        removed = self.duplicates + self.automation + self.other_removed
        rows = []
        if self.screens:
            rows.append(("identified", self.n_identified, removed + self.screened))
            outflow = self.excluded_screening + self.awaiting_screening + self.sought
            rows.append(("screened", self.screened, outflow))
        else:
            rows.append(("identified", self.n_identified, removed + self.sought))
        rows.append(
            ("sought", self.sought, self.not_retrieved + self.awaiting_retrieval + self.assessed)
        )
        outflow = self.n_excluded_full_text + self.awaiting_eligibility + self.included
        rows.append(("assessed", self.assessed, outflow))
        return rows


@dataclass(frozen=True)
class PrismaCounts:
    """Both arms and the studies included; ``reports`` counts included reports of both arms."""

    databases: Arm
    other_methods: Arm
    registers: tuple[str, ...] = ()
    studies: int = 0
    reports: int = 0

    def balances(self) -> list[tuple[str, int, int]]:
        rows = [(f"databases: {n}", a, b) for n, a, b in self.databases.balances()]
        rows += [(f"other methods: {n}", a, b) for n, a, b in self.other_methods.balances()]
        rows.append(
            (
                "reports of included studies",
                self.reports,
                self.databases.included + self.other_methods.included,
            )
        )
        return rows

    def unbalanced(self) -> list[str]:
        return [f"{box}: {a} != {b}" for box, a, b in self.balances() if a != b]

    @property
    def has_other_methods(self) -> bool:
        return self.other_methods.n_identified > 0

    def to_json(self) -> dict[str, Any]:
        """Plain counts for prisma.json: every box, both arms, and the identities they satisfy."""
        return {
            "databases": asdict(self.databases),
            "other_methods": asdict(self.other_methods),
            "registers": list(self.registers),
            "studies_included": self.studies,
            "reports_included": self.reports,
        }


def _arm(states: Sequence[RecordState], screened_arm: bool) -> Arm:
    places = Counter(state.place for state in states)
    # The databases arm lists each database or register by name; the other-methods arm by
    # method (websites, organisations, citation searching), as the template's boxes do.
    identified = Counter(
        (state.record.source or UNNAMED_SOURCE) if screened_arm else state.record.origin.value
        for state in states
    )
    reasons = Counter(
        state.reason or "no reason given"
        for state in states
        if state.place is Place.EXCLUDED_FULL_TEXT
    )
    removed = places[Place.DUPLICATE] + places[Place.REMOVED_AUTOMATION]
    removed += places[Place.REMOVED_OTHER]
    retrieval_onward = (
        Place.NOT_RETRIEVED,
        Place.AWAITING_RETRIEVAL,
        Place.AWAITING_ELIGIBILITY,
        Place.EXCLUDED_FULL_TEXT,
        Place.INCLUDED,
    )
    sought = sum(places[p] for p in retrieval_onward)
    full_text = (Place.AWAITING_ELIGIBILITY, Place.EXCLUDED_FULL_TEXT, Place.INCLUDED)
    # Every record left after the removals is screened, or waits to be.
    screened = len(states) - removed if screened_arm else 0
    return Arm(
        identified=dict(sorted(identified.items())),
        duplicates=places[Place.DUPLICATE],
        automation=places[Place.REMOVED_AUTOMATION],
        other_removed=places[Place.REMOVED_OTHER],
        screened=screened,
        excluded_screening=places[Place.EXCLUDED_SCREENING],
        awaiting_screening=places[Place.AWAITING_SCREENING],
        sought=sought,
        not_retrieved=places[Place.NOT_RETRIEVED],
        awaiting_retrieval=places[Place.AWAITING_RETRIEVAL],
        assessed=sum(places[p] for p in full_text),
        excluded_full_text=dict(sorted(reasons.items())),
        awaiting_eligibility=places[Place.AWAITING_ELIGIBILITY],
        included=places[Place.INCLUDED],
        conflicts=sum(1 for state in states if state.conflict is not None),
        screens=screened_arm,
    )


def prisma_counts(
    states: Sequence[RecordState], study_of_record: Mapping[str, str] | None = None
) -> PrismaCounts:
    """Count every box from the records' places.

    ``study_of_record`` maps an included record to the study it became; several reports of one
    study (an article and its conference abstract kept as separate reports) count as one study,
    as PRISMA 2020 separates "studies" from "reports of included studies". An included record
    not yet made a study counts as a study of its own.
    """
    databases = [s for s in states if not s.record.origin.other_methods]
    others = [s for s in states if s.record.origin.other_methods]
    included = [s.record.id for s in states if s.place is Place.INCLUDED]
    links = study_of_record or {}
    registers = sorted(
        {s.record.source or UNNAMED_SOURCE for s in databases if s.record.origin is Origin.REGISTER}
    )
    return PrismaCounts(
        databases=_arm(databases, screened_arm=True),
        other_methods=_arm(others, screened_arm=False),
        registers=tuple(registers),
        studies=len({links.get(record_id, f"record:{record_id}") for record_id in included}),
        reports=len(included),
    )
