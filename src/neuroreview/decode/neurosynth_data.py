"""The Neurosynth studies the region decoder needs, shipped with the package.

Region decoding asks which studies report a focus inside a region and which topics those studies
load on, so at run time it needs, per study, where its foci fall and its LDA50 topic weights;
nothing else from the half-million-row database. ``data/neurosynth/studies.npz`` holds exactly
that, built once from the Neurosynth v0.7 files by ``tools/build_neurosynth_studies.py``, so the
package never reads ``../shared`` or the network when it decodes.

What a study's foci become: Talairach foci are brought to MNI with the pooled Lancaster
transform (the one NiMARE uses); foci in ``UNKNOWN`` space are taken as MNI, as NiMARE's
Neurosynth import does; each focus is snapped to its nearest voxel of the MNI152 2 mm grid with
NiMARE's rounding; and a study keeps the sorted set of its distinct voxels. Duplicates and the
order of foci never change whether a study has a focus in a region, and MKDA uses them no
differently, so nothing a decoder needs is lost. Foci that fall outside the grid cannot lie in
any region and are dropped (counted in the file).

Topic membership at the 0.05 weight threshold is stored exactly, as bits computed from the
float64 weights, because float16 weights would move studies lying within 3e-5 of the threshold
across it. The float16 weights are kept for other thresholds and for reading.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from neuroreview.decode._archive import npz_bytes

if TYPE_CHECKING:
    from neuroreview.decode._neurosynth_topics import NeurosynthTables

__all__ = [
    "DEFAULT_THRESHOLD",
    "SPACES",
    "NeurosynthStudies",
    "build_studies",
    "load_studies",
    "read_studies",
    "studies_bytes",
]

_RESOURCE = ("data", "neurosynth", "studies.npz")

#: Topic weight at or above which a study counts as being about a topic (as for the topic maps).
DEFAULT_THRESHOLD = 0.05
#: Codes of the ``space`` array, in order: what each study's metadata said.
SPACES = ("MNI", "TAL", "UNKNOWN")

_FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class NeurosynthStudies:
    """Per-study voxels and topic weights of the Neurosynth database.

    ``voxels[voxel_offsets[s]:voxel_offsets[s + 1]]`` are study s's distinct flat voxel indices
    (C order) on ``grid_shape``; ``member[s, t]`` says whether study s has weight >= ``threshold``
    on topic t, computed from the exact weights; ``weights`` are float16 copies of those weights.
    """

    pmids: NDArray[np.int64]
    space: NDArray[np.uint8]
    n_foci: NDArray[np.int32]
    voxel_offsets: NDArray[np.int64]
    voxels: NDArray[np.int32]
    topic_ids: tuple[str, ...]
    weights: NDArray[np.float16]
    member: NDArray[np.bool_]
    threshold: float
    grid_shape: tuple[int, int, int]
    n_foci_outside_grid: int

    @property
    def n_studies(self) -> int:
        return int(self.pmids.shape[0])

    @property
    def n_topics(self) -> int:
        return len(self.topic_ids)

    def study_of_voxel_entry(self) -> NDArray[np.intp]:
        """The study each entry of ``voxels`` belongs to (the inverse of the offsets)."""
        counts = np.diff(self.voxel_offsets)
        return np.repeat(np.arange(self.n_studies, dtype=np.intp), counts)

    def studies_in_mask(self, mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """Which studies report at least one focus inside ``mask`` (a boolean grid volume).

        This is NiMARE's ``Dataset.get_studies_by_mask`` (nearest voxel, any focus counts), on
        the stored voxels rather than on coordinates.
        """
        volume = np.asarray(mask)
        if volume.shape != self.grid_shape:
            raise ValueError(f"mask has shape {volume.shape}, the grid is {self.grid_shape}")
        hit = volume.reshape(-1)[self.voxels].astype(bool)
        owners = self.study_of_voxel_entry()[hit]
        return np.bincount(owners, minlength=self.n_studies) > 0

    def membership(self, threshold: float | None = None) -> NDArray[np.bool_]:
        """Study-by-topic membership: exact at the stored threshold, from float16 weights otherwise."""
        if threshold is None or threshold == self.threshold:
            return self.member
        return self.weights.astype(np.float64) >= threshold

    def subset(self, rows: NDArray[np.intp] | NDArray[np.bool_]) -> NeurosynthStudies:
        """The studies at ``rows`` (positions or a boolean mask), in this set's order."""
        keep = np.asarray(rows)
        keep = np.flatnonzero(keep) if keep.dtype == np.bool_ else np.sort(keep.astype(np.intp))
        counts = np.diff(self.voxel_offsets)[keep]
        entries = np.concatenate(
            [np.arange(self.voxel_offsets[s], self.voxel_offsets[s + 1]) for s in keep] or [[]]
        ).astype(np.intp)
        return NeurosynthStudies(
            pmids=self.pmids[keep],
            space=self.space[keep],
            n_foci=self.n_foci[keep],
            voxel_offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            voxels=self.voxels[entries],
            topic_ids=self.topic_ids,
            weights=self.weights[keep],
            member=self.member[keep],
            threshold=self.threshold,
            grid_shape=self.grid_shape,
            n_foci_outside_grid=self.n_foci_outside_grid,
        )


