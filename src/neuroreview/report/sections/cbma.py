"""Coordinate meta-analysis: each method's settings, brain figures, clusters and peaks, or why
it did not run."""

from __future__ import annotations

from typing import Any

from neuroreview.report import figures as draw
from neuroreview.report.context import Context
from neuroreview.report.methods import analysis_settings
from neuroreview.report.sections import Canvas, Section


def content(context: Context, canvas: Canvas) -> dict[str, Any]:
    figures_of = {
        a.method: [canvas.keep(f) for f in draw.brain_figures(a, canvas.out, canvas.folder)]
        for a in context.analyses
        if a.run
    }
    return {
        "analyses": context.analyses,
        "settings_of": {a.method: analysis_settings(a) for a in context.analyses},
        "figures_of": figures_of,
    }


SECTION = Section("cbma", "Coordinate meta-analysis", content)
