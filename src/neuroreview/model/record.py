"""Citations as found in a search, and the screening decisions taken on them (PRISMA 2020)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from neuroreview.model.enums import Stage, Verdict
from neuroreview.model.study import NonEmptyStr


class Decision(BaseModel):
    """One reviewer's verdict on a record at one stage; exclusions after title/abstract need a reason."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    stage: Stage
    verdict: Verdict
    reason: str | None = None
    reviewer: str = "unknown"
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))

    _parse_stage = field_validator("stage", mode="before")(lambda v: Stage.parse(v))
    _parse_verdict = field_validator("verdict", mode="before")(lambda v: Verdict.parse(v))

    @model_validator(mode="after")
    def _reason_for_full_text_exclusion(self) -> Decision:
        # PRISMA 2020 asks for the reason of every report excluded at full text.
        if self.verdict is Verdict.EXCLUDE and self.stage is Stage.ELIGIBILITY and not self.reason:
            raise ValueError("an exclusion at the eligibility stage needs a reason")
        return self


class Record(BaseModel):
    """A citation as a database returned it; a duplicate points at the record that is kept."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: NonEmptyStr
    source: str | None = None
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
