"""``neuroreview run``: the whole review in one command.

The options (or ``--config review.toml``, which the options then override) become a
:class:`~neuroreview.pipeline.config.ReviewConfig`; :func:`~neuroreview.pipeline.review.
run_review` does the work, drawn here as one Rich progress display, and this module prints what
it found.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from neuroreview.cli.common import SchedulerOption, WorkersOption, console, friendly_errors
from neuroreview.cli.run_summary import print_corpus, print_steps
from neuroreview.errors import NeuroreviewError
from neuroreview.io.layout import (
    REPORT_FILE,
    REPORT_FOLDER,
    RUN_CONFIG,
    RUN_RECORD,
)
from neuroreview.pipeline.config import DEFAULT_JOBS, ReviewConfig
from neuroreview.pipeline.review import preflight, run_review
from neuroreview.pipeline.run_folder import check_out, is_run_folder

__all__ = ["check_out", "is_run_folder", "run"]

#: How many stages the overall progress bar counts (pipeline.review reports each).
STAGES = 8


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
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Output folder (default neuroreview-out): new, empty, or an earlier run's (with "
            "--force). It gets summary.json, review.toml, report.html, report-provenance.json, "
            "report/, studies_by_modality_population.tsv, corpus/, ale/, mkda/, questions/, "
            "regions/, decode/ and, with --corpus or the built-in corpus, the working store "
            "neuroreview.db.",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace --out if it holds an earlier run (and only then)."),
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Read the settings from this TOML file (a run writes its own as "
            "DIR/review.toml); options given here override it.",
        ),
    ] = None,
    iterations: Annotated[
        int | None, typer.Option(help="Monte Carlo iterations of each FWE correction (1000).")
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            min=0, help="Random seed of the Monte Carlo (0; the same seed, the same run)."
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"Threads running the Monte Carlo ({DEFAULT_JOBS}); the result does not depend "
            "on it.",
        ),
    ] = None,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    include_exposure: Annotated[
        list[str] | None,
        typer.Option(
            "--include-exposure",
            metavar="chronic_use|unknown",
            help="Also meta-analyse studies of this exposure (besides single_dose and "
            "repeated_course; your own corpus also includes unknown); repeat for several.",
        ),
    ] = None,
    convention: Annotated[
        str | None,
        typer.Option(
            metavar="nimare|pyale|gingerale",
            help="Whose conventions the ALE follows (nimare): Talairach conversion, placement "
            "on the grid, kernel truncation.",
        ),
    ] = None,
    sensitivity: Annotated[
        bool | None,
        typer.Option(
            "--sensitivity/--no-sensitivity",
            help="Test each surviving ALE cluster under every tool's conventions and under "
            "jittered foci (on).",
        ),
    ] = None,
    jitters: Annotated[
        int | None, typer.Option(min=0, help="Jittered reruns of the sensitivity check (20).")
    ] = None,
    min_experiments: Annotated[
        int | None,
        typer.Option(
            min=2,
            help="Fewest experiments a question's meta-analysis needs; below it the question "
            'reports "too few (k)" (17: Eickhoff et al. 2016, Müller et al. 2018).',
        ),
    ] = None,
) -> None:
    """Run the review: the built-in ketamine corpus by default, or --corpus / --db of your own.

    Sleuth files, NiMARE JSON and the Neurosynth tables record no exposure: with --corpus or
    --db, studies of unknown exposure are reviewed too (the built-in corpus records it).
    """
    if corpus and db:
        raise NeuroreviewError("give either --corpus files or --db, not both")
    options = {
        "corpus": tuple(corpus) if corpus else None,
        "db": db,
        "out": out,
        "iterations": iterations,
        "seed": seed,
        "jobs": jobs,
        "scheduler": scheduler,
        "workers": workers,
        "include_exposure": include_exposure or None,
        "min_experiments": min_experiments,
        "convention": convention.lower() if convention else None,
        "sensitivity": sensitivity,
        "jitters": jitters,
    }
    review = ReviewConfig.from_options(config, options)
    preflight(review, force)
    with _progress() as progress:
        overall = progress.add_task("loading the corpus", total=STAGES)
        from neuroreview.cli.reporting import RichReporter

        result = run_review(review, RichReporter(progress, overall), force=force)
    print_corpus(result.summary, result.origin)
    print_steps(result, review.out)
    if result.attribution:
        console.print(result.attribution, markup=False, highlight=False)
    written = [*result.written, RUN_RECORD, RUN_CONFIG, REPORT_FILE]
    console.print(
        f"results written to {review.out}/ ({', '.join(written)}, "
        f"{', '.join(f'{name}/' for name in [*result.folders, REPORT_FOLDER])})",
        markup=False,
        highlight=False,
    )


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
