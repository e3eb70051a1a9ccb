"""The Neurosynth v0.7 inputs of the topic maps: every study's foci in MNI and its LDA50 weights.

Spaces follow NiMARE's ``convert_neurosynth_to_dataset`` with a MNI target, which is also what
Neurosynth did: Talairach studies are converted with the pooled Lancaster transform
(``tal2mni``), MNI studies are kept, and studies whose space Neurosynth recorded as ``UNKNOWN``
(1,832 of 14,371 in v0.7, 53,878 foci) are kept as reported, that is treated as MNI (NiMARE logs
"Not applying transforms to coordinates in unrecognized space 'UNKNOWN'"). Dropping them would
make our maps differ from every published Neurosynth/NiMARE topic map; the count is recorded in
the shipped metadata so the choice stays visible.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from neuroreview.cbma.inputs import CoordinateSet
from neuroreview.space import tal_to_mni

LOG = logging.getLogger(__name__)


class NeurosynthTables(Protocol):
    """What the join needs of a Neurosynth database (``io.neurosynth.NeurosynthDatabase``):
    the core reads no files, so it takes the tables, not the paths."""

    metadata: pd.DataFrame
    coordinates: pd.DataFrame

    def xyz(self) -> NDArray[np.float64]: ...


@dataclass(frozen=True, eq=False)
class TopicInputs:
    """One experiment per study (PMID), foci in MNI mm, and the (study x topic) LDA50 weights.

    Rows of ``weights`` follow ``coordinates.experiment_ids`` (the metadata order).
    """

    coordinates: CoordinateSet
    weights: NDArray[np.float64]
    topic_ids: tuple[str, ...]
    studies_by_space: dict[str, int]
    foci_by_space: dict[str, int]


def topic_inputs(
    database: NeurosynthTables, weights: NDArray[np.float64], topic_ids: tuple[str, ...]
) -> TopicInputs:
    """Join the coordinates, metadata and LDA50 weights (as ``io.neurosynth.read_topic_files``
    reads them); Talairach converted to MNI."""
    study_ids = database.metadata["id"].to_numpy(dtype=str)
    study_spaces = database.metadata["space"].to_numpy(dtype=str)
    position = {pmid: i for i, pmid in enumerate(study_ids)}
    study_of_focus = database.coordinates["id"].map(position).to_numpy(dtype=np.intp)
    if np.any(np.diff(study_of_focus) < 0):
        order = np.argsort(study_of_focus, kind="stable")
    else:
        order = np.arange(study_of_focus.size)
    xyz = np.array(database.xyz()[order], dtype=np.float64)
    study_of_focus = study_of_focus[order]
    focus_space = study_spaces[study_of_focus]
    talairach = focus_space == "TAL"
    xyz[talairach] = tal_to_mni(xyz[talairach])
    unknown = int(np.sum(study_spaces == "UNKNOWN"))
    if unknown:
        LOG.info(
            "%d Neurosynth studies (%d foci) report no coordinate space; they are kept as "
            "reported and treated as MNI, as Neurosynth and NiMARE do",
            unknown,
            int(np.sum(focus_space == "UNKNOWN")),
        )
    if weights.shape != (study_ids.size, len(topic_ids)):
        raise ValueError(
            f"LDA50 weights have shape {weights.shape}; expected {study_ids.size} studies x "
            f"{len(topic_ids)} topics"
        )
    coordinates = CoordinateSet(
        experiment_ids=tuple(study_ids.tolist()),
        sample_sizes=np.full(study_ids.size, np.nan),
        xyz=xyz,
        experiment_index=study_of_focus,
    )
    spaces = ("MNI", "TAL", "UNKNOWN")
    return TopicInputs(
        coordinates=coordinates,
        weights=weights,
        topic_ids=topic_ids,
        studies_by_space={s: int(np.sum(study_spaces == s)) for s in spaces},
        foci_by_space={s: int(np.sum(focus_space == s)) for s in spaces},
    )
