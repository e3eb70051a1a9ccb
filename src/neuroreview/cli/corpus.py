"""Commands that move studies in and out of the store: import, studies, export."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from neuroreview.cli.common import DbOption, console, error_console, friendly_errors
from neuroreview.cli.options import (
    DirectionOption,
    ImportFormat,
    ModalityOption,
    PopulationOption,
    SpaceOption,
    YearFromOption,
    YearOption,
    YearToOption,
)
from neuroreview.errors import InputError
from neuroreview.io.export import (
    EXPORT_FORMATS,
    ExportSummary,
    check_streamable,
    count,
    export_studies,
)
from neuroreview.model import Space
from neuroreview.store import DEFAULT_DATABASE, Repository, StudyFilter

if TYPE_CHECKING:
    from neuroreview.io.sleuth import SleuthLeftOut


#: The formats ``export`` offers, as the writers in ``io.export`` declare them.
ExportFormat = StrEnum("ExportFormat", {key.replace("-", "_"): key for key in EXPORT_FORMATS})


class SpaceChoice(StrEnum):
    mni = "mni"
    tal = "tal"


def _filter(population, modality, direction, space, year, year_from, year_to) -> StudyFilter:
    return StudyFilter.of(
        population=population,
        modality=modality,
        direction=direction,
        space=space,
        year_min=year if year is not None else year_from,
        year_max=year if year is not None else year_to,
    )


@friendly_errors
def import_files(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Sleuth .txt, NiMARE .json (NIMADS studyset or Dataset), .csv/.tsv tables "
            "(studies, foci, region findings), or Neurosynth v0.7 "
            "data-neurosynth_version-7_coordinates.tsv.gz with its ..._metadata.tsv.gz."
        ),
    ],
    db: DbOption = DEFAULT_DATABASE,
    fmt: Annotated[
        ImportFormat, typer.Option("--format", help="Reader to use.")
    ] = ImportFormat.AUTO,
    replace: Annotated[
        bool, typer.Option(help="Overwrite studies whose id is already stored.")
    ] = False,
) -> None:
    """Read files into the store in one transaction: one bad row and nothing is written."""
    from neuroreview.io.dispatch import read_inputs

    with console.status("reading files"):
        studies = read_inputs(files, fmt.value)
    with Repository(db) as repository, console.status(f"writing {len(studies)} studies"):
        repository.add_studies(studies, replace=replace, source=", ".join(map(str, files)))
        counts = repository.counts()
    n_analyses = sum(len(s.analyses) for s in studies)
    n_foci = sum(s.n_foci for s in studies)
    n_findings = sum(len(s.region_findings) for s in studies)
    console.print(
        f"imported {len(studies)} studies ({n_analyses} analyses, {n_foci} foci, "
        f"{n_findings} region findings) into {repository.url}; "
        f"the store now holds {counts.studies} studies"
    )


@friendly_errors
def list_studies(
    db: DbOption = DEFAULT_DATABASE,
    population: PopulationOption = None,
    modality: ModalityOption = None,
    direction: DirectionOption = None,
    space: SpaceOption = None,
    year: YearOption = None,
    year_from: YearFromOption = None,
    year_to: YearToOption = None,
    limit: Annotated[int, typer.Option(help="Show at most this many rows (0: all).")] = 50,
) -> None:
    """Show the stored studies as a table, filtered."""
    study_filter = _filter(population, modality, direction, space, year, year_from, year_to)
    with Repository(db, create=False) as repository:
        studies = repository.list_studies(study_filter)
    table = Table(title=f"{len(studies)} studies")
    for column in (
        "id",
        "year",
        "population",
        "modality",
        "timing",
        "n",
        "analyses",
        "foci",
        "regions",
    ):
        numeric = column in {"year", "n", "analyses", "foci", "regions"}
        # Ids are what users type into other commands: other columns give way before they do.
        id_width = min(40, max((len(s.id) for s in studies), default=2))
        table.add_column(
            column,
            justify="right" if numeric else "left",
            no_wrap=True,
            min_width=id_width if column == "id" else None,
        )
    shown = studies if limit <= 0 else studies[:limit]
    for s in shown:
        table.add_row(
            s.id,
            str(s.year or ""),
            s.population.value,
            s.modality.value,
            s.timing.value,
            str(s.n_subjects or ""),
            str(len(s.analyses)),
            str(s.n_foci),
            str(len(s.region_findings)),
        )
    console.print(table)
    if len(shown) < len(studies):
        console.print(f"(showing {len(shown)} of {len(studies)}; --limit 0 shows all)")


@friendly_errors
def export(
    fmt: Annotated[ExportFormat, typer.Option("--format", help="Output format.")],
    out: Annotated[
        Path,
        typer.Option("--out", help="Output file, or - for standard output (a folder for csv/tsv)."),
    ],
    db: DbOption = DEFAULT_DATABASE,
    space: Annotated[
        SpaceChoice | None,
        typer.Option(help="Sleuth only: convert every study to this space (Lancaster pooled)."),
    ] = None,
    population: PopulationOption = None,
    modality: ModalityOption = None,
    direction: DirectionOption = None,
    year: YearOption = None,
    year_from: YearFromOption = None,
    year_to: YearToOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace --out if it exists (csv/tsv: its tables).")
    ] = False,
) -> None:
    """Write stored studies as Sleuth text, NiMARE JSON (NIMADS or Dataset) or tables.

    `--out -` writes the file to standard output and the summary of what was written to
    standard error. Studies Sleuth cannot hold are left out and listed with the reason.
    """
    if _is_stdout(out):
        check_streamable(fmt.value)  # before the store is read: a folder cannot be a stream
    if not _is_stdout(out) and out.exists() and not force:
        raise InputError(f"--out {out} already exists; use --force to replace it")
    study_filter = _filter(population, modality, direction, None, year, year_from, year_to)
    with Repository(db, create=False) as repository:
        studies = repository.list_studies(study_filter)
    if not studies:
        raise InputError(_no_match(study_filter))
    target = Space.parse(space.value) if space else None
    summary, text = export_studies(studies, fmt.value, None if _is_stdout(out) else out, target)
    if text is not None:
        typer.echo(text, nl=False)
    _print_summary(summary, fmt, out)


#: Left-out studies listed one per line; the rest are counted by reason.
MAX_LEFT_OUT_LISTED = 10
#: What `--out` takes for standard output.
STDOUT = "-"


def _is_stdout(out: Path) -> bool:
    return str(out) == STDOUT


def _no_match(study_filter: StudyFilter) -> str:
    if study_filter == StudyFilter():
        return "nothing to export: the store holds no studies"
    return "nothing to export: no stored study matches the filters"


def _summary_lines(summary: ExportSummary, fmt: ExportFormat) -> list[str]:
    studies = count(summary.n_studies, "study", "studies")
    head = f"exported {studies} ({summary.contents}) as {fmt.value} to {summary.destination}"
    return [head, *_left_out_lines(summary.left_out)]


def _left_out_lines(left_out: Sequence[SleuthLeftOut]) -> list[str]:
    """One line per left-out study or experiment; past the first ten, counts by reason."""
    lines = [f"  left out {_left_out_name(item)}: {item.reason}" for item in left_out]
    rest = left_out[MAX_LEFT_OUT_LISTED:]
    if not rest:
        return lines
    reasons = Counter(item.reason for item in rest).most_common()
    found = ", ".join(f"{reason}: {n}" for reason, n in reasons)
    return [*lines[:MAX_LEFT_OUT_LISTED], f"  and {len(rest)} more left out ({found})"]


def _left_out_name(item: SleuthLeftOut) -> str:
    if item.analysis_id is None:
        return item.study_id
    return f"{item.study_id}, analysis {item.analysis_id}"


def _print_summary(summary: ExportSummary, fmt: ExportFormat, out: Path) -> None:
    """To standard error when the file went to standard output, which must stay a valid file."""
    target = error_console if _is_stdout(out) else console
    for line in _summary_lines(summary, fmt):
        target.print(line, markup=False, highlight=False, soft_wrap=True)
