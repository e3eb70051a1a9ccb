"""Studies as the faces show them for checking: each focus placed in MNI space, named by AAL3,
measured against the brain mask, and the corpus check's flags beside it.

Extraction is where reviews go wrong: a correlation entered as a drug effect, a Talairach table
read as MNI, a sign dropped. The study editor shows every value next to where it came from and
every coordinate next to where it lands, and the rules it shows are the ones the run applies:
Talairach foci are converted as the meta-analysis converts them (``space.convert``'s default,
Lancaster's pooled transform), the brain mask distance and the flags are
``cbma.checks``' own. An analysis in an unknown space is not placed: its foci get no MNI
coordinate, label or distance, since guessing the space could move them by a centimetre.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from neuroreview.errors import InputError, NeuroreviewError
from neuroreview.model import Analysis, Space, Study

__all__ = [
    "FocusNote",
    "StudyInvalid",
    "StudyNotFound",
    "StudySummary",
    "StudyView",
    "field_errors",
    "flag_json",
    "find_study",
    "mni_points",
    "parse_study",
    "study_glass_brain",
    "study_summaries",
    "study_view",
    "view_of",
]


class StudyNotFound(NeuroreviewError):
    """No study of that id in the store."""


class StudyInvalid(InputError):
    """A study document that does not validate; ``errors`` lists each failing field as
    ``{"path": "analyses.0.foci.2.x", "message": ...}`` so a form can show it in place."""

    def __init__(self, study_id: str | None, errors: list[dict[str, str]]):
        self.errors = errors
        described = "; ".join(f"field '{e['path'] or '(study)'}': {e['message']}" for e in errors)
        what = f"study {study_id!r}: " if study_id else "study: "
        super().__init__(what + described)


@dataclass(frozen=True)
class StudySummary:
    """One line of the studies list."""

    id: str
    label: str
    title: str | None
    year: int | None
    n_analyses: int
    n_foci: int
    n_findings: int
    n_flags: int
    record_id: str | None


@dataclass(frozen=True)
class FocusNote:
    """Where one focus lands. ``mni`` is None (and so are the rest) when its analysis's space
    is unknown. ``aal3`` is the AAL3 label (None: no label within reach), borrowed from a voxel
    ``aal3_distance_mm`` away when the focus is in an unlabelled one; ``distance_mm`` is its
    distance outside the brain mask (0 inside); ``flag`` the corpus check's reason, if any."""

    mni: tuple[float, float, float] | None
    aal3: str | None
    aal3_distance_mm: float | None
    outside_brain: bool | None
    distance_mm: float | None
    flag: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "mni": list(self.mni) if self.mni is not None else None,
            "aal3": self.aal3,
            "aal3_distance_mm": self.aal3_distance_mm,
            "outside_brain": self.outside_brain,
            "distance_mm": self.distance_mm,
            "flag": self.flag,
        }


def flag_json(flag: Any) -> dict[str, Any]:
    """A corpus-check flag (``cbma.checks.CoordinateFlag``) as the faces show it: where the
    focus is (``focus_index`` from 0), why, and whether it leaves a meta-analysis (a duplicate
    is pooled instead)."""
    return {
        "analysis_id": flag.analysis_id,
        "focus_index": flag.focus_index,
        "x": flag.x,
        "y": flag.y,
        "z": flag.z,
        "space": flag.space,
        "reason": flag.reason.value,
        "distance_mm": flag.distance_mm,
        "leaves": flag.leaves,
    }


@dataclass(frozen=True)
class StudyView:
    """A study with, for each analysis (in order), a note per focus (in order), and its flags."""

    study: Study
    foci_notes: list[list[FocusNote]]
    #: The corpus check's flags of the study (``cbma.checks.CoordinateFlag``).
    flags: list[Any]

    def to_json(self) -> dict[str, Any]:
        """The study as its JSON document, the notes keyed by analysis id, the flags."""
        return {
            "study": self.study.model_dump(mode="json"),
            "foci_notes": [
                {"analysis_id": a.id, "foci": [n.to_json() for n in notes]}
                for a, notes in zip(self.study.analyses, self.foci_notes, strict=True)
            ],
            "flags": [flag_json(f) for f in self.flags],
        }


# --- reading ---------------------------------------------------------------------------------


def _open(db: str):
    from neuroreview.store import Repository

    return Repository(db, create=False)


def find_study(db: str, study_id: str) -> Study:
    """The stored study, or :class:`StudyNotFound`."""
    from neuroreview.store import StudyFilter

    with _open(db) as repository:
        found = repository.list_studies(StudyFilter(study_ids=(study_id,)))
    if not found:
        raise StudyNotFound(f"no study {study_id!r} in this project")
    return found[0]


