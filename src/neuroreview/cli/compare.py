"""``neuroreview compare A B``: where two groups of experiments differ, or converge together.

A and B are files, or selections of the store (``--a-population mdd --b-population healthy``).
The folder holds the maps under NiMARE's names, the clusters of the difference and
``compare.json`` (both groups' experiments, settings, seed, methods text), written whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from neuroreview.cli.common import (
    DbOption,
    JobsOption,
    SchedulerOption,
    WorkersOption,
    console,
    friendly_errors,
)
from neuroreview.cli.options import ImportFormat
from neuroreview.cli.reporting import RichReporter
from neuroreview.pipeline.compare import CompareRequest, GroupRequest, run_compare
from neuroreview.pipeline.config import DEFAULT_JOBS
from neuroreview.store import DEFAULT_DATABASE

DEFAULT_OUT = Path("neuroreview-compare")

_POPULATION = "Store: studies of this population (e.g. mdd, healthy)."


def _group_option(side: str, what: str, help_text: str, metavar: str | None = None):
    return typer.Option(
        f"--{side}-{what}", help=f"Group {side.upper()}: {help_text}", metavar=metavar
    )


@friendly_errors
def compare(
    a: Annotated[
        Path | None, typer.Argument(help="Group A's file (or select it in the store).")
    ] = None,
    b: Annotated[
        Path | None, typer.Argument(help="Group B's file (or select it in the store).")
    ] = None,
    method: Annotated[
        str,
        typer.Option(
            metavar="subtraction|conjunction|chi2",
            help="ALE subtraction (label permutation), conjunction of the two FWE-corrected ALE "
            "maps, or MKDA chi-square (association test, FDR).",
        ),
    ] = "subtraction",
    iterations: Annotated[
        int,
        typer.Option(help="Permutations (subtraction) or Monte Carlo iterations (conjunction)."),
    ] = 10_000,
    seed: Annotated[
        int | None, typer.Option(min=0, help="Random seed; drawn and recorded when not given.")
    ] = None,
    jobs: JobsOption = DEFAULT_JOBS,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    out: Annotated[
        Path,
        typer.Option("--out", help="Output folder (new, or an earlier comparison with --force)."),
    ] = DEFAULT_OUT,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an earlier comparison's folder.")
    ] = False,
    voxel_thresh: Annotated[
        float,
        typer.Option(
            help="Subtraction: uncorrected permutation p of the voxels clustered; conjunction: the cluster-forming p."
        ),
    ] = 0.001,
    alpha: Annotated[float, typer.Option(help="FWE (conjunction) or FDR (chi2) level.")] = 0.05,
    fwhm: Annotated[
        float | None, typer.Option(help="ALE: one kernel FWHM (mm) for every experiment.")
    ] = None,
    sample_size: Annotated[
        float | None, typer.Option(help="ALE: one sample size for every kernel.")
    ] = None,
    nimare_ties: Annotated[
        bool,
        typer.Option(
            "--nimare-ties",
            help="Subtraction: judge ties in float32 as NiMARE 0.22.1 does (reproduces its "
            "maps, including voxels one experiment reaches coming out significant).",
        ),
    ] = False,
    a_name: Annotated[
        str | None, typer.Option("--a-name", help="Group A's name in maps and tables.")
    ] = None,
    b_name: Annotated[
        str | None, typer.Option("--b-name", help="Group B's name in maps and tables.")
    ] = None,
    a_population: Annotated[str | None, _group_option("a", "population", _POPULATION)] = None,
    b_population: Annotated[str | None, _group_option("b", "population", _POPULATION)] = None,
    a_modality: Annotated[
        str | None, _group_option("a", "modality", "store: this modality.")
    ] = None,
    b_modality: Annotated[
        str | None, _group_option("b", "modality", "store: this modality.")
    ] = None,
    a_direction: Annotated[
        str | None, _group_option("a", "direction", "store: analyses in this direction.")
    ] = None,
    b_direction: Annotated[
        str | None, _group_option("b", "direction", "store: analyses in this direction.")
    ] = None,
    a_year_from: Annotated[
        int | None, _group_option("a", "year-from", "store: from this year.")
    ] = None,
    b_year_from: Annotated[
        int | None, _group_option("b", "year-from", "store: from this year.")
    ] = None,
    a_year_to: Annotated[
        int | None, _group_option("a", "year-to", "store: up to this year.")
    ] = None,
    b_year_to: Annotated[
        int | None, _group_option("b", "year-to", "store: up to this year.")
    ] = None,
    a_study: Annotated[
        list[str] | None, _group_option("a", "study", "store: this study (repeatable).")
    ] = None,
    b_study: Annotated[
        list[str] | None, _group_option("b", "study", "store: this study (repeatable).")
    ] = None,
    fmt: Annotated[
        ImportFormat, typer.Option("--format", help="Reader for A and B files.")
    ] = ImportFormat.AUTO,
    db: DbOption = DEFAULT_DATABASE,
    experiment_unit: Annotated[
        str, typer.Option(metavar="group|analysis", help="As for analyze.")
    ] = "group",
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help="Kinds of analysis compared (default: drug_effect)."),
    ] = None,
    keep_outside_mask: Annotated[
        bool, typer.Option("--keep-outside-mask", help="Keep foci the coordinate check flags.")
    ] = False,
) -> None:
    """Compare two groups of experiments: ALE subtraction, conjunction or MKDA chi-square."""
    sides = []
    for side, file, name, filters in (
        (
            "A",
            a,
            a_name,
            {
                "--population": a_population,
                "--modality": a_modality,
                "--direction": a_direction,
                "--year-from": a_year_from,
                "--year-to": a_year_to,
                "--study": a_study,
            },
        ),
        (
            "B",
            b,
            b_name,
            {
                "--population": b_population,
                "--modality": b_modality,
                "--direction": b_direction,
                "--year-from": b_year_from,
                "--year-to": b_year_to,
                "--study": b_study,
            },
        ),
    ):
        chosen = {k: v for k, v in filters.items() if v}
        label = name or (file.stem if file else _selection_name(chosen, side))
        sides.append(GroupRequest(label, [file] if file else [], chosen))
    request = CompareRequest(
        method=method,
        groups=(sides[0], sides[1]),
        out=out,
        force=force,
        iterations=iterations,
        seed=seed,
        jobs=jobs,
        db=db,
        fmt=fmt.value,
        kinds=kind,
        keep_outside_mask=keep_outside_mask,
        experiment_unit=experiment_unit,
        voxel_thresh=voxel_thresh,
        alpha=alpha,
        fwhm=fwhm,
        sample_size=sample_size,
        nimare_ties=nimare_ties,
        scheduler=scheduler,
        workers=workers,
    )
    record, _comparison = run_compare(request, RichReporter())
    first, second = record["groups"]
    console.print(
        f"{record['method']}: {first['name']} ({first['n_experiments']} experiments) vs "
        f"{second['name']} ({second['n_experiments']} experiments), seed {record['seed']}",
        markup=False,
        highlight=False,
    )
    console.print(
        f"{record['n_clusters']} clusters ({record.get('threshold', '')}) -> {out}/",
        markup=False,
        highlight=False,
    )


def _selection_name(filters: dict, side: str) -> str:
    """A store selection named by what selects it ("mdd", "healthy 2015-"), else A or B."""
    parts = [
        str(v) for k, v in filters.items() if k in ("--population", "--modality", "--direction")
    ]
    return " ".join(parts) or side
