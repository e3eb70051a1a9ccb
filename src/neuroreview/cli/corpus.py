"""Commands that move studies in and out of the store: import, studies, export."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from neuroreview.cli.common import DbOption, console, friendly_errors
from neuroreview.store import DEFAULT_DATABASE, Repository, StudyFilter


class ImportFormat(StrEnum):
    auto = "auto"
    sleuth = "sleuth"
    nimare = "nimare"
    tables = "tables"
    neurosynth = "neurosynth"


class ExportFormat(StrEnum):
    sleuth = "sleuth"
    nimads = "nimads"
    nimare_dataset = "nimare-dataset"
    csv = "csv"
    tsv = "tsv"


class SpaceChoice(StrEnum):
    mni = "mni"
    tal = "tal"


PopulationOption = Annotated[
    str | None, typer.Option(help="healthy, mdd, trd, bipolar, schizophrenia, chronic_users, other")
]
ModalityOption = Annotated[
    str | None, typer.Option(help="fmri_task, fmri_rest, pet, mrs, meg, eeg, structural_mri, ...")
]
DirectionOption = Annotated[
    str | None, typer.Option(help="Studies with an analysis or finding in this direction.")
]
SpaceOption = Annotated[str | None, typer.Option(help="Studies with an analysis in MNI or TAL.")]
YearFromOption = Annotated[int | None, typer.Option("--year-from", help="First year included.")]
YearToOption = Annotated[int | None, typer.Option("--year-to", help="Last year included.")]
YearOption = Annotated[int | None, typer.Option("--year", help="Only this publication year.")]


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
        typer.Argument(help="Sleuth .txt, NiMARE .json, .csv/.tsv tables, Neurosynth files."),
    ],
    db: DbOption = DEFAULT_DATABASE,
    fmt: Annotated[
        ImportFormat, typer.Option("--format", help="Reader to use.")
    ] = ImportFormat.auto,
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
    with Repository(db) as repository:
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
    out: Annotated[Path, typer.Option("--out", help="Output file (a directory for csv/tsv).")],
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
) -> None:
    """Write stored studies as Sleuth text, NiMARE JSON (NIMADS or Dataset) or tables."""
    study_filter = _filter(population, modality, direction, None, year, year_from, year_to)
    with Repository(db) as repository:
        studies = repository.list_studies(study_filter)
    written = write_studies(studies, fmt, out, space)
    console.print(f"exported {len(studies)} studies as {fmt.value} to {written}")


def write_studies(studies, fmt: ExportFormat, out: Path, space: SpaceChoice | None = None) -> str:
    """Write with the format's writer; returns a description of what was written where."""
    from neuroreview.model import Space

    if fmt is ExportFormat.sleuth:
        from neuroreview.io.sleuth import write_sleuth

        result = write_sleuth(studies, out, space=Space.parse(space.value) if space else None)
        skipped = getattr(result, "skipped_study_ids", [])
        note = (
            f" ({len(skipped)} studies without coordinates left out: {', '.join(skipped)})"
            if skipped
            else ""
        )
        return f"{out}{note}"
    if fmt is ExportFormat.nimads:
        from neuroreview.io.nimare_json import write_nimads

        write_nimads(studies, out)
        return str(out)
    if fmt is ExportFormat.nimare_dataset:
        from neuroreview.io.nimare_json import write_nimare_dataset

        write_nimare_dataset(studies, out)
        return str(out)
    from neuroreview.io.tables import write_tables

    paths = write_tables(studies, out, fmt=fmt.value)
    return ", ".join(str(p) for p in paths)
