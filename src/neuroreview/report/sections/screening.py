"""Screening: the PRISMA 2020 flow diagram of a screened corpus, or how the corpus was loaded.

The diagram is the run's own ``screening/prisma.svg``, inlined as drawn; below it the reviewers'
agreement and the trace from every included study back to the search that found it.
"""

from __future__ import annotations

from typing import Any

from neuroreview.report.context import Context
from neuroreview.report.sections import Canvas, Section

TRACE_COLUMNS = ["study_id", "record_id", "source", "location", "citation", "also_found_as"]


def _agreement(prisma: dict[str, Any]) -> list[str]:
    lines = []
    for stage in prisma.get("agreement", []):
        if not stage.get("records_with_two_or_more_reviews"):
            continue
        kappa = stage.get("fleiss_kappa")
        kappa_text = "undefined (every verdict alike)" if kappa is None else f"{kappa:.2f}"
        lines.append(
            f"{stage['stage']}: reviewers agreed on {stage['all_agreed']} of "
            f"{stage['records_with_two_or_more_reviews']} records reviewed independently; "
            f"Fleiss' kappa {kappa_text} over {stage['fleiss_records']} records with "
            f"{stage['raters_per_record']} reviewers each"
        )
    return lines


def content(context: Context, canvas: Canvas) -> dict[str, Any]:
    trace = context.screening_studies
    return {
        "prisma_svg": context.prisma_svg,
        "agreement": _agreement(context.prisma) if context.prisma else [],
        "trace": trace.select(TRACE_COLUMNS) if trace is not None else None,
        "corpus_origin": context.summary.get("corpus", "unknown origin"),
    }


SECTION = Section("screening", "Screening", content)
