"""The extracted corpus: studies, their coordinate analyses and their region-level findings."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from neuroreview.model.enums import (
    Direction,
    EffectKind,
    Exposure,
    FindingKind,
    Measure,
    Modality,
    Population,
    Space,
    StatKind,
    Timing,
)

#: Stereotactic coordinates beyond this many mm from the origin lie outside any adult brain: such a
#: value is a typing or unit error, not a peak ...
MAX_ABS_COORDINATE_MM = 100.0
#: ... unless it still lies inside the MNI152 template's field of view (the 2 mm grid spans
#: x -90..90, y -126..90, z -72..108 mm), where real occipital peaks reach y = -106 (NiMARE's pain
#: example). So each axis accepts the wider of the two ranges.
MNI152_FIELD_OF_VIEW_MM = {"x": (-90.0, 90.0), "y": (-126.0, 90.0), "z": (-72.0, 108.0)}
COORDINATE_LIMITS_MM = {
    axis: (min(-MAX_ABS_COORDINATE_MM, low), max(MAX_ABS_COORDINATE_MM, high))
    for axis, (low, high) in MNI152_FIELD_OF_VIEW_MM.items()
}


def coordinate_problem(axis: str, value: float) -> str | None:
    """Why ``value`` cannot be a focus coordinate on ``axis``, or None when it can.

    Shared by the model and by vectorised readers, so the rule and its wording live in one place.
    """
    if not math.isfinite(value):
        return "coordinate is not a finite number"
    low, high = COORDINATE_LIMITS_MM[axis]
    if low <= value <= high:
        return None
    return (
        f"coordinate {value:g} mm lies beyond +-{MAX_ABS_COORDINATE_MM:g} mm and outside the "
        f"MNI152 field of view ({axis} from {low:g} to {high:g} mm)"
    )


NonEmptyStr = Annotated[str, Field(min_length=1)]


def first_repeated(ids: Iterable[str]) -> str | None:
    """The first id seen twice, or None: every writer and importer refuses repeated ids, since
    each format (and the store) keys studies by id and would silently merge or drop one."""
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            return item
        seen.add(item)
    return None


def _parse_enum(enum_cls):
    def parse(value: object):
        if value is None or value == "":
            return None
        return enum_cls.parse(value)

    return parse


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_assignment=True)


class Focus(_Model):
    """One reported peak, in the space its analysis names."""

    x: float
    y: float
    z: float
    stat_kind: StatKind | None = None
    stat_value: float | None = None
    #: The region as the paper names this peak; it outranks an atlas label wherever both exist.
    label: str | None = None

    _parse_stat_kind = field_validator("stat_kind", mode="before")(_parse_enum(StatKind))

    @field_validator("x", "y", "z")
    @classmethod
    def _within_brain_range(cls, value: float, info: ValidationInfo) -> float:
        problem = coordinate_problem(info.field_name, value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("stat_value")
    @classmethod
    def _finite_stat(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("statistic is not a finite number")
        return value


def _parse_kind(value: object) -> FindingKind:
    return FindingKind.DRUG_EFFECT if value in (None, "") else FindingKind.parse(value)


class Analysis(_Model):
    """One contrast of a study with its peaks (a Sleuth experiment, a NiMARE contrast).

    ``kind`` says what comparison the contrast is (a drug effect unless marked otherwise, since
    that is what a drug review extracts); ``subject_group`` names the subject group it was computed on,
    so analyses of the same people are pooled into one experiment rather than counted as
    independent (None: the study's one group).
    """

    id: NonEmptyStr
    name: str = ""
    contrast: str | None = None
    direction: Direction = Direction.UNKNOWN
    kind: FindingKind = FindingKind.DRUG_EFFECT
    measure: Measure = Measure.OTHER
    subject_group: str | None = None
    n_subjects: int | None = Field(default=None, gt=0)
    space: Space = Space.MNI
    foci: list[Focus] = Field(min_length=1)
    notes: str | None = None

    _parse_direction = field_validator("direction", mode="before")(
        lambda v: Direction.UNKNOWN if v in (None, "") else Direction.parse(v)
    )
    _parse_kind = field_validator("kind", mode="before")(_parse_kind)
    _parse_measure = field_validator("measure", mode="before")(
        lambda v: Measure.OTHER if v in (None, "") else Measure.parse(v)
    )
    _parse_space = field_validator("space", mode="before")(lambda v: Space.parse(v))


class EffectSize(_Model):
    """A standardised effect: Hedges' g or Cohen's d with its sampling variance, or a correlation."""

    kind: EffectKind
    value: float
    variance: float | None = Field(default=None, ge=0)
    n: int | None = Field(default=None, ge=2)

    _parse_kind = field_validator("kind", mode="before")(lambda v: EffectKind.parse(v))

    @field_validator("value", "variance")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("value is not a finite number")
        return value

    @model_validator(mode="after")
    def _correlation_in_range(self) -> EffectSize:
        if self.kind is EffectKind.R and not -1.0 <= self.value <= 1.0:
            raise ValueError(f"a correlation must lie in [-1, 1], got {self.value:g}")
        return self


class RegionFinding(_Model):
    """A study's reported result for a named region (PET, MRS, ROI fMRI...).

    ``region_raw`` is the authors' name and decides where the finding votes; ``kind`` says
    whether it is a drug effect at all (a brain-symptom correlation is not).
    """

    region: NonEmptyStr
    region_raw: str | None = None
    direction: Direction = Direction.UNKNOWN
    kind: FindingKind = FindingKind.DRUG_EFFECT
    measure: Measure = Measure.OTHER
    effect_size: EffectSize | None = None
    contrast: str | None = None
    notes: str | None = None

    _parse_direction = field_validator("direction", mode="before")(
        lambda v: Direction.UNKNOWN if v in (None, "") else Direction.parse(v)
    )
    _parse_kind = field_validator("kind", mode="before")(_parse_kind)
    _parse_measure = field_validator("measure", mode="before")(
        lambda v: Measure.OTHER if v in (None, "") else Measure.parse(v)
    )


class Study(_Model):
    """An included paper and everything extracted from it.

    ``provenance`` maps a field name (or ``"foci"``, ``"region_findings"``) to where its value came
    from (an abstract page, a table, Neurosynth), so every number can be traced.
    """

    id: NonEmptyStr
    title: str | None = None
    authors: list[str] = Field(default_factory=list)
    year: int | None = Field(default=None, ge=1900, le=2100)
    journal: str | None = None
    doi: str | None = None
    pmid: str | None = None
    population: Population = Population.UNKNOWN
    n_subjects: int | None = Field(default=None, gt=0)
    design: str | None = None
    drug: str | None = None
    dose: str | None = None
    route: str | None = None
    modality: Modality = Modality.UNKNOWN
    timing: Timing = Timing.UNKNOWN
    exposure: Exposure = Exposure.UNKNOWN
    notes: str | None = None
    provenance: dict[str, str] = Field(default_factory=dict)
    #: The screened record this study was made from, when it came through screening.
    record_id: str | None = None
    analyses: list[Analysis] = Field(default_factory=list)
    region_findings: list[RegionFinding] = Field(default_factory=list)

    _parse_population = field_validator("population", mode="before")(
        lambda v: Population.UNKNOWN if v in (None, "") else Population.parse(v)
    )
    _parse_modality = field_validator("modality", mode="before")(
        lambda v: Modality.UNKNOWN if v in (None, "") else Modality.parse(v)
    )
    _parse_timing = field_validator("timing", mode="before")(
        lambda v: Timing.UNKNOWN if v in (None, "") else Timing.parse(v)
    )
    _parse_exposure = field_validator("exposure", mode="before")(
        lambda v: Exposure.UNKNOWN if v in (None, "") else Exposure.parse(v)
    )

    @field_validator("pmid", mode="before")
    @classmethod
    def _pmid_as_text(cls, value: object) -> object:
        if isinstance(value, int):
            return str(value)
        return value

    @model_validator(mode="after")
    def _unique_analysis_ids(self) -> Study:
        repeated = first_repeated(a.id for a in self.analyses)
        if repeated is not None:
            raise ValueError(f"analysis id {repeated!r} appears twice in study {self.id!r}")
        return self

    @property
    def n_foci(self) -> int:
        return sum(len(a.foci) for a in self.analyses)

    def label(self) -> str:
        """A short citation such as 'Scheidegger 2012' for tables, falling back to the id."""
        if self.authors and self.year:
            return f"{self.authors[0].split(',')[0].split(' ')[0]} {self.year}"
        return self.id
