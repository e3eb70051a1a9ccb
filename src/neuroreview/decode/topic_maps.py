"""MKDA chi-square association maps of the 50 Neurosynth LDA topics, shipped with the package.

For each topic, the studies whose LDA50 weight is at least 0.05 (Neurosynth's threshold; NiMARE's
``Dataset.get_studies_by_label`` also keeps weights ``>=`` the threshold) are compared with all
other studies by the MKDA chi-square test (Wager et al. 2007; Yarkoni et al. 2011), exactly as
:class:`~neuroreview.cbma.mkda.MKDAChi2` compares two sets: a study is active at a voxel if any
of its foci lies within 10 mm, and the association z is the signed root of the 2 x 2 chi-square
(activation x topic).

What is shipped is not the z maps but what they are computed from: per voxel, the number of
selected studies that are active (one row per topic) and the number of all studies that are
active, as uint16. Every map of the test (association and uniformity z, p, the probabilities) is
an exact function of those counts and the group sizes, so the maps are recomputed in float64 at
load time (about half a second) with no rounding loss, and integer counts compress to 8 MB where
float16 z maps take 17 to 21 MB and lose up to 0.016 in z.

Neurosynth database v0.7 (https://neurosynth.org, Yarkoni et al. 2011), Open Database License
(ODbL 1.0): the shipped counts are a derived database and are released under the same licence.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

from neuroreview.cbma.base import AnalysisSpace
from neuroreview.cbma.chi2 import one_way_chi2, two_way_chi2
from neuroreview.decode._archive import array_sha256
from neuroreview.decode._neurosynth_topics import TopicInputs

LOG = logging.getLogger(__name__)

#: Neurosynth's topic membership threshold on LDA weights (selected if weight >= threshold).
TOPIC_THRESHOLD = 0.05
#: MKDA sphere radius in mm (NiMARE's MKDAKernel default, Neurosynth's 10 mm).
TOPIC_RADIUS_MM = 10.0
ATTRIBUTION = (
    "Neurosynth database v0.7 (https://neurosynth.org, Yarkoni et al. 2011), "
    "Open Database License (ODbL 1.0)"
)

_RESOURCE = ("data", "neurosynth")
ARCHIVE_NAME = "topic_maps.npz"
METADATA_NAME = "topic_maps.json"
#: Archive members, in the order they are written.
_MEMBERS = (
    "topic_ids",
    "threshold",
    "r_mm",
    "n_selected",
    "n_studies",
    "active_selected",
    "active_all",
)


@dataclass(frozen=True)
class TopicMaps:
    """Association z of each topic over the analysis mask (one row per topic).

    ``z`` is NiMARE's ``z_desc-association``: positive where studies of the topic activate more
    often than the other studies.
    """

    z: np.ndarray  # float32, (n_topics, n_voxels)
    topic_ids: tuple[str, ...]
    space: AnalysisSpace
    n_selected: np.ndarray  # int, studies per topic at the threshold
    threshold: float


@dataclass(frozen=True, eq=False)
class TopicCounts:
    """Active-study counts per voxel: what every topic map is computed from.

    ``active_selected[t, v]`` is the number of topic t's studies active at mask voxel v,
    ``active_all[v]`` the number of all ``n_studies`` studies active there.
    """

    topic_ids: tuple[str, ...]
    active_selected: NDArray[np.integer]
    active_all: NDArray[np.integer]
    n_selected: NDArray[np.int64]
    n_studies: int
    threshold: float
    r_mm: float
    space: AnalysisSpace

    @property
    def n_topics(self) -> int:
        return len(self.topic_ids)

    def association_z(self, topic: int) -> NDArray[np.float64]:
        """Signed root of the two-way chi-square of one topic, as ``MKDAChi2`` computes it."""
        n1 = int(self.n_selected[topic])
        n2 = self.n_studies - n1
        selected = self.active_selected[topic].astype(np.float64)
        unselected = self.active_all.astype(np.float64) - selected
        chi2 = two_way_chi2(selected, unselected, n1, n2)
        return np.sqrt(chi2) * np.sign(selected / n1 - unselected / n2)

    def uniformity_z(self, topic: int) -> NDArray[np.float64]:
        """Signed root of the one-way chi-square of the topic's studies against uniform."""
        selected = self.active_selected[topic].astype(np.float64)
        chi2 = one_way_chi2(selected, int(self.n_selected[topic]))
        return np.sqrt(chi2) * np.sign(selected - selected.mean())

    def maps(self) -> TopicMaps:
        """Association z of every topic as float32 (computed in float64, then rounded)."""
        z = np.empty((self.n_topics, self.space.n_voxels), dtype=np.float32)
        for topic in range(self.n_topics):
            z[topic] = self.association_z(topic)
        z.setflags(write=False)
        return TopicMaps(
            z=z,
            topic_ids=self.topic_ids,
            space=self.space,
            n_selected=self.n_selected,
            threshold=self.threshold,
        )

    def arrays(self) -> dict[str, NDArray]:
        """The archive members: counts as uint16 (at most 14,371 studies fit)."""
        if self.n_studies > np.iinfo(np.uint16).max:
            raise ValueError(f"{self.n_studies} studies do not fit the uint16 counts")
        return {
            "topic_ids": np.array(self.topic_ids, dtype=str),
            "threshold": np.array(self.threshold, dtype=np.float64),
            "r_mm": np.array(self.r_mm, dtype=np.float64),
            "n_selected": np.asarray(self.n_selected, dtype=np.int64),
            "n_studies": np.array(self.n_studies, dtype=np.int64),
            "active_selected": np.asarray(self.active_selected, dtype=np.uint16),
            "active_all": np.asarray(self.active_all, dtype=np.uint16),
        }

    def hashes(self) -> dict[str, str]:
        """sha256 of each member's values (see :func:`array_sha256`)."""
        return {name: array_sha256(array) for name, array in self.arrays().items()}


