"""Options several commands share, declared once so their help texts agree."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from neuroreview.io.dispatch import InputFormat
from neuroreview.model import Direction, Modality, Population


def choices(enum: type[Enum]) -> str:
    """Every value of ``enum`` for a --help text, so no choice is hidden behind an ellipsis."""
    return ", ".join(member.value for member in enum)


#: The readers ``import`` and ``analyze`` offer (declared once, in ``io.dispatch``).
ImportFormat = InputFormat


PopulationOption = Annotated[
    str | None, typer.Option(help=f"Only this population: {choices(Population)}.")
]
ModalityOption = Annotated[
    str | None, typer.Option(help=f"Only this modality: {choices(Modality)}.")
]
DirectionOption = Annotated[
    str | None,
    typer.Option(
        help=f"Studies with an analysis or finding in this direction: {choices(Direction)}."
    ),
]
SpaceOption = Annotated[str | None, typer.Option(help="Studies with an analysis in MNI or TAL.")]
YearFromOption = Annotated[int | None, typer.Option("--year-from", help="First year included.")]
YearToOption = Annotated[int | None, typer.Option("--year-to", help="Last year included.")]
YearOption = Annotated[int | None, typer.Option("--year", help="Only this publication year.")]


#: The files ``analyze`` and ``check`` read; with none, the studies in --db.
InputFilesArgument = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Sleuth .txt, NiMARE .json or .csv/.tsv table files; none: the studies in --db.",
        show_default=False,
    ),
]
