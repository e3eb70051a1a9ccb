"""Screening a review's search results in its store: import, deduplicate, decide, count.

Every command opens the store, does one thing in one transaction and closes it, so several
reviewers can screen from the same store (SQLite file or PostgreSQL) at once. What the
screening core decides (where a record stands, the PRISMA counts, agreement) is recomputed from
the stored history each time, never cached, so it cannot drift from the decisions.
"""

from neuroreview.pipeline.screening.counts import (
    ScreeningReport,
    conflict_reviews,
    conflicts,
    prisma_documents,
    screening_report,
    write_prisma,
)
from neuroreview.pipeline.screening.decisions import (
    Decided,
    Queue,
    decide,
    next_records,
    study_from_record,
    undo_decision,
)
from neuroreview.pipeline.screening.duplicates import (
    DedupSummary,
    deduplicate,
    duplicate_candidates,
    settle_duplicate,
    undo_merge,
)
from neuroreview.pipeline.screening.imports import ImportSummary, import_references
from neuroreview.pipeline.screening.plan import configure, plan_of
from neuroreview.pipeline.screening.run_files import records_table, studies_table, write_screening
from neuroreview.pipeline.screening.simulation import SimulationRow, simulate_file

__all__ = [
    "Decided",
    "DedupSummary",
    "ImportSummary",
    "Queue",
    "ScreeningReport",
    "SimulationRow",
    "configure",
    "conflict_reviews",
    "conflicts",
    "decide",
    "deduplicate",
    "duplicate_candidates",
    "import_references",
    "next_records",
    "plan_of",
    "prisma_documents",
    "records_table",
    "screening_report",
    "settle_duplicate",
    "simulate_file",
    "study_from_record",
    "studies_table",
    "undo_decision",
    "undo_merge",
    "write_prisma",
    "write_screening",
]
