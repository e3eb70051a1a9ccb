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
    MAX_ABS_COORDINATE_MM,
    Analysis,
    EffectSize,
    Focus,
    RegionFinding,
    Study,
)
from neuroreview.model.validation import describe_validation_error, validate_model

__all__ = [
    "MAX_ABS_COORDINATE_MM",
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
    "describe_validation_error",
    "validate_model",
]
