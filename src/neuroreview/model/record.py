"""Citations as found in a search, and what the review did with them (PRISMA 2020).

A :class:`Record` is one search result as its database returned it. It remembers where it came
from (:class:`ImportBatch`: file, database, search date), so the identification box of the flow
diagram can be counted per source. Duplicates are not deleted: a :class:`Merge` says which record
was kept and why, and can be undone. Each reviewer's verdict is a :class:`Decision`; a conflict
between reviewers is settled by one more decision with the role ``resolution``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from neuroreview.model.enums import DecisionRole, Origin, Stage, Verdict
from neuroreview.model.study import NonEmptyStr

#: The reason of an identification-stage exclusion made by a tool, not a person: PRISMA 2020
#: counts "records marked as ineligible by automation tools" apart from "removed for other reasons".
AUTOMATION_REASON = "automation"


def _now() -> datetime:
    return datetime.now(UTC)


class Decision(BaseModel):
    """One reviewer's verdict on a record at one stage; exclusions at full text need a reason.

    At the retrieval stage ``include`` means the full text was obtained and ``exclude`` that it
    was sought and not retrieved. ``role='resolution'`` is the decision that settles reviewers'
    disagreement; it outranks the reviews it resolves.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    stage: Stage
    verdict: Verdict
    reason: str | None = None
    reviewer: str = "unknown"
    role: DecisionRole = DecisionRole.REVIEW
    time: datetime = Field(default_factory=_now)

    _parse_stage = field_validator("stage", mode="before")(lambda v: Stage.parse(v))
    _parse_verdict = field_validator("verdict", mode="before")(lambda v: Verdict.parse(v))
    _parse_role = field_validator("role", mode="before")(lambda v: DecisionRole.parse(v))

    @model_validator(mode="after")
    def _reason_for_full_text_exclusion(self) -> Decision:
        # PRISMA 2020 asks for the reason of every report excluded at full text.
        if self.verdict is Verdict.EXCLUDE and self.stage is Stage.ELIGIBILITY and not self.reason:
            raise ValueError("an exclusion at the eligibility stage needs a reason")
        return self


class Record(BaseModel):
    """A citation as a database returned it; a duplicate points at the record that is kept.

    ``source`` is the database or register (PubMed, Embase, Web of Science, Scopus, PsycINFO,
    ClinicalTrials.gov...) or the other method; ``origin`` says which PRISMA 2020 arm that is.
    ``location`` is where the record was read (``search.ris:120``), so a reviewer can find it in
    the export. ``kind`` is the publication type as the database gave it (journal article,
    conference abstract...), kept for deduplication and for the reviewer.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: NonEmptyStr
    source: str | None = None
    origin: Origin = Origin.DATABASE
    search_date: date | None = None
    batch: str | None = None
    location: str | None = None
    kind: str | None = None
    title: str | None = None
    abstract: str | None = None
    authors: list[str] = Field(default_factory=list)
    year: int | None = Field(default=None, ge=1800, le=2100)
    journal: str | None = None
    doi: str | None = None
    pmid: str | None = None
    keywords: list[str] = Field(default_factory=list)
    duplicate_of: str | None = None
    decisions: list[Decision] = Field(default_factory=list)

    _parse_origin = field_validator("origin", mode="before")(
        lambda v: Origin.DATABASE if v in (None, "") else Origin.parse(v)
    )

    @field_validator("pmid", mode="before")
    @classmethod
    def _pmid_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    def text(self) -> str:
        """Title, abstract and keywords: what a reviewer reads at title/abstract screening."""
        return " ".join(p for p in (self.title, self.abstract, " ".join(self.keywords)) if p)

    def citation(self) -> str:
        """'Abdallah 2017. Title' for lists, falling back to the id."""
        first = self.authors[0].split(",")[0].strip() if self.authors else None
        head = " ".join(str(p) for p in (first, self.year) if p) or self.id
        return f"{head}. {self.title}" if self.title else head


class ImportBatch(BaseModel):
    """One file of search results, imported at once: the unit PRISMA counts identification by."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: NonEmptyStr
    file: str
    sha256: str
    format: str
    source: str | None = None
    origin: Origin = Origin.DATABASE
    search_date: date | None = None
    imported: datetime = Field(default_factory=_now)
    n_records: int = Field(ge=0)


class Merge(BaseModel):
    """``duplicate`` is the same report as ``kept``: the evidence says why, and who decided.

    Merges are never deleted; undoing one sets ``undone``, so the history of the deduplication
    can be shown and every removed duplicate traced.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    duplicate: NonEmptyStr
    kept: NonEmptyStr
    evidence: str
    score: float = Field(ge=0.0, le=1.0)
    decided_by: str = "automatic"
    time: datetime = Field(default_factory=_now)
    undone: datetime | None = None

    @model_validator(mode="after")
    def _not_itself(self) -> Merge:
        if self.duplicate == self.kept:
            raise ValueError(f"record {self.kept!r} cannot be a duplicate of itself")
        return self
