"""The decode step of ``neuroreview run``: what the changed regions do, in Neurosynth's topics.

Three kinds of target, each decoded into a ranked topic table in ``DIR/decode/``:

* the z map of each meta-analysis that ran (continuous decoding: spatial correlation with each
  topic's association map), whether or not a cluster survived, since the map's shape is still
  informative and the report says how thin it is;
* each cluster that survived cluster-level FWE (region decoding on the cluster's voxels);
* each *converging* region of the region synthesis
  (:func:`neuroreview.synthesis.convergence.converging_regions`; region decoding on the region's
  AAL3 mask).

``decode/index.tsv`` lists every target, with the table it was written to or, when it could not
be decoded (a network without an AAL3 mask, a region no Neurosynth study reports), why not. The
report reads that index, so ``neuroreview report`` shows the same interpretation without
decoding again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from neuroreview.cbma.registry import label as method_label
from neuroreview.io.layout import (
    CLUSTER_IMAGE,
    CONVERGENCE,
    DECODE_INDEX,
    Z_MAP,
    decode_cluster_table,
    decode_map_table,
    decode_region_table,
    within,
)
from neuroreview.io.layout import DECODE_FOLDER as LAYOUT_DECODE_FOLDER

if TYPE_CHECKING:
    import pandas as pd

    from neuroreview.io.run_files import RunFiles
    from neuroreview.pipeline.meta_analysis import Outcome

DECODE_FOLDER, INDEX = LAYOUT_DECODE_FOLDER, DECODE_INDEX
INDEX_COLUMNS = (
    "kind",
    "target",
    "source",
    "file",
    "n_voxels",
    "n_studies_selected",
    "top_topic",
    "top_label",
    "note",
)


@dataclass
class DecodedTarget:
    """One map, cluster or region of the run and its ranked topics (``table``, None when it
    could not be decoded: ``note`` says why); a row of ``decode/index.tsv``."""

    kind: str
    target: str
    source: str
    file: str = ""
    n_voxels: int | str = ""
    n_selected: int | str = ""
    top_topic: str = ""
    top_label: str = ""
    note: str = ""
    table: pd.DataFrame | None = None

    def row(self) -> list[str]:
        return [
            self.kind,
            self.target,
            self.source,
            self.file,
            str(self.n_voxels),
            str(self.n_selected),
            self.top_topic,
            self.top_label,
            self.note,
        ]


@dataclass(frozen=True)
class Decoding:
    """The decode step's result: every target, in ``index.tsv``'s order, and its record."""

    targets: list[DecodedTarget]
    record: dict[str, Any]


def decode_step(
    files: RunFiles, analyses: dict[str, Outcome], convergence: pd.DataFrame, regions_folder: str
) -> Decoding:
    """Decode the run's maps, clusters and converging regions into ``decode/`` of ``files``.

    The maps are those just fitted, at the float32 precision their NIfTI files hold, so decoding
    them here gives what decoding the written files gives.
    """
    import numpy as np

    from neuroreview.decode import decode_map, decode_region, load_topic_maps
    from neuroreview.decode.region import RegionDecodingError
    from neuroreview.synthesis.convergence import MIN_AGREEING, converging_regions
    from neuroreview.synthesis.regions import region_mask

    folder = files.path(DECODE_FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.tsv"):
        old.unlink()
    maps = load_topic_maps()
    entries: list[DecodedTarget] = []

    def write(entry: DecodedTarget, table: pd.DataFrame, name: str) -> None:
        entry.file = within(DECODE_FOLDER, name)
        files.write_text(entry.file, table.to_csv(sep="\t", index=False, float_format="%.6g"))
        entry.top_topic, entry.top_label = str(table["topic"].iloc[0]), str(table["label"].iloc[0])
        entry.table = table
        entries.append(entry)

    def region_entry(entry: DecodedTarget, mask: np.ndarray, name: str) -> None:
        entry.n_voxels = int(mask.sum())
        try:
            decoded = decode_region(mask)
        except RegionDecodingError as error:
            entry.note = "; ".join(filter(None, [entry.note, f"not decoded: {error}"]))
            entries.append(entry)
            return
        entry.n_selected = decoded.n_selected
        write(entry, decoded.table, name)

    for method, outcome in analyses.items():
        label = method_label(method)
        z = outcome.result.volume("z").astype(np.float32).astype(np.float64)
        decoded = decode_map(z, maps)
        entry = DecodedTarget(
            "map", f"{label} z map", f"{method}/{Z_MAP}", n_voxels=decoded.n_voxels
        )
        entry.note = "spatial correlation (Pearson r) with each topic's association z map"
        write(entry, decoded.table, decode_map_table(method))
        clusters = outcome.cluster_ids
        for cluster_id in range(1, int(clusters.max()) + 1):
            entry = DecodedTarget(
                "cluster",
                f"{label} cluster {cluster_id}",
                f"{method}/{CLUSTER_IMAGE}#{cluster_id}",
                note="surviving cluster (cluster-level FWE); studies with a focus in it",
            )
            region_entry(entry, clusters == cluster_id, decode_cluster_table(method, cluster_id))

    by_region: dict[tuple[str, str], list[str]] = {}
    for region, name, direction, family in converging_regions(convergence):
        by_region.setdefault((region, name), []).append(f"{family or 'any'} {direction}")
    for (region, name), claims in by_region.items():
        entry = DecodedTarget("region", name, f"{regions_folder}/{CONVERGENCE}#{region}")
        what = f"converging region ({'; '.join(claims)})"
        try:
            mask = region_mask(region)
        except ValueError as error:
            entry.note = f"{what}; not decoded: {error}"
            entries.append(entry)
            continue
        entry.note = what
        region_entry(entry, mask, decode_region_table(region))

    lines = ["\t".join(INDEX_COLUMNS)] + ["\t".join(e.row()) for e in entries]
    files.write_text(within(DECODE_FOLDER, INDEX), "\n".join(lines) + "\n")
    return Decoding(
        entries,
        {
            "folder": DECODE_FOLDER,
            "index": f"{DECODE_FOLDER}/{INDEX}",
            "n_maps": sum(e.kind == "map" for e in entries),
            "n_clusters": sum(e.kind == "cluster" and bool(e.file) for e in entries),
            "n_regions": sum(e.kind == "region" and bool(e.file) for e in entries),
            "n_not_decoded": sum(not e.file for e in entries),
            "min_agreeing_studies": MIN_AGREEING,
            "topics": f"Neurosynth v0.7 LDA50, {len(maps.topic_ids)} topics",
        },
    )