# --- building -------------------------------------------------------------------------------


def build_studies(
    database: NeurosynthTables,
    weights: NDArray[np.floating],
    topic_ids: list[str] | tuple[str, ...],
    threshold: float = DEFAULT_THRESHOLD,
) -> NeurosynthStudies:
    """The compact per-study arrays from the database and its (n_studies, n_topics) weights.

    ``weights`` rows follow the metadata rows, as the Neurosynth feature files do.
    """
    from neuroreview.space import DEFAULT_METHOD, MNI152_2MM, tal_to_mni

    metadata, coordinates = database.metadata, database.coordinates
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (len(metadata), len(topic_ids)):
        raise ValueError(
            f"weights have shape {weights.shape}; expected ({len(metadata)}, {len(topic_ids)})"
        )
    study_index = _study_of_focus(metadata["id"], coordinates["id"])
    spaces = metadata["space"].to_numpy(dtype=object)
    space_code = np.array([SPACES.index(s) for s in spaces], dtype=np.uint8)
    xyz = coordinates[["x", "y", "z"]].to_numpy(dtype=np.float64, copy=True)
    focus_space = space_code[study_index]
    tal = focus_space == SPACES.index("TAL")
    xyz[tal] = tal_to_mni(xyz[tal], method=DEFAULT_METHOD)
    grid = MNI152_2MM
    ijk = grid.world_to_voxel(xyz)
    inside = grid.contains(ijk)
    flat = np.ravel_multi_index(tuple(ijk[inside].T), grid.shape).astype(np.int64)
    owner = study_index[inside]
    # Sort by (study, voxel) and keep each pair once: a study's distinct voxels, ascending.
    order = np.lexsort((flat, owner))
    owner, flat = owner[order], flat[order]
    first = np.ones(flat.shape, dtype=bool)
    first[1:] = (owner[1:] != owner[:-1]) | (flat[1:] != flat[:-1])
    owner, flat = owner[first], flat[first]
    counts = np.bincount(owner, minlength=len(metadata))
    return NeurosynthStudies(
        pmids=metadata["id"].astype("int64").to_numpy(),
        space=space_code,
        n_foci=np.bincount(study_index, minlength=len(metadata)).astype(np.int32),
        voxel_offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        voxels=flat.astype(np.int32),
        topic_ids=tuple(topic_ids),
        weights=weights.astype(np.float16),
        member=weights >= threshold,
        threshold=float(threshold),
        grid_shape=grid.shape,
        n_foci_outside_grid=int((~inside).sum()),
    )


def _study_of_focus(ids, focus_ids) -> NDArray[np.intp]:
    """Position of each focus's study id among the metadata ids; every id must be found."""
    import pandas as pd

    positions = pd.Index(ids).get_indexer(focus_ids)
    if (positions < 0).any():
        raise ValueError("a focus names a study that is not in the metadata")
    return positions.astype(np.intp)


