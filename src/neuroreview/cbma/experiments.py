"""Which foci form one experiment: one analysis, or one subject group and direction.

CBMA assumes its experiments are independent samples. Two tables of one paper computed on the
same 20 patients are not: counted as two experiments they let one sample's peaks converge with
themselves. Turkeltaub et al. (2012, Hum Brain Mapp 33:1-13) showed the bias and pooled the foci
of one subject group into one experiment; Müller et al.'s guidelines (2018, Neurosci Biobehav Rev
84:151-161) make that the rule. So by default the foci of one study's subject group and one
direction are one experiment, and a peak repeated within it (the same coordinates in two tables)
is counted once. Increases and decreases stay apart: they are different claims and never share
a meta-analysis. ``unit="analysis"`` keeps NiMARE's and GingerALE's one-experiment-per-contrast.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from neuroreview.cbma.conventions import Convention
from neuroreview.cbma.inputs import CBMAInputError, CoordinateSet
from neuroreview.model import Space, Study
from neuroreview.space import DEFAULT_METHOD, TransformMethod, convert

__all__ = ["ExperimentUnit", "MergedExperiment", "Pooling", "build_experiments"]


class ExperimentUnit(StrEnum):
    ANALYSIS = "analysis"
    GROUP = "group"


#: Coordinates closer than this (mm, after any Talairach conversion) are one repeated peak.
SAME_PEAK_MM = 1e-6


@dataclass(frozen=True)
class MergedExperiment:
    """An experiment made of several analyses of one subject group, and what pooling removed."""

    experiment_id: str
    study_id: str
    subject_group: str | None
    direction: str
    analysis_ids: tuple[str, ...]
    n_foci_reported: int
    n_repeated_removed: int


@dataclass(frozen=True)
class Pooling:
    """How analyses became experiments: the rule, and every merge and removed repeat."""

    unit: ExperimentUnit
    merged: tuple[MergedExperiment, ...] = field(default_factory=tuple)
    n_analyses: int = 0

    @property
    def n_repeated_removed(self) -> int:
        return sum(m.n_repeated_removed for m in self.merged)

    def rule(self) -> str:
        """The sentence ``analysis.json`` and the report state."""
        if self.unit is ExperimentUnit.ANALYSIS:
            return (
                "One experiment per analysis (contrast), as NiMARE and GingerALE count them; "
                "analyses of the same subjects are counted as independent."
            )
        return (
            "One experiment per subject group and direction (Turkeltaub et al. 2012; Müller et "
            "al. 2018): the foci of all analyses of one study's subject group reported in the "
            "same direction are pooled, and a peak repeated across them is counted once."
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "unit": self.unit.value,
            "rule": self.rule(),
            "n_analyses": self.n_analyses,
            "n_repeated_foci_removed": self.n_repeated_removed,
            "merged": [
                {
                    "experiment": m.experiment_id,
                    "analyses": list(m.analysis_ids),
                    "n_foci_reported": m.n_foci_reported,
                    "n_repeated_removed": m.n_repeated_removed,
                }
                for m in self.merged
                if len(m.analysis_ids) > 1 or m.n_repeated_removed
            ],
        }


def _mni_points(
    study: Study, analysis, method: TransformMethod | str, convention: Convention | None
) -> NDArray[np.float64]:
    if analysis.space is Space.UNKNOWN:
        raise CBMAInputError(
            f"study {study.id!r}, analysis {analysis.id!r}: the coordinate space is unknown; "
            "record MNI or Talairach before meta-analysing it"
        )
    points = np.array([[f.x, f.y, f.z] for f in analysis.foci], dtype=np.float64)
    if convention is not None:
        return convention.to_mni(points, analysis.space)
    if analysis.space is not Space.MNI:
        points = convert(points, analysis.space, Space.MNI, method=method)
    return points


def _unique_rows(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """The points in first-seen order with exact repeats removed."""
    keep: list[int] = []
    for i, point in enumerate(points):
        if not any(np.all(np.abs(points[j] - point) <= SAME_PEAK_MM) for j in keep):
            keep.append(i)
    return points[keep]


def build_experiments(
    studies: Iterable[Study],
    unit: ExperimentUnit | str = ExperimentUnit.GROUP,
    *,
    method: TransformMethod | str = DEFAULT_METHOD,
    convention: Convention | None = None,
) -> tuple[CoordinateSet, Pooling]:
    """The experiments of ``studies`` under ``unit``, with an account of every merge.

    Talairach foci are converted with ``method``, or as ``convention`` says (its transform,
    and rounding to whole mm for pyALE's).

    A group's experiment keeps the id ``study-analysis`` when it holds one analysis (NiMARE's
    id), else ``study-a1+a2``; its sample size is the largest its analyses report (one group,
    one N; a smaller N marks a subset, which is still the same people).
    """
    unit = ExperimentUnit(unit)
    ids: list[str] = []
    sizes: list[float] = []
    blocks: list[NDArray[np.float64]] = []
    merged: list[MergedExperiment] = []
    n_analyses = 0
    for study in studies:
        groups: dict[tuple[str, ...], list] = {}
        for analysis in study.analyses:
            n_analyses += 1
            if unit is ExperimentUnit.ANALYSIS:
                key: tuple[str, ...] = (analysis.id,)
            else:
                key = (analysis.subject_group or "", analysis.direction.value)
            groups.setdefault(key, []).append(analysis)
        for members in groups.values():
            points = np.vstack([_mni_points(study, a, method, convention) for a in members])
            unique = points if unit is ExperimentUnit.ANALYSIS else _unique_rows(points)
            experiment = f"{study.id}-{'+'.join(a.id for a in members)}"
            known = [n for a in members if (n := a.n_subjects or study.n_subjects)]
            ids.append(experiment)
            sizes.append(float(max(known)) if known else np.nan)
            blocks.append(unique)
            merged.append(
                MergedExperiment(
                    experiment,
                    study.id,
                    members[0].subject_group,
                    members[0].direction.value,
                    tuple(a.id for a in members),
                    len(points),
                    len(points) - len(unique),
                )
            )
    if not ids:
        raise CBMAInputError("the dataset is empty: no study has an analysis with foci")
    index = np.repeat(np.arange(len(ids)), [len(b) for b in blocks])
    coordinates = CoordinateSet(tuple(ids), np.array(sizes), np.vstack(blocks), index)
    return coordinates, Pooling(unit, tuple(merged), n_analyses)
