"""Methods: the paragraphs to cite, every setting, and the references."""

from __future__ import annotations

from typing import Any

from neuroreview.report.context import Context
from neuroreview.report.methods import build_methods
from neuroreview.report.sections import Canvas, Section


def content(context: Context, canvas: Canvas) -> dict[str, Any]:
    return {"methods": build_methods(context)}


SECTION = Section("methods", "Methods", content)
