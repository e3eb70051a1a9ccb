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

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray

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
        table, heading = _decode_map(image)
        shown = _map_table(table.head(top), heading)
    else:
        region_mask, what = _region(region, mask, clusters, cluster)
        table, heading = _decode_region(region_mask, what)
        shown = _region_table(table.head(top), heading)
    console.print(shown)
    console.print(ATTRIBUTION, markup=False, highlight=False, style="dim")
    if out is not None:
        from neuroreview.io.atomic import atomic_write_text

        text = table.to_csv(sep="\t", index=False, float_format="%.6g", lineterminator="\n")
        atomic_write_text(out, text)
        console.print(f"wrote {len(table)} topics to {out}", markup=False, highlight=False)


# --- the two decoders -----------------------------------------------------------------------


def _decode_map(path: Path) -> tuple[pd.DataFrame, str]:
    from neuroreview.decode.continuous import decode_map
    from neuroreview.decode.topic_maps import load_topic_maps
    from neuroreview.decode.volumes import load_image, map_on_grid
    from neuroreview.errors import InputError

    maps = load_topic_maps()
    values = map_on_grid(load_image(path), maps.space.grid, source=str(path))
    try:
        result = decode_map(values, maps)
    except NeuroreviewError as error:
        raise InputError(str(error), source=path) from None
    heading = (
        f"Topics whose maps resemble {path.name}: spatial correlation over "
        f"{result.n_voxels:,} brain voxels"
    )
    return result.table, heading


def _decode_region(mask: NDArray[np.bool_], what: str) -> tuple[pd.DataFrame, str]:
    from neuroreview.decode.region import RegionDecodingError, decode_region

    try:
        result = decode_region(mask)
    except RegionDecodingError as error:
        raise NeuroreviewError(f"{what}: {error}") from None
    heading = (
        f"Topics of {what}: {result.n_selected:,} of {result.n_studies:,} Neurosynth studies "
        "report a focus in it"
    )
    return result.table, heading


# --- which region ---------------------------------------------------------------------------


def _region(
    name: str | None, mask: Path | None, clusters: Path | None, cluster: int | None
) -> tuple[NDArray[np.bool_], str]:
    """The region as a boolean volume on the MNI152 2 mm grid, and how to name it on screen."""
    details: list[str] = []
    if name is not None:
        volume, what, details = _named_region(name)
    elif mask is not None:
        from neuroreview.decode.volumes import load_image, mask_on_grid

        volume, what = mask_on_grid(load_image(mask), source=str(mask)), f"the mask {mask}"
    else:
        assert clusters is not None
        volume, what = _cluster(clusters, cluster)
    n_voxels = int(volume.sum())
    if n_voxels == 0:
        raise NeuroreviewError(f"{what} has no voxels on the MNI152 2 mm grid")
    return volume, f"{what} ({', '.join([*details, f'{n_voxels:,} voxels'])})"


def _named_region(name: str) -> tuple[NDArray[np.bool_], str, list[str]]:
    """An AAL3 label (exact, or a shell pattern) first, so "Amygdala_L" keeps its side; then a
    canonical region, whose mask is the union of its AAL3 labels."""
    import fnmatch

    from neuroreview.space.atlas import load_aal3, mask_for_labels
    from neuroreview.synthesis.regions import canonical_region, region_mask

    text = name.strip()
    labels = load_aal3().names.values()
    if any(fnmatch.fnmatchcase(label, text) for label in labels):
        return mask_for_labels(text), text, ["AAL3"]
    found = canonical_region(text)
    if found is None:
        raise NeuroreviewError(
            f"unknown region {name!r}: neither a canonical region (see `neuroreview regions` "
            "or docs/regions.md) nor an AAL3 label such as Amygdala_L"
        )
    try:
        volume = region_mask(found)
    except ValueError as error:
        raise NeuroreviewError(
            f"region {found.name} ({found.id}) cannot be decoded: {error}; give --mask instead"
        ) from None
    return volume, found.name, [found.id]


def _cluster(folder: Path, cluster: int | None) -> tuple[NDArray[np.bool_], str]:
    import numpy as np

    from neuroreview.errors import InputError
    from neuroreview.io.layout import CLUSTER_IMAGE
    from neuroreview.io.maps import read_cluster_volume

    path = folder / CLUSTER_IMAGE
    if not path.is_file():
        raise InputError("not found; give a folder written by `neuroreview analyze`", source=path)
    volume = read_cluster_volume(path)
    ids = sorted(int(i) for i in np.unique(volume) if i > 0)
    if cluster is None:
        raise NeuroreviewError(
            f"{path}: say which cluster with --cluster N (this image has {_ids_text(ids)})"
        )
    if cluster not in ids:
        raise NeuroreviewError(f"{path}: no cluster {cluster} (this image has {_ids_text(ids)})")
    return volume == cluster, f"cluster {cluster} of {folder}"


def _ids_text(ids: list[int]) -> str:
    if not ids:
        return "no clusters"
    shown = ", ".join(map(str, ids[:20])) + (" ..." if len(ids) > 20 else "")
    return f"cluster{'s' if len(ids) > 1 else ''} {shown}"


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
