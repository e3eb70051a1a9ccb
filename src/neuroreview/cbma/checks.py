"""Coordinates checked before they are meta-analysed.

A misread table puts peaks where no brain is (73, 73, 50 in one automatically extracted table
of the ketamine corpus); NiMARE keeps such foci, and so they count as experiments whose kernels
fall outside the mask. A focus farther from the brain mask than any kernel reaches adds nothing
to any voxel yet still counts as an experiment in ALE and MKDA, so it is flagged. A table most
of whose foci are flagged is flagged as misparsed: its remaining foci are suspect too. A peak
repeated within one subject group (the same coordinates in several tables, or twice in one)
is flagged as a duplicate: pooling counts it once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

import numpy as np
from numpy.typing import NDArray

from neuroreview.model import Space, Study
from neuroreview.space import MNI152_2MM, convert
from neuroreview.space.grid import brain_mask_array

__all__ = [
    "KERNEL_REACH_MM",
    "MISPARSED_SHARE",
    "CoordinateFlag",
    "FlagReason",
    "check_coordinates",
    "without_flagged",
    "distance_to_mask_mm",
]

#: How far a kernel reaches: the MKDA sphere radius (10 mm), and about one FWHM of an ALE
#: kernel for the sample sizes of imaging studies (Eickhoff et al. 2009). Beyond it a focus
#: contributes nothing inside the brain.
KERNEL_REACH_MM = 10.0
#: A table with more than this share of its foci outside the brain mask (at any distance) is
#: flagged as misparsed.
MISPARSED_SHARE = 0.5


class FlagReason(StrEnum):
    OUTSIDE_MASK = "outside the brain mask beyond kernel reach"
    MISPARSED_TABLE = "table misparsed: most of its foci lie outside the brain"
    DUPLICATE = "duplicate of an earlier peak of the same subject group"


@dataclass(frozen=True)
class CoordinateFlag:
    """One flagged focus: where it is (as reported and in MNI), and why."""

    study_id: str
    analysis_id: str
    focus_index: int
    x: float
    y: float
    z: float
    space: str
    reason: FlagReason
    distance_mm: float

    @property
    def leaves(self) -> bool:
        """Whether the focus must leave a meta-analysis (a duplicate is pooled, not removed)."""
        return self.reason is not FlagReason.DUPLICATE


@cache
def _distance_map() -> NDArray[np.float64]:
    """Distance in mm from every voxel of the 2 mm grid to the nearest in-mask voxel."""
    from scipy import ndimage

    mask = brain_mask_array()
    spacing = MNI152_2MM.voxel_size
    return ndimage.distance_transform_edt(~mask, sampling=spacing)


def distance_to_mask_mm(xyz_mni: NDArray[np.float64]) -> NDArray[np.float64]:
    """Distance of each MNI point to the brain mask (0 inside); points off the grid measure to
    the nearest grid voxel plus their distance from the grid."""
    points = np.atleast_2d(np.asarray(xyz_mni, dtype=np.float64))
    distances = _distance_map()
    ijk_float = MNI152_2MM.world_to_voxel_float(points)
    shape = np.array(distances.shape)
    clipped = np.clip(np.rint(ijk_float), 0, shape - 1).astype(np.intp)
    beyond_grid = np.linalg.norm((ijk_float - clipped) * np.array(MNI152_2MM.voxel_size), axis=1)
    inside = distances[clipped[:, 0], clipped[:, 1], clipped[:, 2]]
    return inside + np.where(np.any(np.rint(ijk_float) != clipped, axis=1), beyond_grid, 0.0)


def check_coordinates(
    studies: Iterable[Study], reach_mm: float = KERNEL_REACH_MM
) -> list[CoordinateFlag]:
    """Every focus that is outside the brain beyond ``reach_mm``, in a misparsed table, or a
    repeat within its subject group. Analyses in an unknown space cannot be placed and are not
    checked (they never enter a meta-analysis)."""
    flags: list[CoordinateFlag] = []
    for study in studies:
        seen: dict[str, list[NDArray[np.float64]]] = {}
        for analysis in study.analyses:
            if analysis.space is Space.UNKNOWN or not analysis.foci:
                continue
            reported = np.array([[f.x, f.y, f.z] for f in analysis.foci], dtype=np.float64)
            mni = reported
            if analysis.space is not Space.MNI:
                mni = convert(reported, analysis.space, Space.MNI)
            distance = distance_to_mask_mm(mni)
            outside = distance > reach_mm
            misparsed = (distance > 0).mean() > MISPARSED_SHARE
            group = seen.setdefault(analysis.subject_group or "", [])
            for i, point in enumerate(mni):
                if outside[i]:
                    reason = FlagReason.OUTSIDE_MASK
                elif misparsed:
                    reason = FlagReason.MISPARSED_TABLE
                elif any(np.allclose(point, other) for other in group):
                    reason = FlagReason.DUPLICATE
                else:
                    group.append(point)
                    continue
                x, y, z = (float(v) for v in reported[i])
                flags.append(
                    CoordinateFlag(
                        study.id,
                        analysis.id,
                        i,
                        x,
                        y,
                        z,
                        analysis.space.value,
                        reason,
                        round(float(distance[i]), 1),
                    )
                )
    return flags


def without_flagged(
    studies: Iterable[Study], flags: Iterable[CoordinateFlag]
) -> tuple[list[Study], list[Study]]:
    """The studies without their flagged foci (an analysis left empty goes too), and the
    studies left with no analysis at all."""
    drop: dict[tuple[str, str], set[int]] = {}
    for flag in flags:
        drop.setdefault((flag.study_id, flag.analysis_id), set()).add(flag.focus_index)
    kept, emptied = [], []
    for study in studies:
        analyses = []
        for analysis in study.analyses:
            gone = drop.get((study.id, analysis.id), set())
            foci = [f for i, f in enumerate(analysis.foci) if i not in gone]
            if foci:
                analyses.append(analysis.model_copy(update={"foci": foci}))
        (kept if analyses else emptied).append(study.model_copy(update={"analyses": analyses}))
    return kept, emptied
