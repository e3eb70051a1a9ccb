"""``neuroreview decode``: what the regions a drug changes do, in Neurosynth's terms.

Two questions, one command. Given a whole-brain map (``decode MAP.nii.gz``), which Neurosynth
topics' meta-analytic maps does it resemble (spatial correlation)? Given a region (``--region``
with a canonical region or an AAL3 label, ``--mask`` with a mask image, or ``--clusters DIR
--cluster N`` with a cluster found by ``neuroreview analyze``), which topics are over-represented
among the studies reporting a focus in it (Neurosynth's association test)? Either way a ranked
topic table, the top of it on screen and all of it in ``--out FILE.tsv``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from neuroreview.cli.common import console, friendly_errors
from neuroreview.errors import NeuroreviewError
from neuroreview.pipeline.decode_target import (
    decode_map_file,
    decode_region_mask,
    region_target,
    write_topics,
)

if TYPE_CHECKING:
    import pandas as pd

ATTRIBUTION = (
    "Topics: Neurosynth database v0.7 (https://neurosynth.org, Yarkoni et al. 2011), "
    "LDA50 topics, Open Database License (ODbL 1.0)"
)
#: Rows of this kind are mostly methods or boilerplate; shown dimmed so they do not mislead.
METHOD_KIND = "method"


@friendly_errors
def decode(
    image: Annotated[
        Path | None,
        typer.Argument(
            metavar="MAP",
            help="A whole-brain map (NIfTI) to correlate with every topic map.",
            show_default=False,
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            help="A canonical region (sgACC, amygdala, ventral striatum, ...) or an AAL3 label "
            "(Amygdala_L, ACC_sub_*).",
            show_default=False,
        ),
    ] = None,
    mask: Annotated[
        Path | None,
        typer.Option(
            "--mask", help="A region given as a mask image (non-zero = inside).", show_default=False
        ),
    ] = None,
    clusters: Annotated[
        Path | None,
        typer.Option(
            "--clusters",
            help="A `neuroreview analyze` output folder; decode its cluster --cluster N.",
            show_default=False,
        ),
    ] = None,
    cluster: Annotated[
        int | None,
        typer.Option(
            "--cluster", help="The cluster id in --clusters to decode.", show_default=False
        ),
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Topics to show on screen.")] = 10,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the full ranked table here (TSV).", show_default=False),
    ] = None,
) -> None:
    """Decode a map (spatial correlation) or a region (Neurosynth association) into topics."""
    sources = [
        name
        for name, given in (
            ("MAP", image is not None),
            ("--region", region is not None),
            ("--mask", mask is not None),
            ("--clusters", clusters is not None),
        )
        if given
    ]
    if cluster is not None and clusters is None:
        raise NeuroreviewError("--cluster needs --clusters DIR, the folder the cluster is in")
    if len(sources) != 1:
        what = "nothing" if not sources else " and ".join(sources)
        raise NeuroreviewError(
            f"give exactly one of MAP, --region, --mask or --clusters DIR --cluster N (got {what})"
        )
    if top < 1:
        raise NeuroreviewError(f"--top must be 1 or more, got {top}")
    if out is not None and out.is_dir():
        raise NeuroreviewError(f"--out {out} is a folder; give a file name such as topics.tsv")

    if image is not None:
        table, heading = decode_map_file(image)
        shown = _map_table(table.head(top), heading)
    else:
        region_mask, what = region_target(region, mask, clusters, cluster)
        table, heading = decode_region_mask(region_mask, what)
        shown = _region_table(table.head(top), heading)
    console.print(shown)
    console.print(ATTRIBUTION, markup=False, highlight=False, style="dim")
    if out is not None:
        write_topics(out, table)
        console.print(f"wrote {len(table)} topics to {out}", markup=False, highlight=False)


# --- tables ---------------------------------------------------------------------------------


def _topic_cell(topic: str, label: str) -> str:
    return f"{topic.split('_', 1)[0]}: {label}"


def _number(value: float, digits: int = 3) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.{digits}g}"


def _map_table(table: pd.DataFrame, title: str) -> Table:
    rich = Table(title=title, caption="dimmed: methodological or generic topics")
    rich.add_column("#", justify="right")
    rich.add_column("topic")
    rich.add_column("r", justify="right")
    for row in table.itertuples(index=False):
        rich.add_row(
            str(row.rank),
            _topic_cell(row.topic, row.label),
            f"{row.r:.3f}",
            style="dim" if row.kind == METHOD_KIND else None,
        )
    return rich


def _region_table(table: pd.DataFrame, title: str) -> Table:
    rich = Table(
        title=title,
        caption="z, p (FDR): association test; P(topic|region): posterior with prior 0.5; "
        "dimmed: methodological or generic topics",
    )
    rich.add_column("#", justify="right")
    rich.add_column("topic")
    for column in ("z", "p (FDR)", "P(topic|region)", "studies in region", "topic studies"):
        rich.add_column(column, justify="right")
    for row in table.itertuples(index=False):
        rich.add_row(
            str(row.rank),
            _topic_cell(row.topic, row.label),
            f"{row.z_association:.2f}",
            _number(row.p_association, 2),
            f"{row.prob_topic_given_region:.2f}",
            str(row.n_selected_topic),
            str(row.n_topic),
            style="dim" if row.kind == METHOD_KIND else None,
        )
    return rich
