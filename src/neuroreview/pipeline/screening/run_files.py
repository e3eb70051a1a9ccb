"""A screened store's counts, diagram and record trace, written into a review run."""

from __future__ import annotations

from typing import Any

from neuroreview.pipeline.screening.counts import (
    ScreeningReport,
    prisma_documents,
    screening_report,
)

# --- the run's screening files ---------------------------------------------------------------

RECORD_COLUMNS = [
    "record_id",
    "source",
    "origin",
    "search_date",
    "batch",
    "location",
    "citation",
    "doi",
    "pmid",
    "place",
    "reason",
    "duplicate_of",
    "study_id",
]


def _cell(value: object) -> str:
    return "" if value is None else " ".join(str(value).split())


def records_table(report: ScreeningReport, path: str) -> Any:
    """Every record, where it came from and where it ended: the trace from a study back to
    the search that found it."""
    from neuroreview.model.table import Table

    files = {b.id: b.file for b in report.batches}
    rows = []
    for state in report.states:
        r = state.record
        rows.append(
            [
                _cell(v)
                for v in (
                    r.id,
                    r.source,
                    r.origin.value,
                    r.search_date,
                    files.get(r.batch or "", r.batch),
                    r.location,
                    r.citation(),
                    r.doi,
                    r.pmid,
                    state.place.value,
                    state.reason,
                    r.duplicate_of,
                    report.studies.get(r.id),
                )
            ]
        )
    return Table(path, list(RECORD_COLUMNS), rows)


STUDY_TRACE_COLUMNS = [
    "study_id",
    "record_id",
    "source",
    "search_date",
    "batch",
    "location",
    "citation",
    "also_found_as",
]


def studies_table(records: Any, path: str) -> Any:
    """The records that became studies, study first: how each analysed study was found."""
    from neuroreview.model.table import Table

    everything = records.records()
    found_as: dict[str, list[str]] = {}
    for r in everything:
        if r["duplicate_of"]:
            where = ", ".join(p for p in (r["source"], r["location"]) if p)
            found_as.setdefault(r["duplicate_of"], []).append(f"{r['record_id']} ({where})")
    rows = [
        [r[c] for c in STUDY_TRACE_COLUMNS[:-1]] + ["; ".join(found_as.get(r["record_id"], []))]
        for r in everything
        if r["study_id"]
    ]
    return Table(path, list(STUDY_TRACE_COLUMNS), rows)


def write_screening(files, db: str) -> list[str]:
    """The store's PRISMA counts, diagram and record trace into a run; nothing when the store
    holds no screening records (the corpus was loaded, not screened)."""
    from neuroreview.io import layout

    report = screening_report(db)
    if report is None:
        return []
    svg, png, document = prisma_documents(report)
    files.write_text(layout.PRISMA_SVG, svg)
    files.write_bytes(layout.PRISMA_PNG, png)
    files.write_json(layout.PRISMA, document)
    records = records_table(report, layout.SCREENING_RECORDS)
    files.write_text(layout.SCREENING_RECORDS, records.to_tsv())
    files.write_text(
        layout.SCREENING_STUDIES, studies_table(records, layout.SCREENING_STUDIES).to_tsv()
    )
    return [
        layout.PRISMA_SVG,
        layout.PRISMA_PNG,
        layout.PRISMA,
        layout.SCREENING_RECORDS,
        layout.SCREENING_STUDIES,
    ]
