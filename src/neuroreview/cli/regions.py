"""``neuroreview regions``: the region vote table and the convergence table of a corpus.

The region-level view of the review: which way studies report each canonical region, and the
pooled effects beside the votes. Everything that could not be counted or pooled is counted on
screen and listed in ``exclusions.tsv``, so a reader sees what the tables leave out.
"""

from __future__ import annotations

import math
import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from neuroreview.cli.common import console, friendly_errors
from neuroreview.errors import NeuroreviewError
from neuroreview.pipeline.regions import exclusions_file
from neuroreview.store import DEFAULT_DATABASE

if TYPE_CHECKING:
    import pandas as pd


class Facet(StrEnum):
    modality = "modality"
    population = "population"
    timing = "timing"


class Kind(StrEnum):
    drug_effect = "drug_effect"
    group_difference = "group_difference"
    correlation = "correlation"
    baseline_predictor = "baseline_predictor"
    other = "other"


@friendly_errors
def regions(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Store: a SQLite file path or any SQLAlchemy URL (postgresql+psycopg://...); "
            f"default $NEUROREVIEW_DB, else {DEFAULT_DATABASE}.",
            show_default=False,
        ),
    ] = None,
    builtin: Annotated[
        bool, typer.Option("--builtin", help="Use the built-in ketamine corpus, not a store.")
    ] = False,
    by: Annotated[
        list[Facet] | None,
        typer.Option("--by", help="Split the vote table by this facet; repeat for several."),
    ] = None,
    roll_up: Annotated[
        bool,
        typer.Option("--roll-up", help="Also count each vote for the parent regions (sgACC->ACC)."),
    ] = False,
    kind: Annotated[
        list[Kind] | None,
        typer.Option(
            "--kind",
            help="Kinds of result that vote; repeat for several (default: drug_effect only; "
            "correlations, group differences and baseline predictors are listed as excluded).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write votes.tsv, convergence.tsv, exclusions.tsv, effects.tsv and "
            "label_disagreements.tsv here.",
        ),
    ] = None,
    clusters: Annotated[
        Path | None,
        typer.Option(
            "--clusters",
            help="A `neuroreview analyze` output folder: its surviving clusters join the "
            "convergence table as coordinate evidence.",
        ),
    ] = None,
) -> None:
    """Count studies per region and direction, pool effect sizes, and show both per region."""
    from neuroreview.pipeline.corpus import BUILTIN_ORIGIN, builtin_studies, store_studies
    from neuroreview.pipeline.regions import (
        read_clusters,
        synthesize_regions,
        write_regions_folder,
    )

    # $NEUROREVIEW_DB is read here, not by the option, so that it never conflicts with --builtin.
    if builtin and db is not None:
        raise NeuroreviewError("give either --db or --builtin, not both")
    if builtin:
        studies, origin = builtin_studies(), f"the {BUILTIN_ORIGIN}"
    else:
        store = db or os.environ.get("NEUROREVIEW_DB") or DEFAULT_DATABASE
        studies, origin = store_studies(store, required=True)
    facets = [f.value for f in by or ()]
    kinds = [k.value for k in kind] if kind else [Kind.drug_effect.value]
    cluster_evidence = read_clusters(clusters) if clusters is not None else None
    with console.status(f"counting votes in {len(studies)} studies"):
        synthesis = synthesize_regions(
            studies, by=facets, roll_up=roll_up, kinds=kinds, clusters=cluster_evidence
        )
    console.print(f"{len(studies)} studies from {origin}", markup=False, highlight=False)
    console.print(_vote_table(synthesis.votes, [*facets, "family"]))
    console.print(_convergence_table(synthesis.convergence))
    if out is not None:
        written = write_regions_folder(out, synthesis)
        console.print(f"wrote {_and(written.files)} to {out}", markup=False)
    _print_exclusions(synthesis.exclusions, out)
    disagreements = synthesis.disagreements
    if len(disagreements):
        console.print(
            f"{len(disagreements)} peak(s) where the authors' region name and the atlas label "
            "differ: the authors' name voted",
            markup=False,
        )


def _and(names: list[str]) -> str:
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)


def _print_exclusions(exclusions: pd.DataFrame, out: Path | None) -> None:
    if exclusions.empty:
        console.print("nothing excluded", markup=False)
        return
    reasons = exclusions["reason"].where(exclusions["evidence"] == "vote", "effect not pooled")
    counts = ", ".join(f"{n} {reason}" for reason, n in reasons.value_counts().sort_index().items())
    where = f"listed in {exclusions_file(out)}" if out else "--out DIR lists them"
    console.print(f"{len(exclusions)} excluded ({counts}); {where}", markup=False, highlight=False)


def _number(value: float, digits: int = 3) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.{digits}g}"


def _vote_table(table: pd.DataFrame, facets: list[str]) -> Table:
    rich = Table(title="Votes: studies per region and direction")
    for column in (*facets, "region"):
        rich.add_column(column, no_wrap=True)
    for column in ("increase", "decrease", "no change", "n", "p sign", "q (BH)"):
        rich.add_column(column, justify="right")
    for row in table.itertuples(index=False):
        rich.add_row(
            *(str(getattr(row, f)) for f in facets),
            row.region,
            str(row.increase),
            str(row.decrease),
            str(row.no_change),
            str(row.n_studies),
            _number(row.p_sign),
            _number(row.q_bh),
        )
    return rich


def _convergence_table(table: pd.DataFrame) -> Table:
    """Votes, cluster overlap (only when there is coordinate evidence) and pooled effects."""
    with_clusters = table["clusters"].notna().any()
    rich = Table(title="Convergence: evidence per region and measure family, strongest first")
    rich.add_column("region", no_wrap=True)
    rich.add_column("family", no_wrap=True)
    for column in ("+", "-", "=", "n", "q (BH)"):
        rich.add_column(column, justify="right")
    if with_clusters:
        rich.add_column("clusters", justify="right")
        rich.add_column("% covered", justify="right")
    for column in ("measure", "g [95% CI]", "k", "I2 %"):
        rich.add_column(column, justify="right" if column != "measure" else "left")
    for row in table.itertuples(index=False):
        cells = [
            row.region,
            row.family if isinstance(row.family, str) else "",
            str(row.increase),
            str(row.decrease),
            str(row.no_change),
            str(row.n_studies),
            _number(row.q_bh),
        ]
        if with_clusters:
            clusters = "" if math.isnan(row.clusters) else str(int(row.clusters))
            cells += [clusters, _number(row.cluster_percent)]
        pooled = isinstance(row.measure, str)
        cells += [
            row.measure if pooled else "",
            f"{row.g:.2f} [{row.ci_low:.2f}, {row.ci_high:.2f}]" if pooled else "",
            str(int(row.k)) if pooled else "",
            f"{row.i2:.0f}" if pooled else "",
        ]
        rich.add_row(*cells)
    return rich
