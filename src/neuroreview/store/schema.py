"""The SQL schema: SQLAlchemy Core tables mirroring the pydantic models.

Core tables rather than ORM classes because the store moves whole corpora (Neurosynth: half a million
foci) in bulk; the models stay the one object form of a study, so two data models are never alive.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

#: Bumped whenever a table changes; a store written by another version is upgraded when an
#: upgrade is listed in :data:`UPGRADES`, otherwise refused, never misread.
SCHEMA_VERSION = 4

#: Columns each version added, as (table, column DDL). Version 2: what kind of result an
#: analysis or finding is, its measure and subject group, and the authors' label of a peak.
#: Rows of an older store are drug effects of an unrecorded measure, as version 1 assumed.
UPGRADES: dict[int, tuple[tuple[str, str], ...]] = {
    2: (
        ("analyses", "kind VARCHAR(32) NOT NULL DEFAULT 'drug_effect'"),
        ("analyses", "measure VARCHAR(32) NOT NULL DEFAULT 'other'"),
        ("analyses", "subject_group VARCHAR(255)"),
        ("foci", "label TEXT"),
        ("region_findings", "kind VARCHAR(32) NOT NULL DEFAULT 'drug_effect'"),
    ),
    # Version 3: screening. Where a record came from (PRISMA's two arms, the import batch, the
    # file and line), which study an included record became, and the role of a decision (a
    # review or the resolution of a conflict). Its new tables are created by the upgrade.
    3: (
        ("records", "origin VARCHAR(16) NOT NULL DEFAULT 'database'"),
        ("records", "search_date DATE"),
        ("records", "batch VARCHAR(255)"),
        ("records", "location TEXT"),
        ("records", "kind TEXT"),
        ("decisions", "role VARCHAR(16) NOT NULL DEFAULT 'review'"),
        ("studies", "record_id VARCHAR(255)"),
    ),
    # Version 4: the web workspace's audit trail of study edits (``changes``) and each
    # reviewer's own extraction of a study for dual extraction (``extractions``): new tables
    # only, created by the upgrade.
    4: (),
}

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("software", String(32), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)

studies = Table(
    "studies",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("study_id", String(255), nullable=False, unique=True),
    Column("title", Text),
    Column("authors", JSON, nullable=False),
    Column("year", Integer, index=True),
    Column("journal", Text),
    Column("doi", String(255)),
    Column("pmid", String(32)),
    Column("population", String(32), nullable=False, index=True),
    Column("n_subjects", Integer),
    Column("design", Text),
    Column("drug", String(255)),
    Column("dose", Text),
    Column("route", String(255)),
    Column("modality", String(32), nullable=False, index=True),
    Column("timing", String(32), nullable=False),
    Column("exposure", String(32), nullable=False),
    Column("notes", Text),
    Column("provenance", JSON, nullable=False),
    Column("record_id", String(255)),
)

analyses = Table(
    "analyses",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("study_pk", Integer, ForeignKey("studies.pk", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("analysis_id", String(255), nullable=False),
    Column("name", Text, nullable=False),
    Column("contrast", Text),
    Column("direction", String(16), nullable=False, index=True),
    Column("kind", String(32), nullable=False, server_default="drug_effect"),
    Column("measure", String(32), nullable=False, server_default="other"),
    Column("subject_group", String(255)),
    Column("n_subjects", Integer),
    Column("space", String(16), nullable=False, index=True),
    Column("notes", Text),
    UniqueConstraint("study_pk", "analysis_id"),
)

foci = Table(
    "foci",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column(
        "analysis_pk",
        Integer,
        ForeignKey("analyses.pk", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("position", Integer, nullable=False),
    Column("x", Float, nullable=False),
    Column("y", Float, nullable=False),
    Column("z", Float, nullable=False),
    Column("stat_kind", String(16)),
    Column("stat_value", Float),
    Column("label", Text),
)

region_findings = Table(
    "region_findings",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column(
        "study_pk",
        Integer,
        ForeignKey("studies.pk", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("position", Integer, nullable=False),
    Column("region", String(255), nullable=False, index=True),
    Column("region_raw", Text),
    Column("direction", String(16), nullable=False, index=True),
    Column("kind", String(32), nullable=False, server_default="drug_effect"),
    Column("measure", String(32), nullable=False),
    Column("contrast", Text),
    Column("notes", Text),
    Column("effect_kind", String(16)),
    Column("effect_value", Float),
    Column("effect_variance", Float),
    Column("effect_n", Integer),
)

records = Table(
    "records",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("record_id", String(255), nullable=False, unique=True),
    Column("source", String(255)),
    Column("origin", String(16), nullable=False, server_default="database"),
    Column("search_date", Date),
    Column("batch", String(255), index=True),
    Column("location", Text),
    Column("kind", Text),
    Column("title", Text),
    Column("abstract", Text),
    Column("authors", JSON, nullable=False),
    Column("year", Integer),
    Column("journal", Text),
    Column("doi", String(255), index=True),
    Column("pmid", String(32), index=True),
    Column("keywords", JSON, nullable=False),
    Column("duplicate_of", String(255)),
)

decisions = Table(
    "decisions",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column(
        "record_pk",
        Integer,
        ForeignKey("records.pk", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("position", Integer, nullable=False),
    Column("stage", String(32), nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("reason", Text),
    Column("reviewer", String(255), nullable=False),
    Column("role", String(16), nullable=False, server_default="review"),
    Column("time", DateTime(timezone=True), nullable=False),
)

import_batches = Table(
    "import_batches",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", String(255), nullable=False, unique=True),
    Column("file", Text, nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("format", String(16), nullable=False),
    Column("source", String(255)),
    Column("origin", String(16), nullable=False),
    Column("search_date", Date),
    Column("imported", DateTime(timezone=True), nullable=False),
    Column("n_records", Integer, nullable=False),
)

# Every merge ever made, undone ones included: the deduplication's history.
merges = Table(
    "merges",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("duplicate", String(255), nullable=False, index=True),
    Column("kept", String(255), nullable=False),
    Column("evidence", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("decided_by", String(255), nullable=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("undone", DateTime(timezone=True)),
)

# Pairs the deduplication was unsure of, and what a person made of them.
duplicate_candidates = Table(
    "duplicate_candidates",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("first", String(255), nullable=False),
    Column("second", String(255), nullable=False),
    Column("score", Float, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("decided_by", String(255)),
    Column("time", DateTime(timezone=True)),
    UniqueConstraint("first", "second"),
)

# The review's screening rules (reviewers per stage, exclusion reasons), as JSON values by key.
screening_settings = Table(
    "screening_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
)

# Every edit of a study, whoever made it and from wherever: the study as it was and as it
# became (JSON of the model; None for a creation or a deletion), so any change can be shown
# and undone. Rows are only ever added; an undo is a change of its own that names what it undid.
changes = Table(
    "changes",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("editor", String(255), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("entity_id", String(255), nullable=False, index=True),
    Column("action", String(16), nullable=False),
    Column("summary", Text, nullable=False),
    Column("before", JSON),
    Column("after", JSON),
    Column("undoes", Integer),
    Column("undone_by", Integer),
)

# Dual extraction: each reviewer's own extraction of a study, kept apart from the study until
# an owner adopts one (or a merge of both) as the study.
extractions = Table(
    "extractions",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("study_id", String(255), nullable=False, index=True),
    Column("reviewer", String(255), nullable=False),
    Column("data", JSON, nullable=False),
    Column("saved", DateTime(timezone=True), nullable=False),
    Column("submitted", DateTime(timezone=True)),
    UniqueConstraint("study_id", "reviewer"),
)
