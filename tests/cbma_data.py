"""Datasets the CBMA tests share: NiMARE's pain example and seeded synthetic sets.

Each dataset exists twice: as our :class:`CoordinateSet` and as a NiMARE ``Dataset`` built from
the very same studies (through our NiMARE JSON writer), so every comparison feeds both tools
identical foci, sample sizes and spaces.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuroreview.cbma.inputs import CoordinateSet
from neuroreview.io.nimare_json import read_nimare_json, to_nimare_dataset_dict
from neuroreview.model import Analysis, Focus, Space, Study
from neuroreview.space import MNI152_2MM, brain_mask_array


def nimare_resources() -> Path:
    import nimare

    return Path(nimare.__file__).parent / "resources"


@dataclass(frozen=True)
class CBMACase:
    name: str
    studies: tuple[Study, ...]

    @functools.cached_property
    def coordinates(self) -> CoordinateSet:
        return CoordinateSet.from_studies(self.studies)

    def nimare_dataset(self):
        """A fresh NiMARE Dataset on the MNI152 2 mm grid (Talairach converted by NiMARE)."""
        from nimare.dataset import Dataset

        return Dataset(to_nimare_dataset_dict(self.studies), target="mni152_2mm")


@functools.cache
def pain_case() -> CBMACase:
    """NiMARE's 21-experiment pain example (267 foci)."""
    studies = read_nimare_json(nimare_resources() / "nidm_pain_dset.json")
    return CBMACase("pain", tuple(studies))


def _random_in_mask(rng: np.random.Generator, n: int) -> np.ndarray:
    """Foci at mask voxel centres plus up to +-1.5 mm jitter, so rounding is exercised."""
    voxels = np.argwhere(brain_mask_array())
    picks = voxels[rng.integers(0, len(voxels), size=n)]
    return MNI152_2MM.voxel_to_world(picks) + rng.uniform(-1.5, 1.5, size=(n, 3))


def synthetic_case(
    name: str,
    seed: int,
    n_experiments: int,
    foci_range: tuple[int, int],
    size_range: tuple[int, int],
    space: Space = Space.MNI,
    clustered: bool = True,
) -> CBMACase:
    """Seeded experiments; with ``clustered`` a third of the foci sit near a shared centre.

    Clustering gives real peaks (so thresholds and clusters are not empty); Talairach cases are
    written in Talairach so both tools must convert them.
    """
    rng = np.random.default_rng(seed)
    centre = np.array([4.0, 30.0, -8.0])  # near the subgenual cingulate
    studies = []
    for e in range(n_experiments):
        n_foci = int(rng.integers(foci_range[0], foci_range[1] + 1))
        xyz = _random_in_mask(rng, n_foci)
        if clustered:
            near = rng.random(n_foci) < 0.34
            xyz[near] = centre + rng.normal(0.0, 4.0, size=(int(near.sum()), 3))
        if space is Space.TAL:
            from neuroreview.space import mni_to_tal

            xyz = mni_to_tal(xyz)
        n_subjects = int(rng.integers(size_range[0], size_range[1] + 1))
        foci = [Focus(x=float(x), y=float(y), z=float(z)) for x, y, z in np.round(xyz, 2)]
        analysis = Analysis(id="c1", n_subjects=n_subjects, space=space, foci=foci)
        studies.append(Study(id=f"{name}{e:03d}", analyses=[analysis]))
    return CBMACase(name, tuple(studies))


@functools.cache
def synthetic_cases() -> tuple[CBMACase, ...]:
    """Three sets that differ in size, foci per experiment, sample sizes and space."""
    return (
        synthetic_case("small", 11, 8, (1, 4), (6, 12)),
        synthetic_case("medium", 22, 30, (3, 15), (10, 40)),
        synthetic_case("talairach", 33, 18, (2, 10), (12, 25), space=Space.TAL),
    )
