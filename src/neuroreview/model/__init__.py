"""The data model every stage shares: pydantic v2 models and their controlled vocabularies."""

from neuroreview.model.enums import (
    Direction,
    EffectKind,
    Exposure,
    Measure,
    Modality,
    Population,
    Space,
    Stage,
    StatKind,
    Timing,
    Verdict,
)
from neuroreview.model.record import Decision, Record
from neuroreview.model.study import (
    COORDINATE_LIMITS_MM,
    MAX_ABS_COORDINATE_MM,
    MNI152_FIELD_OF_VIEW_MM,
    Analysis,
    EffectSize,
    Focus,
    RegionFinding,
    Study,
    coordinate_problem,
    first_repeated,
)
from neuroreview.model.validation import describe_validation_error, validate_model

__all__ = [
    "COORDINATE_LIMITS_MM",
    "MAX_ABS_COORDINATE_MM",
    "MNI152_FIELD_OF_VIEW_MM",
    "Analysis",
    "Decision",
    "Direction",
    "EffectKind",
    "EffectSize",
    "Exposure",
    "Focus",
    "Measure",
    "Modality",
    "Population",
    "Record",
    "RegionFinding",
    "Space",
    "Stage",
    "StatKind",
    "Study",
    "Timing",
    "Verdict",
    "coordinate_problem",
    "describe_validation_error",
    "first_repeated",
    "validate_model",
]