# --- the file -------------------------------------------------------------------------------


def studies_bytes(studies: NeurosynthStudies) -> bytes:
    """The ``.npz`` bytes of ``studies``: deterministic (fixed zip timestamps, fixed order).

    Each study's voxels are stored as differences from the previous one (the first from 0):
    sorted voxels give small steps, which compress far better than raw indices. The archive is
    written like the topic maps' (:func:`neuroreview.decode._archive.npz_bytes`: LZMA members,
    fixed timestamps), a third smaller than deflate.
    """
    starts = studies.voxel_offsets[:-1]
    steps = np.diff(studies.voxels.astype(np.int64), prepend=0)
    nonempty = starts[starts < studies.voxels.shape[0]]
    steps[nonempty] = studies.voxels[nonempty]
    arrays = {
        "format_version": np.array(_FORMAT_VERSION, dtype=np.int16),
        "pmid": studies.pmids.astype(np.int32),
        "space": studies.space.astype(np.uint8),
        "n_foci": studies.n_foci.astype(np.int16),
        "n_voxels": np.diff(studies.voxel_offsets).astype(np.int16),
        "voxel_steps": steps.astype(np.int32),
        "topic_ids": np.array(studies.topic_ids, dtype=np.str_),
        "weights": studies.weights.astype(np.float16),
        "member_bits": np.packbits(studies.member, axis=1),
        "threshold": np.array(studies.threshold, dtype=np.float64),
        "grid_shape": np.array(studies.grid_shape, dtype=np.int16),
        "n_foci_outside_grid": np.array(studies.n_foci_outside_grid, dtype=np.int32),
    }
    # C order for every member: study-major weights compress to half the size of column-major.
    return npz_bytes({name: np.array(array, order="C") for name, array in arrays.items()})


def read_studies(data: bytes) -> NeurosynthStudies:
    """Studies from the bytes :func:`studies_bytes` wrote."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    if int(arrays["format_version"]) != _FORMAT_VERSION:
        raise ValueError(f"studies.npz has format {int(arrays['format_version'])}, expected 1")
    n_voxels = arrays["n_voxels"].astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(n_voxels)])
    steps = arrays["voxel_steps"].astype(np.int64)
    # Undo the differences: a running sum, minus the running sum before each study began.
    running = np.cumsum(steps)
    starts = offsets[:-1][n_voxels > 0]
    before = np.zeros(n_voxels.shape[0], dtype=np.int64)
    before[n_voxels > 0] = running[starts] - steps[starts]
    voxels = running - np.repeat(before, n_voxels)
    n_topics = len(arrays["topic_ids"])
    return NeurosynthStudies(
        pmids=arrays["pmid"].astype(np.int64),
        space=arrays["space"],
        n_foci=arrays["n_foci"].astype(np.int32),
        voxel_offsets=offsets,
        voxels=voxels.astype(np.int32),
        topic_ids=tuple(str(t) for t in arrays["topic_ids"]),
        weights=arrays["weights"],
        member=np.unpackbits(arrays["member_bits"], axis=1, count=n_topics).astype(bool),
        threshold=float(arrays["threshold"]),
        grid_shape=tuple(int(n) for n in arrays["grid_shape"]),  # type: ignore[arg-type]
        n_foci_outside_grid=int(arrays["n_foci_outside_grid"]),
    )


@functools.cache
def load_studies() -> NeurosynthStudies:
    """The shipped studies, read once (through importlib.resources, so zipped installs work)."""
    resource = resources.files("neuroreview").joinpath(*_RESOURCE)
    if not resource.is_file():
        raise FileNotFoundError(
            "the Neurosynth studies file is missing from this install "
            "(neuroreview/data/neurosynth/studies.npz); rebuild it with "
            "tools/build_neurosynth_studies.py"
        )
    return read_studies(resource.read_bytes())
