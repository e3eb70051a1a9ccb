"""Search results exported from literature databases, read into :class:`~neuroreview.model.Record`.

A systematic review starts from the files its searches returned: RIS from Embase (Ovid) or
Scopus, MEDLINE (``.nbib``) from PubMed, tagged text or a table from Web of Science, BibTeX, CSV,
and labelled JSON Lines sets. :func:`read_references` reads any of them into one
:class:`ReferenceFile`: the records in file order, the database the file says it came from, and
where each record starts (``Record.location = "search.ris:120"``), so a reviewer can find it in
the export. Record ids are provisional ordinals ("1", "2"...); the importer renames them and sets
``source``, ``origin``, ``search_date`` and ``batch``.

Every reader promises the same: all records of the file, or an :class:`InputError` naming the
file and line of the first problem (a malformed line, a record without end, an unreadable year,
a PMID that is not digits, a record with no title, DOI or PMID, an empty file). Nothing is
half-read, because a search whose records silently went missing breaks the PRISMA counts.

One module per format: :mod:`.ris` (and :mod:`.wos`, Web of Science's tagged dialect, read as
``"ris"``), :mod:`.bibtex`, :mod:`.medline`, :mod:`.delimited` (CSV/TSV) and :mod:`.jsonl`;
:mod:`._fields` reads years, PMIDs and titles the same way for all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from neuroreview.errors import InputError
from neuroreview.io._source import read_text
from neuroreview.io.references._fields import Parsed
from neuroreview.io.references.bibtex import parse_bibtex
from neuroreview.io.references.delimited import parse_delimited
from neuroreview.io.references.detect import (
    REFERENCE_FORMATS,
    first_line,
    format_by_content,
    format_by_suffix,
    unknown_format,
)
from neuroreview.io.references.jsonl import parse_jsonl
from neuroreview.io.references.medline import parse_medline
from neuroreview.io.references.ris import parse_ris
from neuroreview.io.references.wos import looks_like_wos, parse_wos
from neuroreview.model import Record

__all__ = ["REFERENCE_FORMATS", "ReferenceFile", "detect_reference_format", "read_references"]


@dataclass(frozen=True)
class ReferenceFile:
    """The records of one export, in file order, and what the file says about itself.

    ``source`` is the database the export came from when the file says so ("PubMed", "Scopus",
    "Web of Science", "Embase", "PsycINFO"...), else None; ``labels`` (JSON Lines only) holds
    each record's labels, in the order of ``records``.
    """

    path: Path
    format: str
    source: str | None
    records: list[Record]
    labels: list[list[str]] | None = None


def detect_reference_format(path: Path) -> str:
    """The format of ``path``: by its suffix (``.ris``, ``.bib``, ``.nbib``, ``.csv``/``.tsv``,
    ``.jsonl``...) and, for ``.txt`` and other suffixes, by its first non-blank line.

    A file whose format cannot be told is an InputError naming it and the formats accepted.
    """
    path = Path(path)
    by_suffix = format_by_suffix(path)
    if by_suffix is not None:
        return by_suffix
    by_content = format_by_content(read_text(path))
    if by_content is None:
        raise unknown_format(path)
    return by_content


def read_references(path: str | Path, *, format: str | None = None) -> ReferenceFile:
    """Read every record of the export at ``path``; ``format`` overrides detection.

    Raises InputError (file and line) for a missing or undecodable file, an unknown format and
    any malformed record; a file without records is an error too, since an empty search export
    is almost always the wrong file.
    """
    path = Path(path)
    if format is not None and format.lower() not in REFERENCE_FORMATS:
        raise InputError(
            f"unknown reference format {format!r}; expected one of: {', '.join(REFERENCE_FORMATS)}",
            path,
        )
    text = read_text(path)
    chosen = format.lower() if format is not None else _detect(path, text)
    parsed = _reader(chosen, text)(text, path, path)
    if not parsed.records:
        raise InputError(f"contains no records (read as {chosen})", path)
    return ReferenceFile(path, chosen, parsed.source, parsed.records, parsed.labels)


def _detect(path: Path, text: str) -> str:
    chosen = format_by_suffix(path) or format_by_content(text)
    if chosen is None:
        raise unknown_format(path)
    return chosen


def _reader(chosen: str, text: str) -> Callable[[str, Path, Path], Parsed]:
    if chosen == "ris":
        return parse_wos if looks_like_wos(first_line(text)) else parse_ris
    return {
        "bibtex": parse_bibtex,
        "medline": parse_medline,
        "csv": parse_delimited,
        "jsonl": parse_jsonl,
    }[chosen]
