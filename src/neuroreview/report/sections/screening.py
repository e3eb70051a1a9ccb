"""Screening: the PRISMA 2020 flow diagram of a screened corpus, or how the corpus was loaded."""

from __future__ import annotations

from typing import Any

from neuroreview.report import figures as draw
from neuroreview.report.context import Context
from neuroreview.report.sections import Canvas, Section


def content(context: Context, canvas: Canvas) -> dict[str, Any]:
    return {
        "prisma_svg": draw.prisma_svg(context.prisma) if context.prisma else None,
        "corpus_origin": context.summary.get("corpus", "unknown origin"),
    }


SECTION = Section("screening", "Screening", content)
