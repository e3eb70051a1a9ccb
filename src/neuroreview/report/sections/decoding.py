"""Functional interpretation: the Neurosynth topics of each map, cluster and converging region,
when the run decoded any."""

from __future__ import annotations

from typing import Any

from neuroreview.report.context import Context
from neuroreview.report.sections import Canvas, Section


def content(context: Context, canvas: Canvas) -> dict[str, Any] | None:
    if not context.decoding:
        return None
    return {
        "decoding": context.decoding,
        "decoding_overview": context.decoding_overview,
        "drug": context.drug,
    }


SECTION = Section("decoding", "Functional interpretation", content)