def _flags(studies: Sequence[Study]) -> list:
    from neuroreview.cbma.checks import check_coordinates

    return check_coordinates(studies)


def study_summaries(db: str) -> list[StudySummary]:
    """Every study of the store in corpus order, with its counts and how many foci the corpus
    check flags."""
    with _open(db) as repository:
        studies = repository.list_studies()
    flagged: dict[str, int] = {}
    for flag in _flags(studies):
        flagged[flag.study_id] = flagged.get(flag.study_id, 0) + 1
    return [
        StudySummary(
            id=s.id,
            label=s.label(),
            title=s.title,
            year=s.year,
            n_analyses=len(s.analyses),
            n_foci=s.n_foci,
            n_findings=len(s.region_findings),
            n_flags=flagged.get(s.id, 0),
            record_id=s.record_id,
        )
        for s in studies
    ]


@dataclass(frozen=True)
class ExtractionProgress:
    """What is left to extract and check: studies with nothing extracted yet (no coordinate
    analysis, no region finding: typically just included from screening) and studies whose
    foci the corpus check flags."""

    n_studies: int
    not_extracted: list[StudySummary]
    flagged: list[StudySummary]


def extraction_progress(db: str) -> ExtractionProgress:
    summaries = study_summaries(db)
    return ExtractionProgress(
        n_studies=len(summaries),
        not_extracted=[s for s in summaries if s.n_analyses == 0 and s.n_findings == 0],
        flagged=[s for s in summaries if s.n_flags],
    )


def study_view(db: str, study_id: str) -> StudyView:
    """The stored study with its foci placed and its flags (:class:`StudyNotFound` if absent)."""
    return view_of(find_study(db, study_id))


def view_of(study: Study) -> StudyView:
    """Any study (stored or being edited) with its foci placed and its flags."""
    flags = _flags([study])
    reasons = {(f.analysis_id, f.focus_index): f.reason.value for f in flags}
    notes = [_analysis_notes(a, reasons) for a in study.analyses]
    return StudyView(study=study, foci_notes=notes, flags=flags)


def mni_points(analysis: Analysis) -> np.ndarray | None:
    """The analysis's foci in MNI mm ((n, 3)), converted as the meta-analysis converts them;
    None when its space is unknown."""
    from neuroreview.space import convert

    if analysis.space is Space.UNKNOWN:
        return None
    reported = np.array([[f.x, f.y, f.z] for f in analysis.foci], dtype=np.float64)
    if analysis.space is Space.MNI:
        return reported
    return convert(reported, analysis.space, Space.MNI)


def _analysis_notes(analysis: Analysis, reasons: Mapping[tuple[str, int], str]) -> list[FocusNote]:
    from neuroreview.cbma.checks import distance_to_mask_mm
    from neuroreview.space.atlas import label_points

    points = mni_points(analysis)
    if points is None:
        return [FocusNote(None, None, None, None, None, None) for _ in analysis.foci]
    labels = label_points(points)
    distances = distance_to_mask_mm(points)
    notes = []
    for i, point in enumerate(points):
        row = labels.iloc[i]
        labelled = int(row["index"]) != 0
        distance = float(distances[i])
        notes.append(
            FocusNote(
                mni=tuple(round(float(v), 1) for v in point),
                aal3=str(row["label"]) if labelled else None,
                aal3_distance_mm=round(float(row["distance_mm"]), 1) if labelled else None,
                outside_brain=distance > 0,
                distance_mm=round(distance, 1),
                flag=reasons.get((analysis.id, i)),
            )
        )
    return notes


# --- editing ---------------------------------------------------------------------------------


def field_errors(error: ValidationError) -> list[dict[str, str]]:
    """pydantic's errors as ``{"path", "message"}``, worded as ``describe_validation_error``
    words them (the path dotted, "Value error, " dropped); "" is the study as a whole."""
    return [
        {
            "path": ".".join(str(p) for p in item["loc"]),
            "message": item["msg"].removeprefix("Value error, "),
        }
        for item in error.errors()
    ]


