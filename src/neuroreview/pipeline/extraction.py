"""Dual extraction: two reviewers extract a study on their own, an owner compares and settles.

Each reviewer's extraction is a whole Study kept apart from the corpus (the store's
``extractions``) until an owner adopts one, or one with some fields taken from another, as the
study, through :func:`neuroreview.pipeline.changes.save_study` so the adoption is audited and
can be undone. A reviewer's first draft starts from the study as stored (for a study made from
an included record: its citation, the rest to extract).

Blinding follows screening's rule (``screening/blinding.py``): a second extraction is only
independent if its reviewer has not seen the first. So nobody sees the values of anyone's
extraction until :data:`REQUIRED_EXTRACTIONS` of them are submitted, and a reviewer whose own
extraction is open (a draft, or reopened) sees none but their own until they submit it. Owners
get no exception: an owner who has not extracted could still start to, and screening shows
owners nothing early either; an owner who settles is by then looking at a complete dual
extraction. Who has extracted, saved and submitted, and when, is never hidden.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from neuroreview.errors import InputError, NeuroreviewError
from neuroreview.model import Study, validate_model
from neuroreview.model.compare import Comparison, compare_studies, merge_studies
from neuroreview.pipeline import changes
from neuroreview.pipeline.studies import StudyInvalid, parse_study
from neuroreview.store import Repository, StudyFilter
from neuroreview.store.repository import ExtractionConflict, StoredExtraction

__all__ = [
    "REQUIRED_EXTRACTIONS",
    "ExtractionConflict",
    "ExtractionStatus",
    "ExtractorState",
    "InvalidExtraction",
    "NotComparable",
    "UnknownStudy",
    "adopt_extraction",
    "compare_extractions",
    "comparison_refusal",
    "extraction_status",
    "my_extraction",
    "parse_extraction",
    "reopen_extraction",
    "save_extraction",
    "stored_study",
]

#: Submitted extractions a comparison needs: dual extraction.
REQUIRED_EXTRACTIONS = 2

#: Keys the web form sends back with a draft that are not part of the study.
_NOT_STUDY_KEYS = frozenset({"submitted", "saved"})


class UnknownStudy(NeuroreviewError):
    """The study named is not in the store."""


class NotComparable(NeuroreviewError):
    """The comparison cannot be shown (yet): too few submitted extractions, or blinding."""


class InvalidExtraction(InputError):
    """An extraction that is not a valid study; ``problems`` lists (field path, message)."""

    def __init__(self, study_id: str, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        listed = "; ".join(f"field '{p or '(study)'}': {m}" for p, m in self.problems)
        super().__init__(f"extraction of study {study_id!r}: {listed}")


@dataclass(frozen=True)
class ExtractorState:
    """Who extracted a study and how far: never hidden, unlike the values."""

    reviewer: str
    saved: datetime
    submitted: datetime | None


@dataclass(frozen=True)
class ExtractionStatus:
    """A study's extractions as ``viewer`` may see them."""

    study_id: str
    study_label: str
    viewer: str
    extractors: tuple[ExtractorState, ...]
    #: Why ``viewer`` may not see the comparison yet; None when they may.
    refusal: str | None
    #: Percentage of compared fields in agreement, once ``viewer`` may see the comparison.
    agreement: float | None

    @property
    def mine(self) -> ExtractorState | None:
        return next((e for e in self.extractors if e.reviewer == self.viewer), None)

    @property
    def submitted(self) -> int:
        return sum(1 for e in self.extractors if e.submitted is not None)

    @property
    def comparable(self) -> bool:
        return self.refusal is None


def comparison_refusal(extractors: Sequence[ExtractorState], viewer: str) -> str | None:
    """Why ``viewer`` may not see the extractions' values yet, or None when they may (the rule
    is in the module's docstring)."""
    mine = next((e for e in extractors if e.reviewer == viewer), None)
    if mine is not None and mine.submitted is None:
        return "submit your own extraction first: the others stay hidden while yours is open"
    done = sum(1 for e in extractors if e.submitted is not None)
    if done < REQUIRED_EXTRACTIONS:
        return (
            f"{done} of the {REQUIRED_EXTRACTIONS} extractions needed are submitted; "
            "the comparison opens when they are"
        )
    return None


def parse_extraction(data: object, study_id: str) -> Study:
    """A reviewer's extraction from the editor's JSON, validated as the study editor validates
    a study (``pipeline.studies.parse_study``: every invalid field named by its path, "" for
    the study as a whole; a missing ``id`` is the study's). The ``submitted`` and ``saved``
    a draft was sent with are ignored, so a draft goes back as it came."""
    if isinstance(data, Mapping):
        data = {k: v for k, v in data.items() if k not in _NOT_STUDY_KEYS}
    try:
        return parse_study(data, study_id)
    except StudyInvalid as error:
        problems = [(e["path"], e["message"]) for e in error.errors]
        raise InvalidExtraction(study_id, problems) from None


