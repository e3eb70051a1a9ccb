"""What ``neuroreview decode`` decodes: a map file, or a region given by name, mask or cluster.

The rules of naming a region live here, not in the command: an AAL3 label (or a shell pattern
of labels) first, so "Amygdala_L" keeps its side, then a canonical region of the vocabulary.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from neuroreview.errors import NeuroreviewError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray


# --- the two decoders -----------------------------------------------------------------------


def decode_map_file(path: Path) -> tuple[pd.DataFrame, str]:
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


def decode_region_mask(mask: NDArray[np.bool_], what: str) -> tuple[pd.DataFrame, str]:
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


def region_target(
    name: str | None, mask: Path | None, clusters: Path | None, cluster: int | None
) -> tuple[NDArray[np.bool_], str]:
    """The region as a boolean volume on the MNI152 2 mm grid, and how to name it on screen."""
    details: list[str] = []
    if name is not None:
        volume, what, details = named_region(name)
    elif mask is not None:
        from neuroreview.decode.volumes import load_image, mask_on_grid

        volume, what = mask_on_grid(load_image(mask), source=str(mask)), f"the mask {mask}"
    else:
        assert clusters is not None
        volume, what = cluster_of(clusters, cluster)
    n_voxels = int(volume.sum())
    if n_voxels == 0:
        raise NeuroreviewError(f"{what} has no voxels on the MNI152 2 mm grid")
    return volume, f"{what} ({', '.join([*details, f'{n_voxels:,} voxels'])})"


def named_region(name: str) -> tuple[NDArray[np.bool_], str, list[str]]:
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


def cluster_of(folder: Path, cluster: int | None) -> tuple[NDArray[np.bool_], str]:
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
            f"{path}: say which cluster with --cluster N (this image has {ids_text(ids)})"
        )
    if cluster not in ids:
        raise NeuroreviewError(f"{path}: no cluster {cluster} (this image has {ids_text(ids)})")
    return volume == cluster, f"cluster {cluster} of {folder}"


def ids_text(ids: list[int]) -> str:
    if not ids:
        return "no clusters"
    shown = ", ".join(map(str, ids[:20])) + (" ..." if len(ids) > 20 else "")
    return f"cluster{'s' if len(ids) > 1 else ''} {shown}"


def write_topics(out: Path, table: pd.DataFrame) -> Path:
    """The whole ranked topic table as TSV at ``out`` (six significant digits, as the run's)."""
    from neuroreview.io.atomic import atomic_write_text

    text = table.to_csv(sep="\t", index=False, float_format="%.6g", lineterminator="\n")
    return atomic_write_text(out, text)
