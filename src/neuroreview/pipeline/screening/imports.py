"""Search exports into the store, one batch per file: all of its records or none."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from neuroreview.errors import InputError
from neuroreview.model import (
    ImportBatch,
    Origin,
)
from neuroreview.pipeline.screening.plan import open_store, parse_choice

# --- import --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportSummary:
    batch: ImportBatch
    store: str


def import_references(
    db: str,
    path: str | Path,
    *,
    source: str | None = None,
    origin: str | None = None,
    search_date: date | None = None,
    format: str | None = None,
) -> ImportSummary:
    """One export file into the store as one batch: all its records or none.

    The same file (by content) imported twice is refused, since its records would all be
    duplicates and PRISMA would count them twice among those identified.
    """
    from neuroreview.io.references import read_references

    path = Path(path)
    found = read_references(path, format=format)
    where = parse_choice(Origin, origin, "--origin") if origin else Origin.DATABASE
    named = source or found.source
    if named is None and not where.other_methods:
        raise InputError(
            "does not say which database it was exported from; name it with --source "
            "(PRISMA 2020 counts records per database)",
            path,
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with open_store(db, create=True) as repository:
        earlier = [b for b in repository.list_batches() if b.sha256 == digest]
        if earlier:
            raise InputError(
                f"was already imported as batch {earlier[0].id} ({earlier[0].file}, "
                f"{earlier[0].n_records} records); importing it again would count its records twice",
                path,
            )
        batch_id = str(len(repository.list_batches()) + 1)
        batch = ImportBatch(
            id=batch_id,
            file=path.name,
            sha256=digest,
            format=found.format,
            source=named,
            origin=where,
            search_date=search_date,
            n_records=len(found.records),
        )
        records = [
            r.model_copy(
                update={
                    "id": f"{batch_id}.{r.id}",
                    "source": named,
                    "origin": where,
                    "search_date": search_date,
                    "batch": batch_id,
                }
            )
            for r in found.records
        ]
        repository.add_import(batch, records)
        return ImportSummary(batch, repository.url)