def topic_counts(
    coordinates,
    weights: NDArray[np.float64],
    topic_ids: tuple[str, ...],
    *,
    threshold: float = TOPIC_THRESHOLD,
    r_mm: float = TOPIC_RADIUS_MM,
    space: AnalysisSpace | None = None,
) -> TopicCounts:
    """Count active studies per voxel for every topic at once (see ``decode._counts``).

    ``weights`` is (n_studies, n_topics) with rows in ``coordinates``' experiment order; a
    study is in a topic when its weight is ``>= threshold``. A topic with no study, or with
    every study, cannot be compared with the rest and is refused by name.
    """
    from neuroreview.decode._counts import active_counts

    space = space if space is not None else AnalysisSpace.default("brain")
    membership = np.asarray(weights) >= threshold
    n_selected = membership.sum(axis=0).astype(np.int64)
    n_studies = coordinates.n_experiments
    degenerate = [
        topic_ids[t] for t in np.flatnonzero((n_selected == 0) | (n_selected == n_studies))
    ]
    if degenerate:
        raise ValueError(
            f"topic(s) {', '.join(degenerate)} select no study or every study at weight >= "
            f"{threshold:g}; the chi-square test needs both groups"
        )
    counts = active_counts(coordinates, membership, space, r_mm)
    return TopicCounts(
        topic_ids=tuple(topic_ids),
        active_selected=counts[:-1],
        active_all=counts[-1],
        n_selected=n_selected,
        n_studies=n_studies,
        threshold=float(threshold),
        r_mm=float(r_mm),
        space=space,
    )


@dataclass(frozen=True, eq=False)
class TopicBuild:
    """A build's counts and the facts about its inputs that go into the metadata file."""

    counts: TopicCounts
    inputs: dict[str, Any]


def build_topic_maps(
    inputs: TopicInputs,
    *,
    threshold: float = TOPIC_THRESHOLD,
    r_mm: float = TOPIC_RADIUS_MM,
) -> TopicBuild:
    """Build the topic counts from the joined Neurosynth v0.7 inputs
    (:func:`neuroreview.decode._neurosynth_topics.topic_inputs` of what
    ``io.neurosynth.read_topic_files`` reads). Talairach studies are converted to MNI,
    UNKNOWN-space studies kept as MNI (see ``decode._neurosynth_topics``).
    """
    counts = topic_counts(
        inputs.coordinates, inputs.weights, inputs.topic_ids, threshold=threshold, r_mm=r_mm
    )
    grid, mask = counts.space.grid, counts.space.mask
    ijk = inputs.coordinates.ijk(grid)
    in_grid = np.asarray(grid.contains(ijk), dtype=bool)
    in_mask = in_grid.copy()
    in_mask[in_grid] = mask[tuple(ijk[in_grid].T)]
    facts = {
        "n_studies": inputs.coordinates.n_experiments,
        "n_foci": inputs.coordinates.n_foci,
        "studies_by_space": inputs.studies_by_space,
        "foci_by_space": inputs.foci_by_space,
        # Kept, as in NiMARE: their spheres count where they reach the mask.
        "foci_outside_mask": int(np.sum(~in_mask)),
        "foci_outside_grid": int(np.sum(~in_grid)),
    }
    return TopicBuild(counts=counts, inputs=facts)


