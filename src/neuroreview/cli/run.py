"""``neuroreview run``: the whole review in one command.

The options (or ``--config review.toml``, which the options then override) become a
:class:`~neuroreview.pipeline.config.ReviewConfig`; :func:`~neuroreview.pipeline.review.
run_review` does the work, drawn here as one Rich progress display, and this module prints what
it found.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from neuroreview.cli.common import DEFAULT_JOBS, console, friendly_errors
from neuroreview.errors import NeuroreviewError
from neuroreview.io.layout import (
    QUESTIONS_FOLDER,
    REGIONS_FOLDER,
    REPORT_FILE,
    REPORT_FOLDER,
    RUN_CONFIG,
    RUN_RECORD,
)
from neuroreview.pipeline.config import ReviewConfig
from neuroreview.pipeline.review import (
    CBMA_METHODS,
    LABELS,
    ReviewResult,
    check_out,
    is_run_folder,
    preflight,
    run_review,
)

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
    include_exposure: Annotated[
        list[str] | None,
        typer.Option(
            "--include-exposure",
            metavar="chronic_use|unknown",
            help="Also meta-analyse studies of this exposure (besides single_dose and "
            "repeated_course; your own corpus also includes unknown); repeat for several.",
        ),
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
        "include_exposure": _exposures(include_exposure),
        "min_experiments": min_experiments,
    }
    review = review_config(config, options)
    preflight(review, force)
    with _progress() as progress:
        overall = progress.add_task("loading the corpus", total=STAGES)
        from neuroreview.cli.reporting import RichReporter

        result = run_review(review, RichReporter(progress, overall), force=force)
    _print_summary(result.summary, result.origin)
    _print_steps(result, review.out)
    if result.attribution:
        console.print(result.attribution, markup=False, highlight=False)
    written = [*result.written, RUN_RECORD, RUN_CONFIG, REPORT_FILE]
    console.print(
        f"results written to {review.out}/ ({', '.join(written)}, "
        f"{', '.join(f'{name}/' for name in [*result.folders, REPORT_FOLDER])})",
        markup=False,
        highlight=False,
    )


def review_config(path: Path | None, options: dict[str, Any]) -> ReviewConfig:
    """The TOML file's settings (or the defaults), overridden by the options given."""
    base = ReviewConfig.from_toml(path) if path is not None else ReviewConfig()
    given = {k: v for k, v in options.items() if v is not None}
    # A corpus or store given here replaces the file's source, whichever it was.
    if options.get("corpus"):
        given["db"] = None
    elif options.get("db"):
        given["corpus"] = ()
    try:
        return ReviewConfig.model_validate(base.model_dump() | given)
    except ValidationError as error:
        first = error.errors()[0]
        name = "--" + "-".join(str(p) for p in first["loc"][:1]).replace("_", "-")
        if first["type"] == "greater_than_equal":
            limit = first["ctx"]["ge"]
            raise NeuroreviewError(
                f"{name} must be at least {limit}, got {first['input']}"
            ) from None
        raise NeuroreviewError(f"{name}: {first['msg']}") from None


def _exposures(texts: list[str] | None) -> tuple | None:
    from neuroreview.model import Exposure

    if not texts:
        return None
    try:
        return tuple(Exposure.parse(text) for text in texts)
    except ValueError as error:
        raise NeuroreviewError(f"--include-exposure: {error}") from None


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


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


def _print_steps(record: ReviewResult, out: Path) -> None:
    """One line per step after the corpus summary."""
    select = record.steps["select"]
    reasons = ", ".join(f"{n} {r}" for r, n in select["left_out_by_reason"].items() if n)
    console.print(
        f"selection: {select['n_coordinate_studies']} coordinate studies "
        f"({select['n_experiments']} experiments, {select['n_foci']} foci) of exposure "
        f"{' or '.join(select['exposures'])}; {select['n_left_out']} left out"
        + (f" ({reasons})" if reasons else "")
        + (
            f"; {select['n_analyses_unknown_space']} analyses in an unknown space dropped"
            if select["n_analyses_unknown_space"]
            else ""
        ),
        markup=False,
        highlight=False,
    )
    for method in CBMA_METHODS:
        step = record.steps[method]
        if step["status"] == "skipped":
            line = f"{LABELS[method]}: skipped: {step['reason']}"
        else:
            imputed = step.get("n_experiments_imputed", 0)
            imputation = step.get("sample_size_imputation") or {}
            sensitivity = [
                r for r in imputation.get("sensitivity", []) if r["scenario"] != "imputed"
            ]
            held = all(r["same_clusters"] for r in sensitivity)
            line = (
                f"{LABELS[method]}: {step['n_experiments']} experiments ({step['n_foci']} foci), "
                f"{step['n_iters_run']} Monte Carlo iterations (seed {step['seed']}): "
                f"{step['n_clusters']} clusters survive cluster-level FWE p < {step['alpha']:g}"
                + (
                    f"; {imputed} experiment(s) without a sample size given the median N = "
                    f"{imputation['value']:g}, clusters "
                    + ("unchanged" if held else "changed")
                    + " at the smallest and largest reported N"
                    if imputed
                    else ""
                )
                + f" -> {out / step['folder']}/"
            )
        console.print(line, markup=False, highlight=False)
    questions = record.steps.get("questions")
    for question in (questions or {}).get("questions", []):
        parts = "; ".join(
            f"{part['direction']}: {part['status']}"
            + (
                ", "
                + ", ".join(
                    f"{LABELS[m]} {a['n_clusters']} clusters"
                    if a["status"] == "run"
                    else f"{LABELS[m]} skipped"
                    for m, a in part["analyses"].items()
                )
                if part["analyses"]
                else ""
            )
            for part in question["parts"]
        )
        console.print(
            f"question {question['title']}: {parts} (minimum {questions['minimum']} "
            f"experiments) -> {out / QUESTIONS_FOLDER}/",
            markup=False,
            highlight=False,
        )
    regions = record.steps["regions"]
    clusters = (
        f", with the {regions['clusters_from'].upper()} clusters"
        if regions["clusters_from"]
        else ", without clusters (no ALE)"
    )
    console.print(
        f"regions: {regions['n_studies']} studies, {regions['n_regions_voted']} regions voted, "
        f"{regions['n_pooled_effects']} pooled effects{clusters}; {regions['n_exclusions']} "
        f"excluded -> {out / REGIONS_FOLDER}/",
        markup=False,
        highlight=False,
    )
    decode = record.steps.get("decode")
    if decode is not None:
        console.print(
            f"decoding: {decode['n_maps']} maps, {decode['n_clusters']} clusters and "
            f"{decode['n_regions']} converging regions against {decode['topics']}"
            + (f"; {decode['n_not_decoded']} not decoded" if decode["n_not_decoded"] else "")
            + f" -> {out / decode['folder']}/",
            markup=False,
            highlight=False,
        )
    report = record.steps.get("report")
    if report is not None:
        console.print(
            f"report: {out / report['file']} (figures and tables in {out / report['folder']}/, "
            f"provenance in {out / report['provenance']})",
            markup=False,
            highlight=False,
        )