def parse_study(data: object, study_id: str | None = None) -> Study:
    """A study from its JSON document, or :class:`StudyInvalid` naming every failing field.

    ``study_id`` is the id the document is saved under (the editor's address): a document
    naming another id is refused, one naming none takes it. None: the document's own id.
    """
    if not isinstance(data, Mapping):
        raise StudyInvalid(study_id, [{"path": "", "message": "a study is a JSON object"}])
    document = dict(data)
    if study_id is not None:
        given = document.setdefault("id", study_id)
        if given != study_id:
            message = f"the study id {given!r} differs from {study_id!r}, the study being saved"
            raise StudyInvalid(study_id, [{"path": "id", "message": message}])
    try:
        study = Study.model_validate(document)
    except ValidationError as error:
        named = document.get("id") if isinstance(document.get("id"), str) else None
        raise StudyInvalid(named, field_errors(error)) from None
    too_large = _beyond_the_store(study)
    if too_large:
        raise StudyInvalid(study.id, too_large)
    return study


#: The largest count a store keeps (an INTEGER column; PostgreSQL's is 32 bits, SQLite's 64).
STORED_INT_MAX = 2**31 - 1


def _column_lengths(table, renames: Mapping[str, str] | None = None) -> dict[str, int]:
    names = renames or {}
    return {
        names.get(c.name, c.name): c.type.length
        for c in table.columns
        if getattr(c.type, "length", None)
    }


def _beyond_the_store(study: Study) -> list[dict[str, str]]:
    """Values the model allows but the store cannot keep: text longer than its column (a whole
    reference pasted as a DOI), a NUL character (PostgreSQL refuses it), a count beyond an
    INTEGER column. Refused here, by field, rather than by the database mid-write."""
    from neuroreview.store import schema

    lengths = {
        "study": _column_lengths(schema.studies, {"study_id": "id"}),
        "analysis": _column_lengths(schema.analyses, {"analysis_id": "id"}),
        "focus": _column_lengths(schema.foci),
        "finding": _column_lengths(schema.region_findings),
        "effect": {},
    }
    items: list[tuple[str, Any, str]] = [("", study, "study")]
    for i, analysis in enumerate(study.analyses):
        items.append((f"analyses.{i}.", analysis, "analysis"))
        items += [(f"analyses.{i}.foci.{j}.", f, "focus") for j, f in enumerate(analysis.foci)]
    for i, finding in enumerate(study.region_findings):
        items.append((f"region_findings.{i}.", finding, "finding"))
        if finding.effect_size is not None:
            items.append((f"region_findings.{i}.effect_size.", finding.effect_size, "effect"))
    problems = []
    for prefix, model, kind in items:
        for name, value in model:
            message = _store_problem(value, lengths[kind].get(name))
            if message:
                problems.append({"path": prefix + name, "message": message})
    return problems


def _store_problem(value: object, length: int | None) -> str | None:
    if isinstance(value, str):
        if "\x00" in value:
            return "text may not contain NUL characters"
        if length is not None and len(value) > length:
            return f"String should have at most {length} characters"
    elif isinstance(value, int) and not isinstance(value, bool) and value > STORED_INT_MAX:
        return f"Input should be less than or equal to {STORED_INT_MAX}"
    return None


# --- the glass brain -------------------------------------------------------------------------


def study_glass_brain(
    study: Study, analysis_id: str | None = None, focus: int | None = None
) -> str:
    """The glass brain of every placeable focus of ``study``, focus ``focus`` (from 0) of
    analysis ``analysis_id`` highlighted. A focus that does not exist, or whose analysis's
    space is unknown (it cannot be placed), is an :class:`InputError`."""
    from neuroreview.pipeline.glass_brain import glass_brain_svg

    if focus is not None and analysis_id is None:
        raise InputError("name the analysis of the focus to highlight")
    analyses = {a.id: a for a in study.analyses}
    if analysis_id is not None:
        chosen = analyses.get(analysis_id)
        if chosen is None:
            raise InputError(f"study {study.id!r} has no analysis {analysis_id!r}")
        if focus is not None and not 0 <= focus < len(chosen.foci):
            raise InputError(
                f"analysis {analysis_id!r} has {len(chosen.foci)} foci; there is no focus {focus}"
            )
        if focus is not None and chosen.space is Space.UNKNOWN:
            raise InputError(
                f"analysis {analysis_id!r} is in an unknown space: its foci cannot be placed"
            )
    points: list[np.ndarray] = []
    titles: list[str] = []
    highlight = None
    for analysis in study.analyses:
        placed = mni_points(analysis)
        if placed is None:
            continue
        for i, point in enumerate(placed):
            if analysis.id == analysis_id and i == focus:
                highlight = len(points)
            points.append(point)
            titles.append(f"{analysis.id}, focus {i + 1}: " + _coordinates(point))
    return glass_brain_svg(np.array(points).reshape(-1, 3), highlight, titles=titles)


def _coordinates(point: np.ndarray) -> str:
    return "(" + ", ".join(f"{round(float(v), 1):g}" for v in point) + ") MNI"
