"""Render the report's HTML from the context, figures and methods with a Jinja2 template.

Autoescaping is on: study titles, region names and notes come from papers and user files, and
must reach the page as text, never as markup. The template is package data
(``report/templates/report.html.j2``); the CSS is inline in it, and figures arrive as ``data:``
URIs, so the one HTML file is the whole report.
"""

from __future__ import annotations

import math
from typing import Any

from neuroreview.report.context import Table

TEMPLATE = "report.html.j2"


def display(cell: str) -> str:
    """How a TSV cell is shown: long decimals rounded to 4 significant digits, all else as is.

    The exact text stays in the cell's ``data-value`` attribute, so the rounding is only for the
    eye and a test (or a reader) can compare every cell with its file.
    """
    try:
        value = float(cell)
    except ValueError:
        return cell
    if math.isnan(value) or math.isinf(value) or value.is_integer():
        return cell
    digits = cell.lstrip("-").replace(".", "").lstrip("0")
    return f"{value:.4g}" if len(digits) > 4 else cell


def is_text(cell: str) -> bool:
    """Whether a cell is words rather than a number: words read left-aligned, numbers right."""
    if cell == "":
        return False
    try:
        float(cell)
    except ValueError:
        return True
    return False


def _environment():
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("neuroreview.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["display"] = display
    environment.tests["text"] = is_text
    return environment


def render(variables: dict[str, Any]) -> str:
    """The report as one HTML string."""
    return _environment().get_template(TEMPLATE).render(**variables, Table=Table)
