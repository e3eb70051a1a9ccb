"""The review's questions, asked one at a time: which experiments answer each, and are they enough.

Ionescu et al. (2018) asked two different things of the ketamine literature: what a single dose
does to the healthy brain while it acts (the psychotomimetic state), and what treatment does to a
depressed patient's brain afterwards (the antidepressant window). Pooling the two, or pooling
increases with decreases, answers neither. Each question here names its populations, exposures
and scan times; its experiments are split by direction, and a coordinate meta-analysis with fewer
experiments than :data:`MIN_EXPERIMENTS` is not run but reported as "too few (k)" with its
experiments listed, because below that an ALE has little power and one experiment can make a
cluster on its own (Eickhoff et al., 2016, NeuroImage 137:70-85; Müller et al., 2018, Neurosci
Biobehav Rev 84:151-161).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from neuroreview.model import Direction, Exposure, FindingKind, Population, Study, Timing

#: Fewer experiments than this and a coordinate meta-analysis is not run (Eickhoff et al., 2016).
MIN_EXPERIMENTS = 17
#: The directions a question is split by; an analysis of unknown direction answers neither.
SPLIT_DIRECTIONS = (Direction.INCREASE, Direction.DECREASE)


@dataclass(frozen=True)
class Question:
    """Who was scanned, after what exposure, and when: the studies that can answer it."""

    key: str
    title: str
    populations: frozenset[Population]
    exposures: frozenset[Exposure]
    timings: frozenset[Timing]

    def why_not(self, study: Study) -> str | None:
        """Why ``study`` cannot answer this question (its first mismatch), or None."""
        if study.population not in self.populations:
            return f"population {study.population.value}"
        if study.exposure not in self.exposures:
            return f"exposure {study.exposure.value}"
        if study.timing not in self.timings:
            return f"timing {study.timing.value}"
        return None


HEALTHY_ACUTE = Question(
    key="healthy_acute",
    title="Healthy volunteers, during or just after a single dose",
    populations=frozenset({Population.HEALTHY}),
    exposures=frozenset({Exposure.SINGLE_DOSE}),
    timings=frozenset({Timing.DURING, Timing.JUST_AFTER}),
)
DEPRESSED_AFTER = Question(
    key="depressed_after",
    title="Depressed patients (MDD, TRD, bipolar depression) after treatment",
    populations=frozenset({Population.MDD, Population.TRD, Population.BIPOLAR}),
    exposures=frozenset({Exposure.SINGLE_DOSE, Exposure.REPEATED_COURSE}),
    timings=frozenset({Timing.JUST_AFTER, Timing.HOURS, Timing.DAYS, Timing.WEEKS}),
)
#: The questions ``neuroreview run`` asks, in the order the report shows them.
REVIEW_QUESTIONS = (HEALTHY_ACUTE, DEPRESSED_AFTER)


@dataclass
class QuestionPart:
    """One question and one direction: its studies (each keeping only the analyses of that
    direction) and the experiments they make once a subject group's analyses are pooled."""

    question: Question
    direction: Direction
    studies: list[Study]
    experiments: list[str]
    minimum: int

    @property
    def key(self) -> str:
        return f"{self.question.key}-{self.direction.value}"

    @property
    def k(self) -> int:
        return len(self.experiments)

    @property
    def enough(self) -> bool:
        return self.k >= self.minimum

    @property
    def status(self) -> str:
        return "run" if self.enough else f"too few ({self.k})"


@dataclass
class QuestionAnswer:
    """A question's parts, its drug-effect region findings, and every study it left aside."""

    question: Question
    parts: list[QuestionPart]
    region_studies: list[Study]
    left_out: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.question.key,
            "title": self.question.title,
            "parts": [
                {
                    "key": part.key,
                    "direction": part.direction.value,
                    "k": part.k,
                    "minimum": part.minimum,
                    "status": part.status,
                    "experiments": part.experiments,
                    "study_ids": [s.id for s in part.studies],
                }
                for part in self.parts
            ],
            "region_study_ids": [s.id for s in self.region_studies],
            "left_out": self.left_out,
        }


def ask(
    question: Question,
    studies: Sequence[Study],
    coordinate_studies: Sequence[Study],
    minimum: int = MIN_EXPERIMENTS,
) -> QuestionAnswer:
    """Split ``question``'s evidence by direction.

    ``studies`` are the reviewed studies (their region findings answer too);
    ``coordinate_studies`` the ones whose analyses passed selection and the coordinate check.
    Analyses of unknown direction and studies of another population, exposure or scan time are
    listed in ``left_out`` with the reason, never silently dropped.
    """
    from neuroreview.cbma.experiments import build_experiments

    if minimum < 2:
        raise ValueError(f"a meta-analysis needs at least 2 experiments, got minimum {minimum}")
    left_out = []
    for study in studies:
        reason = question.why_not(study)
        if reason is not None:
            left_out.append({"study_id": study.id, "reason": reason})
    answering = [s for s in coordinate_studies if question.why_not(s) is None]
    for study in answering:
        for analysis in study.analyses:
            if analysis.direction not in SPLIT_DIRECTIONS:
                left_out.append(
                    {
                        "study_id": study.id,
                        "analysis_id": analysis.id,
                        "reason": f"direction {analysis.direction.value}",
                    }
                )
    parts = []
    for direction in SPLIT_DIRECTIONS:
        chosen = []
        for study in answering:
            analyses = [a for a in study.analyses if a.direction is direction]
            if analyses:
                chosen.append(study.model_copy(update={"analyses": analyses}))
        experiments = list(build_experiments(chosen)[0].experiment_ids) if chosen else []
        parts.append(QuestionPart(question, direction, chosen, experiments, minimum))
    region_studies = [
        s
        for s in studies
        if question.why_not(s) is None
        and any(f.kind is FindingKind.DRUG_EFFECT for f in s.region_findings)
    ]
    return QuestionAnswer(question, parts, region_studies, left_out)
