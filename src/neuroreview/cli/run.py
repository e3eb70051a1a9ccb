"""``neuroreview run``: the whole review in one command.

Today it loads a corpus into a fresh store and writes its summary; later stages (meta-analysis,
region synthesis, the report) join as steps of the same progress display.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from neuroreview import __version__
from neuroreview.cli.common import console, friendly_errors
from neuroreview.errors import NeuroreviewError

DEFAULT_OUT = Path("neuroreview-out")
STORE_NAME = "neuroreview.db"


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


@friendly_errors
def run(
    corpus: Annotated[
        list[Path] | None,
        typer.Option(
            "--corpus",
            help="Files of your own corpus (any format `import` reads); repeat for several.",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Run on the studies of this existing store instead."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = DEFAULT_OUT,
) -> None:
    """Run the review: the built-in ketamine corpus by default, or --corpus / --db of your own."""
    from neuroreview.io.builtin import builtin_corpus_dir
    from neuroreview.synthesis.summary import summarize_corpus

    if corpus and db:
        raise NeuroreviewError("give either --corpus files or --db, not both")
    if not corpus and not db and builtin_corpus_dir() is None:
        console.print(
            "No built-in corpus ships with this version yet; run on your own with "
            "`neuroreview run --corpus FILE` or `neuroreview run --db STORE`."
        )
        raise typer.Exit(0)
    out.mkdir(parents=True, exist_ok=True)
    with _progress() as progress:
        step = progress.add_task("loading the corpus", total=3)
        studies, origin = _load(corpus, db, out)
        progress.update(step, advance=1, description="summarising the corpus")
        summary = summarize_corpus(studies)
        progress.update(step, advance=1, description="writing results")
        written = ([] if db else [STORE_NAME]) + _write_outputs(out, studies, summary, origin)
        progress.update(step, advance=1, description="done")

    _print_summary(summary, origin)
    console.print(f"results written to {out}/ ({', '.join(written)})")


def _load(corpus: list[Path] | None, db: str | None, out: Path) -> tuple[list, str]:
    """The studies to review and where they came from; files go into a fresh store in ``out``."""
    from neuroreview.io.builtin import load_builtin_corpus
    from neuroreview.io.dispatch import read_inputs
    from neuroreview.store import Repository

    if db:
        with Repository(db) as repository:
            return repository.list_studies(), f"store {repository.url}"
    if corpus:
        studies, origin = read_inputs(corpus), ", ".join(map(str, corpus))
    else:
        studies, origin = load_builtin_corpus() or [], "built-in ketamine corpus"
    _fresh_store(out / STORE_NAME, studies)
    return studies, origin


def _fresh_store(path: Path, studies) -> None:
    """Build the store beside its final place, then swap it in, so a failed run keeps the old one."""
    from neuroreview.store import Repository

    temp = path.with_name(path.name + ".building")
    temp.unlink(missing_ok=True)
    try:
        with Repository(temp) as repository:
            repository.add_studies(studies)
        temp.replace(path)
    finally:
        temp.unlink(missing_ok=True)


def _write_outputs(out: Path, studies, summary, origin: str) -> list[str]:
    """Write the summary files and the corpus as tables; return the names written."""
    from neuroreview.io.atomic import atomic_write_text
    from neuroreview.io.tables import write_tables

    buffer = io.StringIO()
    csv.writer(buffer, delimiter="\t", lineterminator="\n").writerows(summary.crosstab_rows())
    atomic_write_text(out / "studies_by_modality_population.tsv", buffer.getvalue())
    document = {"neuroreview_version": __version__, "corpus": origin, **summary.to_dict()}
    atomic_write_text(out / "summary.json", json.dumps(document, indent=2) + "\n")
    tables = write_tables(studies, out / "corpus", fmt="tsv")
    names = ["studies_by_modality_population.tsv", "summary.json"]
    return names + [f"corpus/{t.name}" for t in tables]


def _print_summary(summary, origin: str) -> None:
    console.print(
        f"[bold]{summary.n_studies} studies[/bold] from {origin}: "
        f"{summary.n_coordinate_studies} with coordinates ({summary.n_analyses} analyses, "
        f"{summary.n_foci} foci), {summary.n_region_studies} with region findings "
        f"({summary.n_region_findings})"
    )
    rows = summary.crosstab_rows()
    console.print("Studies by modality x population:")
    table = Table()
    for i, name in enumerate(rows[0]):
        table.add_column(str(name), justify="left" if i == 0 else "right")
    for row in rows[1:]:
        table.add_row(*(str(v) for v in row))
    console.print(table)
