"""The contrasts a review asks of its coordinate experiments, and whether each can be run.

Two are asked of every corpus: do increases and decreases converge in different places, and do
depressed patients differ from healthy volunteers? A contrast is run only when both of its groups
reach the minimum number of experiments a single ALE needs (:data:`MIN_EXPERIMENTS`, Eickhoff et
al., 2016); otherwise it is reported as too few, with each group's count, never run on what a
reader would take for evidence. The groups are built as the main analysis builds experiments (one
per subject group and direction), so an experiment never sits in both groups of a contrast; the
increases and decreases of one study are still the same people, which the report says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from neuroreview.model import Direction, Population, Study
from neuroreview.synthesis.questions import MIN_EXPERIMENTS


@dataclass(frozen=True)
class ContrastGroup:
    """Which analyses make one side: a direction, populations, or both (None: any)."""

    name: str
    direction: Direction | None = None
    populations: frozenset[Population] | None = None

    def take(self, study: Study) -> Study | None:
        """The study with only this side's analyses, or None when it has none."""
        if self.populations is not None and study.population not in self.populations:
            return None
        analyses = [
            a for a in study.analyses if self.direction is None or a.direction is self.direction
        ]
        return study.model_copy(update={"analyses": analyses}) if analyses else None


@dataclass(frozen=True)
class Contrast:
    key: str
    title: str
    first: ContrastGroup
    second: ContrastGroup


INCREASES_VS_DECREASES = Contrast(
    "increases_vs_decreases",
    "Increases vs decreases",
    ContrastGroup("increases", direction=Direction.INCREASE),
    ContrastGroup("decreases", direction=Direction.DECREASE),
)
PATIENTS_VS_HEALTHY = Contrast(
    "patients_vs_healthy",
    "Depressed patients vs healthy volunteers",
    ContrastGroup(
        "patients", populations=frozenset({Population.MDD, Population.TRD, Population.BIPOLAR})
    ),
    ContrastGroup("healthy volunteers", populations=frozenset({Population.HEALTHY})),
)
#: The contrasts ``neuroreview run`` asks, in the order the report shows them.
REVIEW_CONTRASTS = (INCREASES_VS_DECREASES, PATIENTS_VS_HEALTHY)


@dataclass
class ContrastSplit:
    contrast: Contrast
    studies: tuple[list[Study], list[Study]]
    experiments: tuple[list[str], list[str]]
    minimum: int

    @property
    def enough(self) -> bool:
        return all(len(e) >= self.minimum for e in self.experiments)

    @property
    def status(self) -> str:
        if self.enough:
            return "run"
        counts = ", ".join(
            f"{group.name} {len(e)}"
            for group, e in zip(
                (self.contrast.first, self.contrast.second), self.experiments, strict=True
            )
        )
        return f"too few ({counts}; each group needs {self.minimum})"

    def to_dict(self) -> dict[str, Any]:
        first, second = self.contrast.first, self.contrast.second
        return {
            "key": self.contrast.key,
            "title": self.contrast.title,
            "groups": [first.name, second.name],
            "k": [len(e) for e in self.experiments],
            "minimum": self.minimum,
            "status": self.status,
            "experiments": [list(e) for e in self.experiments],
        }


def split(
    contrast: Contrast, coordinate_studies: Sequence[Study], minimum: int = MIN_EXPERIMENTS
) -> ContrastSplit:
    """Each side's studies and experiments, from the studies the main analysis used."""
    from neuroreview.cbma.experiments import build_experiments

    if minimum < 2:
        raise ValueError(
            f"a permutation test needs at least 2 experiments per group, got {minimum}"
        )
    sides_studies, sides_experiments = [], []
    for group in (contrast.first, contrast.second):
        chosen = [s for s in (group.take(study) for study in coordinate_studies) if s is not None]
        experiments = list(build_experiments(chosen)[0].experiment_ids) if chosen else []
        sides_studies.append(chosen)
        sides_experiments.append(experiments)
    return ContrastSplit(
        contrast,
        (sides_studies[0], sides_studies[1]),
        (sides_experiments[0], sides_experiments[1]),
        minimum,
    )
