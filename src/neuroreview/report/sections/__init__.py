"""The report's sections, in page order: one module here and one template each.

A section is a :class:`Section`: its key (the HTML id, the contents anchor and the name of its
template, ``templates/sections/<key>.html.j2``), its title, and a function giving the values its
template shows, or None when the run has nothing for it (the section is then left out and the
others renumbered). Adding a section means one module with a ``SECTION`` and one template, and
its module's name in :data:`ORDER`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuroreview.report.context import Context
from neuroreview.report.figures import ReportFigure

#: The sections' modules, in page order.
ORDER = (
    "summary",
    "cbma",
    "contrasts",
    "regions",
    "decoding",
    "screening",
    "methods",
    "provenance",
)


@dataclass
class Canvas:
    """Where a section draws: the run folder, the report's folder in it, and every figure drawn
    (their files go into the report's provenance)."""

    out: Path
    folder: str
    figures: list[ReportFigure] = field(default_factory=list)

    def keep(self, figure: ReportFigure | None) -> ReportFigure | None:
        if figure is not None:
            self.figures.append(figure)
        return figure

    def files(self) -> list[Path]:
        return [self.out / path for f in self.figures for path in (f.png, f.svg)]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    content: Callable[[Context, Canvas], dict[str, Any] | None]


@dataclass(frozen=True)
class Shown:
    """A section on the page: its number among those shown and its template's values."""

    key: str
    title: str
    number: int
    values: dict[str, Any]

    @property
    def template(self) -> str:
        return f"sections/{self.key}.html.j2"


def registered() -> list[Section]:
    return [importlib.import_module(f"{__name__}.{name}").SECTION for name in ORDER]


def lay_out(context: Context, canvas: Canvas) -> list[Shown]:
    """The sections this run has content for, numbered in page order."""
    shown: list[Shown] = []
    for section in registered():
        values = section.content(context, canvas)
        if values is not None:
            shown.append(Shown(section.key, section.title, len(shown) + 1, values))
    return shown