def stored_study(db: str, study_id: str) -> Study:
    """The study as the corpus holds it (what an adoption made it)."""
    with Repository(db, create=False) as repository:
        return _study(repository, study_id)


def my_extraction(db: str, study_id: str, reviewer: str) -> Study:
    """``reviewer``'s extraction of the study: their saved draft (or submitted extraction), else
    the study as stored, to start from."""
    with Repository(db, create=False) as repository:
        stored = _study(repository, study_id)
        own = _own(repository.extractions(study_id), reviewer)
    return _as_study(own) if own is not None else stored


def save_extraction(
    db: str, study_id: str, reviewer: str, study: Study, submit: bool = False
) -> ExtractorState:
    """Save ``reviewer``'s draft of the study, and submit it when ``submit``.

    The extraction must be of this study and keep the record it was made from; a submitted
    extraction is refused until reopened (:class:`ExtractionConflict`).
    """
    parse_extraction(study.model_dump(mode="json"), study_id)  # what the store can keep
    with Repository(db, create=False) as repository:
        stored = _study(repository, study_id)
        if study.record_id != stored.record_id:
            raise InvalidExtraction(
                study_id,
                [
                    (
                        "record_id",
                        "an extraction cannot change the record the study was made from "
                        f"({stored.record_id!r})",
                    )
                ],
            )
        saved = repository.save_extraction(
            study_id, reviewer, study.model_dump(mode="json"), submitted=submit
        )
    return _state(saved)


def reopen_extraction(db: str, study_id: str, reviewer: str) -> ExtractorState:
    """Make ``reviewer``'s submitted extraction a draft again (to correct it); while it is open
    they see no other extraction of the study."""
    with Repository(db, create=False) as repository:
        _study(repository, study_id)
        return _state(repository.reopen_extraction(study_id, reviewer))


def extraction_status(db: str, study_id: str, viewer: str) -> ExtractionStatus:
    """Who has extracted the study and submitted, whether ``viewer`` may compare, and, when
    they may, the study's extraction agreement."""
    with Repository(db, create=False) as repository:
        stored = _study(repository, study_id)
        found = repository.extractions(study_id)
    extractors = tuple(_state(e) for e in found)
    refusal = comparison_refusal(extractors, viewer)
    agreement = None
    if refusal is None:
        agreement = compare_studies(_submitted(found)).agreement
    return ExtractionStatus(study_id, stored.label(), viewer, extractors, refusal, agreement)


def compare_extractions(db: str, study_id: str, viewer: str) -> Comparison:
    """The submitted extractions compared field by field (reviewers by name), refused with
    :class:`NotComparable` while ``viewer`` may not see them."""
    with Repository(db, create=False) as repository:
        _study(repository, study_id)
        found = repository.extractions(study_id)
    _refuse_if_blind(study_id, found, viewer)
    return compare_studies(_submitted(found))


def adopt_extraction(
    db: str,
    study_id: str,
    reviewer: str,
    by: str,
    choices: Mapping[str, str] | None = None,
) -> changes.Change | None:
    """Make the study ``reviewer``'s submitted extraction, taking the field at each path of
    ``choices`` from the reviewer named there; written as ``by``'s change (None when the study
    is that already). ``by`` must be allowed to see the comparison: settling is comparing.

    The study keeps the screening record it was made from whatever the extractions say.
    """
    with Repository(db, create=False) as repository:
        stored = _study(repository, study_id)
        found = repository.extractions(study_id)
    _refuse_if_blind(study_id, found, by)
    submitted = _submitted(found)
    if reviewer not in submitted:
        raise InputError(f"study {study_id!r}: {reviewer!r} has no submitted extraction to adopt")
    merged = merge_studies(submitted, reviewer, choices)
    if merged.record_id != stored.record_id:
        merged = merged.model_copy(update={"record_id": stored.record_id})
    return changes.save_study(db, merged, editor=by)


# --- helpers -------------------------------------------------------------------------------


def _study(repository: Repository, study_id: str) -> Study:
    found = repository.list_studies(StudyFilter(study_ids=(study_id,)))
    if not found:
        raise UnknownStudy(f"no study {study_id!r} in this project")
    return found[0]


def _own(found: Sequence[StoredExtraction], reviewer: str) -> StoredExtraction | None:
    return next((e for e in found if e.reviewer == reviewer), None)


def _as_study(extraction: StoredExtraction) -> Study:
    return validate_model(
        Study,
        extraction.data,
        what=f"{extraction.reviewer}'s extraction of study {extraction.study_id!r}",
    )


def _state(extraction: StoredExtraction) -> ExtractorState:
    return ExtractorState(extraction.reviewer, extraction.saved, extraction.submitted)


def _submitted(found: Sequence[StoredExtraction]) -> dict[str, Study]:
    return {e.reviewer: _as_study(e) for e in found if e.submitted is not None}


def _refuse_if_blind(study_id: str, found: Sequence[StoredExtraction], viewer: str) -> None:
    refusal = comparison_refusal([_state(e) for e in found], viewer)
    if refusal is not None:
        raise NotComparable(f"study {study_id!r}: {refusal}")
