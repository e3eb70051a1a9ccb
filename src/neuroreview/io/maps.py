"""Writing meta-analysis results: NIfTI maps and cluster tables.

Kept out of the statistical core (``cbma`` never touches files) and written the way every
output here is: to a temporary file beside the target, then renamed, so a failure never leaves
half a map or half a table behind.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import nibabel as nib
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from neuroreview.errors import InputError
from neuroreview.io.atomic import atomic_path, atomic_write_text
from neuroreview.io.layout import map_file
from neuroreview.space import MNI152_2MM, Grid


class NamedMaps(Protocol):
    """A result holding named maps it can give as NIfTI images (``cbma.results.CBMAResult``);
    ``io`` names the shape it writes instead of importing the statistical core."""

    maps: Mapping[str, object]

    def to_nifti(self, name: str) -> nib.Nifti1Image: ...


def write_maps(result: NamedMaps, directory: Path, names: list[str] | None = None) -> list[Path]:
    """Write ``<name>.nii.gz`` for each map (all by default) into ``directory``.

    Compressed with a zero timestamp so the same result always gives the same bytes: a rerun
    with the same seed can be checked with a checksum.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names if names is not None else sorted(result.maps):
        target = directory / map_file(name)
        with atomic_path(target) as temporary:
            temporary.write_bytes(nifti_gz(result.to_nifti(name)))
        written.append(target)
    return written


def nifti_gz(image: nib.Nifti1Image) -> bytes:
    """The image as ``.nii.gz`` bytes with a zero timestamp: the same image, the same bytes."""
    return gzip.compress(image.to_bytes(), compresslevel=6, mtime=0)


def cluster_volume_image(volume: NDArray[np.integer], grid: Grid) -> nib.Nifti1Image:
    """Cluster ids (int16, 0 outside clusters) as a NIfTI image on ``grid``."""
    image = nib.Nifti1Image(np.asarray(volume, dtype=np.int16), grid.affine.copy())
    image.header.set_xyzt_units("mm")
    return image


def write_cluster_volume(volume: NDArray[np.integer], grid: Grid, path: Path) -> Path:
    """Write cluster ids (int16, 0 outside clusters) as a NIfTI image on ``grid``."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(nifti_gz(cluster_volume_image(volume, grid)))
    return path


def read_cluster_volume(path: Path, grid: Grid = MNI152_2MM) -> NDArray[np.int16]:
    """Cluster ids written by :func:`write_cluster_volume`; refuses an image on another grid."""
    import nibabel

    try:
        image = nibabel.load(path)
    except (OSError, nibabel.filebasedimages.ImageFileError) as error:
        raise InputError(f"cannot read the cluster image: {error}", source=path) from error
    if image.shape != grid.shape or not np.allclose(image.affine, grid.affine):
        raise InputError(
            f"the cluster image is {image.shape} with another affine; expected the MNI152 2 mm "
            f"grid {grid.shape}",
            source=path,
        )
    data = np.asarray(image.dataobj)
    if not np.array_equal(data, np.round(data)) or data.min() < 0:
        raise InputError(
            "the cluster image must hold non-negative integer cluster ids", source=path
        )
    return data.astype(np.int16)


def write_cluster_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a cluster table as TSV (empty cells for missing values).

    Floats keep six significant digits: coordinates are whole millimetres on the grid and more
    digits of a z or p would suggest a precision the Monte Carlo estimate does not have.
    """
    return atomic_write_text(path, cluster_table_tsv(table))


def cluster_table_tsv(table: pd.DataFrame) -> str:
    """The cluster table's text (see :func:`write_cluster_table`)."""
    return table.to_csv(sep="\t", index=False, na_rep="", float_format="%.6g", lineterminator="\n")


def read_analysis_clusters(folder: Path) -> tuple[pd.DataFrame, NDArray[np.int16]]:
    """The cluster table and cluster-id image that ``neuroreview analyze`` wrote into ``folder``."""
    from neuroreview.io.layout import CLUSTER_IMAGE, CLUSTER_TABLE

    table_path, image_path = folder / CLUSTER_TABLE, folder / CLUSTER_IMAGE
    for path in (table_path, image_path):
        if not path.is_file():
            raise InputError(
                "not found; give a folder written by `neuroreview analyze`", source=path
            )
    try:
        table = pd.read_csv(
            table_path, sep="\t", keep_default_na=False, na_values={"size_voxels": [""]}
        )
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read the cluster table: {error}", source=table_path) from error
    missing = {"cluster_id", "subpeak", "x", "y", "z"} - set(table.columns)
    if missing:
        raise InputError(f"the cluster table lacks columns {sorted(missing)}", source=table_path)
    table["subpeak"] = table["subpeak"].astype(str).str.lower() == "true"
    return table, read_cluster_volume(image_path)
