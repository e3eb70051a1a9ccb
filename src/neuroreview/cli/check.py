"""``neuroreview check``: the coordinate check of a corpus, before anything is meta-analysed.

Lists every focus outside the brain mask beyond kernel reach, every focus of a table that is
mostly outside the brain (misparsed), and every peak repeated within one subject group.
`analyze` refuses the first two unless ``--keep-outside-mask``; `run` drops them, saying so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from neuroreview.cli.common import DbOption, console, friendly_errors
from neuroreview.cli.options import InputFilesArgument
from neuroreview.store import DEFAULT_DATABASE


@friendly_errors
def check(
    inputs: InputFilesArgument = None,
    db: DbOption = DEFAULT_DATABASE,
    builtin: Annotated[
        bool, typer.Option("--builtin", help="Check the built-in ketamine corpus.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the flagged foci to this TSV file.")
    ] = None,
) -> None:
    """Flag foci outside the brain, misparsed tables and repeated peaks; exit 1 if any must go."""
    from neuroreview.pipeline.checking import check_studies, load_studies, write_flags

    studies = load_studies(inputs, db, builtin)
    flags = check_studies(studies)
    if out is not None:
        write_flags(out, flags)
    n_foci = sum(s.n_foci for s in studies)
    leaving = [f for f in flags if f.leaves]
    console.print(
        f"{len(studies)} studies, {n_foci} foci: {len(leaving)} fail the check, "
        f"{len(flags) - len(leaving)} repeated within a subject group (pooled once)",
        markup=False,
        highlight=False,
    )
    if flags:
        table = Table()
        for column in ("study", "analysis", "focus", "x", "y", "z", "mm from mask", "reason"):
            table.add_column(column)
        for f in flags[:50]:
            table.add_row(
                f.study_id,
                f.analysis_id,
                str(f.focus_index + 1),
                f"{f.x:g}",
                f"{f.y:g}",
                f"{f.z:g}",
                f"{f.distance_mm:g}",
                f.reason.value,
            )
        console.print(table)
        if len(flags) > 50:
            console.print(f"... and {len(flags) - 50} more (--out FILE lists all)", markup=False)
    if leaving:
        raise typer.Exit(1)
