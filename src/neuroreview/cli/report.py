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
from neuroreview.pipeline.config import DEFAULT_OUT


@friendly_errors
def report(
    out: Annotated[
        Path,
        typer.Argument(help="Output folder of `neuroreview run`.", show_default=True),
    ] = DEFAULT_OUT,
) -> None:
    """Write OUT_DIR/report.html (with its figures and provenance) from a run's results."""
    from neuroreview.io.layout import PROVENANCE, REPORT_FOLDER
    from neuroreview.pipeline.report_inputs import report_folder

    with console.status(f"building the report from {out}/"):
        path = report_folder(out)
    console.print(
        f"report written to {path} (figures and tables in {out / REPORT_FOLDER}/, provenance in "
        f"{out / PROVENANCE})",
        markup=False,
        highlight=False,
    )