def metadata_document(build: TopicBuild, archive_sha256: str) -> dict[str, Any]:
    """The JSON that travels with the archive: settings, input facts, hashes, attribution.

    Nothing in it depends on when or where it was built, so a rebuild reproduces it exactly.
    """
    counts = build.counts
    unknown = build.inputs["studies_by_space"].get("UNKNOWN", 0)
    return {
        "description": (
            "Per-voxel counts of Neurosynth studies active within r mm (MKDA), per LDA50 "
            "topic's selected studies (weight >= threshold) and over all studies; the MKDA "
            "chi-square association and uniformity maps are computed from them at load time."
        ),
        "attribution": ATTRIBUTION,
        "license": "ODbL-1.0 (https://opendatacommons.org/licenses/odbl/1.0/)",
        "settings": {
            "threshold": counts.threshold,
            "selection": "weight >= threshold selected, all other studies unselected",
            "r_mm": counts.r_mm,
            "unit": "study (PMID); all of a study's tables pooled, as in Neurosynth and NiMARE",
            "mask": "MNI152 2 mm brain mask (neuroreview.cbma.base.AnalysisSpace.default)",
            "n_voxels": counts.space.n_voxels,
            "spaces": (
                "TAL converted to MNI (pooled Lancaster, NiMARE tal2mni); MNI kept; UNKNOWN "
                f"({unknown} studies) kept as reported, i.e. treated as MNI, as NiMARE does"
            ),
        },
        "inputs": build.inputs,
        "topics": {
            topic: int(n) for topic, n in zip(counts.topic_ids, counts.n_selected, strict=True)
        },
        "array_sha256": counts.hashes(),
        "archive": ARCHIVE_NAME,
        "archive_sha256": archive_sha256,
    }


def read_topic_counts(data: bytes, *, space: AnalysisSpace | None = None) -> TopicCounts:
    """Counts from archive bytes (as :func:`write_topic_maps` writes them), shapes checked."""
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        members = {name: archive[name] for name in _MEMBERS}
    space = space if space is not None else AnalysisSpace.default("brain")
    selected, everyone = members["active_selected"], members["active_all"]
    topics = tuple(str(t) for t in members["topic_ids"])
    if selected.shape != (len(topics), space.n_voxels) or everyone.shape != (space.n_voxels,):
        raise ValueError(
            f"topic counts have shape {selected.shape}; expected {len(topics)} topics x "
            f"{space.n_voxels} mask voxels"
        )
    for array in (selected, everyone, members["n_selected"]):
        array.setflags(write=False)
    return TopicCounts(
        topic_ids=topics,
        active_selected=selected,
        active_all=everyone,
        n_selected=members["n_selected"],
        n_studies=int(members["n_studies"]),
        threshold=float(members["threshold"]),
        r_mm=float(members["r_mm"]),
        space=space,
    )


def _resource(name: str) -> bytes:
    path = resources.files("neuroreview").joinpath(*_RESOURCE, name)
    if not path.is_file():
        raise FileNotFoundError(
            f"the Neurosynth topic maps ({name}) are missing from this install; a source "
            "checkout rebuilds them with `python tools/build_topic_maps.py`"
        )
    return path.read_bytes()


@functools.cache
def shipped_metadata() -> dict[str, Any]:
    """The shipped ``topic_maps.json``: settings, input counts, hashes, attribution."""
    return json.loads(_resource(METADATA_NAME).decode("utf-8"))


@functools.cache
def load_topic_counts() -> TopicCounts:
    """The shipped counts (read once per process; arrays are read-only).

    The archive's sha256 is checked against ``topic_maps.json`` first, so a stale or damaged
    install fails loudly instead of decoding against the wrong maps.
    """
    data = _resource(ARCHIVE_NAME)
    recorded = shipped_metadata()["archive_sha256"]
    if hashlib.sha256(data).hexdigest() != recorded:
        raise ValueError(
            f"{ARCHIVE_NAME} does not match the sha256 recorded in {METADATA_NAME} "
            f"({recorded}); rebuild both with `python tools/build_topic_maps.py`"
        )
    return read_topic_counts(data)


@functools.cache
def load_topic_maps() -> TopicMaps:
    """The 50 shipped topic association maps (computed from the counts once per process)."""
    return load_topic_counts().maps()
