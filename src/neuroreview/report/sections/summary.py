"""Summary: the question, what the corpus is, the headline findings, the review's claims and
questions against the data, and the corpus by modality, population and timing."""

from __future__ import annotations

from typing import Any

from neuroreview.report.context import Context
from neuroreview.report.sections import Canvas, Section
from neuroreview.report.sentences import corpus_paragraph, headline, question

#: The columns of the claims and questions tables the page shows (the files hold more).
CLAIM_HIDDEN = ("regions",)
QUESTION_VIEW = [
    "title",
    "direction",
    "k",
    "status",
    "experiments",
    "coordinate_studies_left_out",
]


def content(context: Context, canvas: Canvas) -> dict[str, Any]:
    claims = context.claims
    return {
        "question": question(context),
        "corpus_paragraph": corpus_paragraph(context),
        "headline": headline(context),
        "claims": (
            claims.select([c for c in claims.columns if c not in CLAIM_HIDDEN]) if claims else None
        ),
        "questions": context.questions.select(QUESTION_VIEW) if context.questions else None,
        "min_experiments": context.summary["steps"].get("questions", {}).get("minimum"),
        "crosstab": context.crosstab,
        "timing": context.timing,
        "facets": context.facets,
    }


SECTION = Section("summary", "Summary", content)
