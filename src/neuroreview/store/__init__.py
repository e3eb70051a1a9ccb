"""Persistence: the SQL schema and the Repository (the only code in neuroreview that speaks SQL)."""

from neuroreview.store.repository import (
    DEFAULT_DATABASE,
    CorpusCounts,
    Repository,
    StoreBusy,
    StudyFilter,
    database_url,
    local_store_path,
)
from neuroreview.store.schema import SCHEMA_VERSION

__all__ = [
    "DEFAULT_DATABASE",
    "SCHEMA_VERSION",
    "CorpusCounts",
    "Repository",
    "StoreBusy",
    "StudyFilter",
    "database_url",
    "local_store_path",
]
