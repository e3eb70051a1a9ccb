"""``neuroreview report``: rebuild ``report.html`` from an existing run's output folder.

The report is also the last step of ``neuroreview run``; this command redraws it without
rerunning any analysis (after editing a template, or on a folder copied from another machine).
Report modules are imported inside the command so that ``import neuroreview.cli`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from neuroreview.cli.common import console, friendly_errors

DEFAULT_OUT = Path("neuroreview-out")


@friendly_errors
def report(
    out: Annotated[
        Path,
        typer.Argument(help="Output folder of `neuroreview run`.", show_default=True),
    ] = DEFAULT_OUT,
) -> None:
    """Write OUT_DIR/report.html (with its figures and provenance) from a run's results."""
    from neuroreview.report.build import PROVENANCE, build_report

    with console.status(f"building the report from {out}/"):
        path = build_report(out)
    console.print(
        f"report written to {path} (figures and tables in {out / 'report'}/, provenance in "
        f"{out / PROVENANCE})",
        markup=False,
        highlight=False,
    )
