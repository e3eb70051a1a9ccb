"""Controlled vocabularies of the data model.

Each enum accepts the spellings researchers actually write ("Talairach", "fMRI-rest", "healthy
volunteers") through :meth:`LabelledEnum.parse`, so readers normalise once, here, and never keep
their own synonym tables.
"""

from __future__ import annotations

import re
from enum import StrEnum


def _key(text: str) -> str:
    """Case, spaces and punctuation ignored ("fMRI-rest" == "fmri_rest"); a bare symbol such as
    "+" or "-" is kept, since it is the whole of what the user wrote and must not become ""."""
    letters = re.sub(r"[^a-z0-9]+", "", text.lower())
    return letters or text.strip()


class LabelledEnum(StrEnum):
    """A StrEnum whose members can be found by value, name or a listed synonym, ignoring case."""

    @classmethod
    def synonyms(cls) -> dict[str, str]:
        return {}

    @classmethod
    def parse(cls, text: object) -> LabelledEnum:
        if isinstance(text, cls):
            return text
        if not isinstance(text, str):
            raise ValueError(f"expected text for {cls.__name__}, got {type(text).__name__}")
        key = _key(text)
        table = {_key(m.value): m for m in cls} | {_key(m.name): m for m in cls}
        table |= {_key(s): cls(v) for s, v in cls.synonyms().items()}
        if key in table:
            return table[key]
        choices = ", ".join(m.value for m in cls)
        raise ValueError(f"unknown {cls.__name__.lower()} {text!r} (expected one of: {choices})")


class Space(LabelledEnum):
    MNI = "MNI"
    TAL = "TAL"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def synonyms(cls) -> dict[str, str]:
        return {
            "talairach": "TAL",
            "tal": "TAL",
            "icbm": "MNI",
            "mni152": "MNI",
            "mni152_2mm": "MNI",
            "ale_2mm": "MNI",
            "unknown": "UNKNOWN",
        }


class Modality(LabelledEnum):
    FMRI_TASK = "fmri_task"
    FMRI_REST = "fmri_rest"
    PHMRI = "phmri"
    ASL = "asl"
    PET = "pet"
    SPECT = "spect"
    MRS = "mrs"
    MEG = "meg"
    EEG = "eeg"
    STRUCTURAL_MRI = "structural_mri"
    DTI = "dti"
    OTHER = "other"
    UNKNOWN = "unknown"

    @classmethod
    def synonyms(cls) -> dict[str, str]:
        return {
            "fmri task": "fmri_task",
            "task fmri": "fmri_task",
            "fmri": "fmri_task",
            "resting state fmri": "fmri_rest",
            "rsfmri": "fmri_rest",
            "resting state": "fmri_rest",
            "pharmacological mri": "phmri",
            "structural": "structural_mri",
            "smri": "structural_mri",
            "vbm": "structural_mri",
            "spectroscopy": "mrs",
            "1h-mrs": "mrs",
        }


class Population(LabelledEnum):
    HEALTHY = "healthy"
    MDD = "mdd"
    TRD = "trd"
    BIPOLAR = "bipolar"
    SCHIZOPHRENIA = "schizophrenia"
    CHRONIC_USERS = "chronic_users"
    OTHER = "other"
    UNKNOWN = "unknown"

    @classmethod
    def synonyms(cls) -> dict[str, str]:
        return {
            "healthy volunteers": "healthy",
            "healthy controls": "healthy",
            "hc": "healthy",
            "major depressive disorder": "mdd",
            "depression": "mdd",
            "treatment resistant depression": "trd",
            "bipolar depression": "bipolar",
            "bd": "bipolar",
            "chronic users": "chronic_users",
            "ketamine users": "chronic_users",
            "recreational users": "chronic_users",
        }

    @property
    def is_patient(self) -> bool:
        return self in {
            Population.MDD,
            Population.TRD,
            Population.BIPOLAR,
            Population.SCHIZOPHRENIA,
        }


class Direction(LabelledEnum):
    INCREASE = "increase"
    DECREASE = "decrease"
    NO_CHANGE = "no_change"
    UNKNOWN = "unknown"

    @classmethod
    def synonyms(cls) -> dict[str, str]:
        return {
            "up": "increase",
            "+": "increase",
            "increased": "increase",
            "activation": "increase",
            "down": "decrease",
            "-": "decrease",
            "decreased": "decrease",
            "deactivation": "decrease",
            "none": "no_change",
            "no change": "no_change",
            "null": "no_change",
            "ns": "no_change",
        }


class Timing(LabelledEnum):
    """Scan time relative to the dose: before it, during it, just after it, hours, days or weeks later.

    "Just after" (the first hour or so after an infusion ends) is its own value because reviews
    group it with "during" as the acute effect, while scans hours to days later show the
    sustained (antidepressant) effect. "Before" is for studies scanned only before the dose
    (baseline predictors of response): their findings are not effects of the drug, and saying
    so is more than "unknown". A study scanned before and after takes its post-dose time.
    """

    BEFORE = "before"
    DURING = "during"
    JUST_AFTER = "just_after"
    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"
    UNKNOWN = "unknown"

    @classmethod
    def synonyms(cls) -> dict[str, str]:
        return {
            "baseline": "before",
            "pre-dose": "before",
            "before dosing": "before",
            "pretreatment": "before",
            "during infusion": "during",
            "acute": "during",
            "post infusion": "just_after",
            "immediately after": "just_after",
            "just after dosing": "just_after",
            "just after": "just_after",
        }


