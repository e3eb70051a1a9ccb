"""Which studies answer the review question, and which of them can enter a meta-analysis.

A study is left out of the coordinate meta-analyses for the first of: no coordinates, an exposure
not chosen, no analysis that is a drug effect, every analysis in an unknown space, every focus
failing the coordinate check; each is counted with its reason, never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neuroreview.model import Exposure, FindingKind, Space, Study

#: Why a study is not in the coordinate meta-analyses, in the order the reasons are checked.
NO_COORDINATES, EXPOSURE, UNKNOWN_SPACE = "no coordinates", "exposure", "unknown space"
NOT_DRUG_EFFECT, FAILED_CHECK = "not a drug effect", "failed the coordinate check"
#: The review's question: what the drug given as a drug does. Chronic (recreational) use is a
#: different question and joins only when asked.
DEFAULT_EXPOSURES = (Exposure.SINGLE_DOSE, Exposure.REPEATED_COURSE)


@dataclass
class Selection:
    """The studies of the review question and the coordinate studies among them.

    ``reviewed`` holds every study whose exposure was chosen (the region synthesis uses them
    all); ``coordinate`` those of them with foci in a known space, each keeping only such
    analyses; ``left_out`` says, for every study not in ``coordinate``, why.
    """

    exposures: tuple[Exposure, ...]
    reviewed: list[Study]
    coordinate: list[Study]
    left_out: list[dict[str, str]]
    n_analyses_unknown_space: int
    n_analyses_not_drug_effect: int = 0
    coordinate_flags: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        reasons = {
            reason: 0
            for reason in (NO_COORDINATES, EXPOSURE, NOT_DRUG_EFFECT, UNKNOWN_SPACE, FAILED_CHECK)
        }
        for entry in self.left_out:
            reasons[entry["reason"]] += 1
        return {
            "exposures": [e.value for e in self.exposures],
            "n_reviewed_studies": len(self.reviewed),
            "n_coordinate_studies": len(self.coordinate),
            "n_experiments": sum(len(s.analyses) for s in self.coordinate),
            "n_foci": sum(s.n_foci for s in self.coordinate),
            "n_left_out": len(self.left_out),
            "left_out_by_reason": reasons,
            "n_analyses_unknown_space": self.n_analyses_unknown_space,
            "n_analyses_not_drug_effect": self.n_analyses_not_drug_effect,
            "coordinate_flags": self.coordinate_flags,
            "left_out": self.left_out,
        }


def select_studies(studies: list[Study], exposures: tuple[Exposure, ...]) -> Selection:
    """Pick the studies of the chosen exposures, and those of them with usable coordinates.

    A study is left out of the meta-analyses for the first of: no coordinates, an exposure not
    chosen, no analysis that is a drug effect (a correlation or a users-vs-controls contrast says
    nothing about what the drug does), every analysis in an unknown space (guessing MNI or
    Talairach would shift foci by up to a centimetre), every focus failing the coordinate check.
    A kept study's other analyses and flagged foci are dropped and counted.
    """
    from neuroreview.cbma.checks import check_coordinates, without_flagged

    reviewed, coordinate, left_out, unknown_analyses, other_kinds = [], [], [], 0, 0
    for study in studies:
        if study.exposure in exposures:
            reviewed.append(study)
        if not study.analyses:
            left_out.append(_left_out(study, NO_COORDINATES))
            continue
        if study.exposure not in exposures:
            left_out.append(_left_out(study, EXPOSURE, study.exposure.value))
            continue
        effects = [a for a in study.analyses if a.kind is FindingKind.DRUG_EFFECT]
        other_kinds += len(study.analyses) - len(effects)
        if not effects:
            kinds = sorted({a.kind.value for a in study.analyses})
            left_out.append(_left_out(study, NOT_DRUG_EFFECT, ", ".join(kinds)))
            continue
        known = [a for a in effects if a.space is not Space.UNKNOWN]
        unknown_analyses += len(effects) - len(known)
        if not known:
            left_out.append(_left_out(study, UNKNOWN_SPACE))
        elif len(known) < len(study.analyses):
            coordinate.append(study.model_copy(update={"analyses": known}))
        else:
            coordinate.append(study)
    flags = [f for f in check_coordinates(coordinate) if f.leaves]
    if flags:
        coordinate, emptied = without_flagged(coordinate, flags)
        left_out += [_left_out(s, FAILED_CHECK) for s in emptied]
    flag_records = [
        {
            "study_id": f.study_id,
            "analysis_id": f.analysis_id,
            "xyz": [f.x, f.y, f.z],
            "reason": f.reason.value,
        }
        for f in flags
    ]
    return Selection(
        exposures, reviewed, coordinate, left_out, unknown_analyses, other_kinds, flag_records
    )


def _left_out(study: Study, reason: str, detail: str = "") -> dict[str, str]:
    return {"study_id": study.id, "reason": reason, "detail": detail}
