"""Commands that move studies in and out of the store: import, studies, export."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from neuroreview.cli.common import DbOption, console, error_console, friendly_errors
from neuroreview.errors import InputError
from neuroreview.io.dispatch import InputFormat
from neuroreview.model import Direction, Modality, Population
from neuroreview.store import DEFAULT_DATABASE, Repository, StudyFilter

if TYPE_CHECKING:
    from neuroreview.io.sleuth import SleuthLeftOut
    from neuroreview.model import Study


def choices(enum: type[Enum]) -> str:
    """Every value of ``enum`` for a --help text, so no choice is hidden behind an ellipsis."""
    return ", ".join(member.value for member in enum)


#: The readers ``import`` and ``analyze`` offer (declared once, in ``io.dispatch``).
ImportFormat = InputFormat


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
    _check_destination(fmt, out)
    if not _is_stdout(out) and out.exists() and not force:
        raise InputError(f"--out {out} already exists; use --force to replace it")
    study_filter = _filter(population, modality, direction, None, year, year_from, year_to)
    with Repository(db, create=False) as repository:
        studies = repository.list_studies(study_filter)
    if not studies:
        raise InputError(_no_match(study_filter))
    summary = write_studies(studies, fmt, out, space)
    _print_summary(summary, fmt, out)


#: Decimals kept for coordinates converted to another space: 0.01 mm is far below a 2 mm voxel
#: and the transforms' own accuracy, and hides float noise such as 17.322400000000002.
CONVERTED_DECIMALS = 2
#: Left-out studies listed one per line; the rest are counted by reason.
MAX_LEFT_OUT_LISTED = 10
#: What `--out` takes for standard output.
STDOUT = "-"


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote: the counts printed are those of the file, not of the selection."""

    n_studies: int
    contents: str
    destination: str
    left_out: tuple[SleuthLeftOut, ...] = ()


def write_studies(
    studies: Sequence[Study], fmt: ExportFormat, out: Path, space: SpaceChoice | None = None
) -> ExportSummary:
    """Write with the format's writer, to standard output for `-`; returns what was written.

    Only Sleuth can leave studies out (it holds coordinates only); the other formats hold every
    study, so their counts are those of ``studies``.
    """
    _check_destination(fmt, out)
    if fmt is ExportFormat.sleuth:
        return _export_sleuth(studies, out, space)
    if fmt in (ExportFormat.csv, ExportFormat.tsv):
        from neuroreview.io.tables import write_tables

        write_tables(studies, out, fmt=fmt.value)
    else:
        _export_json(studies, fmt, out)
    return ExportSummary(len(studies), _contents(studies), _destination(out))


def _export_sleuth(studies: Sequence[Study], out: Path, space: SpaceChoice | None) -> ExportSummary:
    """Write what Sleuth can hold; refuse when that is nothing rather than write an empty file."""
    from neuroreview.io.sleuth import render_sleuth, sleuth_writable, write_sleuth
    from neuroreview.model import Space

    writable, left_out = sleuth_writable(studies)
    if not writable:
        raise InputError(_nothing_for_sleuth(len(studies), left_out))
    target = Space.parse(space.value) if space else None
    if target is None:
        _check_one_space(writable)
    if _is_stdout(out):
        text, result = render_sleuth(writable, space=target, decimals=CONVERTED_DECIMALS)
        typer.echo(text, nl=False)
    else:
        result = write_sleuth(writable, out, space=target, decimals=CONVERTED_DECIMALS)
    experiments = _count(result.n_experiments, "experiment")
    return ExportSummary(len(writable), experiments, _destination(out), tuple(left_out))


def _export_json(studies: Sequence[Study], fmt: ExportFormat, out: Path) -> None:
    from neuroreview.io import nimare_json

    if fmt is ExportFormat.nimads:
        write, render = nimare_json.write_nimads, nimare_json.format_nimads
    else:
        write, render = nimare_json.write_nimare_dataset, nimare_json.format_nimare_dataset
    if _is_stdout(out):
        typer.echo(render(studies), nl=False)
    else:
        write(studies, out)


def _is_stdout(out: Path) -> bool:
    return str(out) == STDOUT


def _destination(out: Path) -> str:
    return "standard output" if _is_stdout(out) else str(out)


def _check_destination(fmt: ExportFormat, out: Path) -> None:
    """Refuse `--out -` for tables before reading the store: a folder cannot be a stream."""
    if _is_stdout(out) and fmt in (ExportFormat.csv, ExportFormat.tsv):
        raise InputError(
            f"--out - cannot be used with --format {fmt.value}: it writes a folder of three "
            "tables; give --out a folder name"
        )


def _check_one_space(studies: Sequence[Study]) -> None:
    """A Sleuth file holds one space; name the option that converts, not the Python argument."""
    counts = Counter(analysis.space.value for study in studies for analysis in study.analyses)
    if len(counts) > 1:
        found = ", ".join(
            f"{space}: {_count(n, 'analysis', 'analyses')}" for space, n in sorted(counts.items())
        )
        raise InputError(
            f"the analyses to export are in mixed spaces ({found}) but a Sleuth file holds one; "
            "add --space mni or --space tal to convert them (Lancaster pooled transform)"
        )


def _no_match(study_filter: StudyFilter) -> str:
    if study_filter == StudyFilter():
        return "nothing to export: the store holds no studies"
    return "nothing to export: no stored study matches the filters"


def _nothing_for_sleuth(n_matching: int, left_out: Sequence[SleuthLeftOut]) -> str:
    """Why every matching study was left out, so the user knows whether another format helps."""
    from neuroreview.io.sleuth import NO_COORDINATES

    verb = "matches" if n_matching == 1 else "match"
    matching = f"{_count(n_matching, 'study', 'studies')} {verb}"
    reasons = Counter(item.reason for item in left_out)
    if set(reasons) == {NO_COORDINATES}:
        return (
            f"nothing to export: {matching}, none has coordinates (Sleuth holds coordinates only)"
        )
    found = ", ".join(f"{reason}: {n}" for reason, n in reasons.most_common())
    return f"nothing to export: {matching}, none can be written to Sleuth ({found})"


def _contents(studies: Sequence[Study]) -> str:
    """Counts worded as `import` words them, so an export and its re-import can be compared."""
    n_analyses = sum(len(s.analyses) for s in studies)
    n_foci = sum(s.n_foci for s in studies)
    n_findings = sum(len(s.region_findings) for s in studies)
    return ", ".join(
        [
            _count(n_analyses, "analysis", "analyses"),
            _count(n_foci, "focus", "foci"),
            _count(n_findings, "region finding"),
        ]
    )


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def _summary_lines(summary: ExportSummary, fmt: ExportFormat) -> list[str]:
    studies = _count(summary.n_studies, "study", "studies")
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