class Exposure(LabelledEnum):
    SINGLE_DOSE = "single_dose"
    REPEATED_COURSE = "repeated_course"
    CHRONIC_USE = "chronic_use"
    UNKNOWN = "unknown"


class Measure(LabelledEnum):
    BOLD = "bold"
    CONNECTIVITY = "connectivity"
    CBF = "cbf"
    GLUCOSE_METABOLISM = "glucose_metabolism"
    RECEPTOR_BINDING = "receptor_binding"
    GLUTAMATE = "glutamate"
    GLUTAMINE = "glutamine"
    GLX = "glx"
    GABA = "gaba"
    VOLUME = "volume"
    THICKNESS = "thickness"
    POWER = "power"
    OTHER = "other"

    @classmethod
    def synonyms(cls) -> dict[str, str]:
        return {
            "fdg": "glucose_metabolism",
            "functional connectivity": "connectivity",
            "fc": "connectivity",
        }

    @property
    def family(self) -> MeasureFamily:
        return _FAMILY_OF_MEASURE.get(self, MeasureFamily.OTHER)


class MeasureFamily(LabelledEnum):
    """What kind of claim a finding makes. "More connectivity of the sgACC" and "more sgACC
    activity" are different claims, so votes and pooled effects never mix families."""

    ACTIVITY = "activity"
    CONNECTIVITY = "connectivity"
    NEUROCHEMISTRY = "neurochemistry"
    STRUCTURE = "structure"
    OTHER = "other"


_FAMILY_OF_MEASURE = {
    Measure.BOLD: MeasureFamily.ACTIVITY,
    Measure.CBF: MeasureFamily.ACTIVITY,
    Measure.GLUCOSE_METABOLISM: MeasureFamily.ACTIVITY,
    Measure.POWER: MeasureFamily.ACTIVITY,
    Measure.CONNECTIVITY: MeasureFamily.CONNECTIVITY,
    Measure.RECEPTOR_BINDING: MeasureFamily.NEUROCHEMISTRY,
    Measure.GLUTAMATE: MeasureFamily.NEUROCHEMISTRY,
    Measure.GLUTAMINE: MeasureFamily.NEUROCHEMISTRY,
    Measure.GLX: MeasureFamily.NEUROCHEMISTRY,
    Measure.GABA: MeasureFamily.NEUROCHEMISTRY,
    Measure.VOLUME: MeasureFamily.STRUCTURE,
    Measure.THICKNESS: MeasureFamily.STRUCTURE,
}


class FindingKind(LabelledEnum):
    """What comparison a result is. Only a drug effect (drug vs placebo, after vs before the
    drug) says what the drug does: a brain-symptom correlation, a difference between chronic
    users and controls or a baseline predictor of response does not, so they are listed, never
    voted or pooled as drug effects."""

    DRUG_EFFECT = "drug_effect"
    GROUP_DIFFERENCE = "group_difference"
    CORRELATION = "correlation"
    BASELINE_PREDICTOR = "baseline_predictor"
    OTHER = "other"

    @classmethod
    def synonyms(cls) -> dict[str, str]:
        return {
            "drug": "drug_effect",
            "effect": "drug_effect",
            "group": "group_difference",
            "association": "correlation",
            "predictor": "baseline_predictor",
        }


class StatKind(LabelledEnum):
    Z = "z"
    T = "t"
    F = "f"
    P = "p"
    OTHER = "other"


class EffectKind(LabelledEnum):
    HEDGES_G = "hedges_g"
    COHEN_D = "cohen_d"
    R = "r"

    @classmethod
    def synonyms(cls) -> dict[str, str]:
        return {"g": "hedges_g", "d": "cohen_d", "smd": "hedges_g"}


class Stage(LabelledEnum):
    """PRISMA 2020 stages a record passes through."""

    IDENTIFICATION = "identification"
    SCREENING = "screening"
    RETRIEVAL = "retrieval"
    ELIGIBILITY = "eligibility"
    INCLUDED = "included"


class Verdict(LabelledEnum):
    INCLUDE = "include"
    EXCLUDE = "exclude"
    MAYBE = "maybe"


class DecisionRole(LabelledEnum):
    """A reviewer's own verdict, the decision that settles reviewers' disagreement, or the
    withdrawal (undo) of a reviewer's own decision.

    Decisions are never deleted, so that every change keeps who made it and when: undoing one
    appends a ``withdrawal`` that copies the stage, verdict and reason it withdraws.
    """

    REVIEW = "review"
    RESOLUTION = "resolution"
    WITHDRAWAL = "withdrawal"

    @classmethod
    def synonyms(cls) -> dict[str, str]:
        return {
            "third": "resolution",
            "consensus": "resolution",
            "arbiter": "resolution",
            "undo": "withdrawal",
        }


class Origin(LabelledEnum):
    """Where a record was identified. The first two are PRISMA 2020's "databases and
    registers" arm; the rest its "other methods" arm (websites, organisations, citation
    searching), whose reports go straight to retrieval without title/abstract screening."""

    DATABASE = "database"
    REGISTER = "register"
    WEBSITE = "website"
    ORGANISATION = "organisation"
    CITATION = "citation"
    OTHER = "other"

    @classmethod
    def synonyms(cls) -> dict[str, str]:
        return {
            "databases": "database",
            "registry": "register",
            "registers": "register",
            "trial register": "register",
            "websites": "website",
            "organization": "organisation",
            "organisations": "organisation",
            "citation searching": "citation",
            "citations": "citation",
            "snowballing": "citation",
            "other methods": "other",
        }

    @property
    def other_methods(self) -> bool:
        return self not in (Origin.DATABASE, Origin.REGISTER)
