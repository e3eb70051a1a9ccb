"""What every reference reader shares: cleaning a field, reading a year or a PMID, and building a
:class:`~neuroreview.model.Record` that can be screened.

The readers differ in how a file is cut into records and fields; what a field *means* is decided
here once, so a year, a PMID or a title is read the same way from RIS, BibTeX, MEDLINE, CSV and
JSONL, and the same mistake gives the same sentence whatever the format.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from neuroreview.errors import InputError
from neuroreview.model import Record, validate_model

# A year standing alone ("2019", "2019 Mar 15", "2019/03/15//", "c2019") or opening a compact
# YYYYMMDD date; the first one in the field is the publication year.
_YEAR = re.compile(r"(?<!\d)(\d{4})(?:\d{4})?(?!\d)")
_WHITESPACE = re.compile(r"\s+")
_EARLIEST_YEAR, _LATEST_YEAR = 1800, 2100

# Database names as exports spell them (RIS DB/DP tags, a Scopus CSV's Source column, BibTeX
# `source` fields) -> the name the review reports. Checked in order, on the lower-cased text.
_DATABASES: tuple[tuple[str, str], ...] = (
    ("embase", "Embase"),
    ("scopus", "Scopus"),
    ("web of science", "Web of Science"),
    ("web of knowledge", "Web of Science"),
    ("psycinfo", "PsycINFO"),
    ("psyc info", "PsycINFO"),
    ("psyh", "PsycINFO"),  # EBSCOhost's code for APA PsycInfo
    ("pubmed", "PubMed"),
    ("medline", "MEDLINE"),
    ("cinahl", "CINAHL"),
    ("cochrane", "Cochrane Library"),
    ("ebsco", "EBSCO"),
)
# Providers whose name alone identifies the database (RIS DP tag): PubMed's publisher is the NLM.
_PROVIDERS = {"nlm": "PubMed", "national library of medicine": "PubMed"}


@dataclass
class Fields:
    """The fields of one record as a reader found them, before checks; ``line`` is where the
    record starts and ``lines`` where a field's own line is known (for sharper messages)."""

    line: int
    title: str | None = None
    abstract: str | None = None
    authors: list[str] = field(default_factory=list)
    year: object = None
    journal: str | None = None
    doi: object = None
    pmid: object = None
    keywords: list[str] = field(default_factory=list)
    kind: str | None = None
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, name: str) -> int:
        return self.lines.get(name, self.line)


@dataclass(frozen=True)
class Parsed:
    """What a format reader returns: the records, the database the file names, and (JSONL) the
    labels of each record."""

    records: list[Record]
    source: str | None
    labels: list[list[str]] | None = None


# --------------------------------------------------------------------------- text fields


def clean_text(value: object) -> str | None:
    """NFC-normalised text without surrounding whitespace; blank becomes None."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", str(value)).strip()
    return text or None


def clean_line(value: object) -> str | None:
    """Like :func:`clean_text`, with every run of whitespace or newlines made one space.

    Titles, names, journals and keywords are one line of text; exports wrap them at arbitrary
    places, and the wrapping must not make two copies of one title differ.
    """
    text = clean_text(value)
    return _WHITESPACE.sub(" ", text) if text else None


def clean_lines(values: Iterable[object], *, unique: bool = False) -> list[str]:
    """Each value cleaned as one line, blanks dropped, order kept; with ``unique``, exact
    repeats dropped too (keywords; not authors, where two "Wang, Y" are two people)."""
    cleaned = [value for value in (clean_line(value) for value in values) if value]
    return list(dict.fromkeys(cleaned)) if unique else cleaned


def split_cell(value: object) -> list[str]:
    """A list packed in one text field (keywords, authors), split at newlines and ``;``."""
    text = clean_text(value)
    return clean_lines(re.split(r"[\n;]", text)) if text else []


# --------------------------------------------------------------------------- identifiers


def parse_year(value: object, source: str | Path, line: int) -> int | None:
    """The publication year in ``value``: an int, or the first four-digit year in a text.

    Text without any digit ("n.d.", "in press", "") gives no year: the file does not give one.
    Digits that hold no year ("19", "2O19", "12/05/19") and years outside 1800-2100 are refused,
    because a silently dropped or wrong year would mislead deduplication and the reviewer.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise InputError(f"the year must be a number, not {value!r}", source, line)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        year = value
    elif isinstance(value, str):
        text = value.strip()
        if not any(character.isdigit() for character in text):
            return None
        match = _YEAR.search(text)
        if match is None:
            raise InputError(
                f"cannot read a year from {shorten(text)!r}; write the four-digit year",
                source,
                line,
            )
        year = int(match.group(1))
    else:
        raise InputError(
            f"the year must be a number or text, not {shorten(repr(value))}", source, line
        )
    if not _EARLIEST_YEAR <= year <= _LATEST_YEAR:
        raise InputError(
            f"the year {year} is outside {_EARLIEST_YEAR}-{_LATEST_YEAR}; check the date field",
            source,
            line,
        )
    return year


def parse_pmid(value: object, source: str | Path, line: int) -> str | None:
    """A PubMed id as digits only; a PMID field holding anything else is refused, not guessed."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise InputError(f"the PMID {value} is not a PubMed id", source, line)
        return str(value)
    if not isinstance(value, str):
        raise InputError(f"the PMID must be digits, not {shorten(repr(value))}", source, line)
    text = value.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise InputError(
            f"the PMID {shorten(text)!r} is not a PubMed id (a PMID is digits only)", source, line
        )
    return text


def parse_doi(value: object, source: str | Path, line: int) -> str | None:
    """The DOI as the file gives it, trimmed (normalisation is the deduplicator's job)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"the DOI must be text, not {shorten(repr(value))}", source, line)
    return value.strip() or None


def database_name(text: object) -> str | None:
    """The review's name for a database an export names (``'Embase'``, ``'Ovid MEDLINE(R)'``,
    ``'psyh'``...), the text itself when it is not one we know, None when blank."""
    name = clean_line(text)
    if name is None:
        return None
    return known_database(name) or name


def known_database(text: object) -> str | None:
    """Like :func:`database_name`, but None unless the text names a database we know."""
    name = clean_line(text)
    if name is None:
        return None
    lowered = name.lower()
    if lowered in _PROVIDERS:
        return _PROVIDERS[lowered]
    for marker, canonical in _DATABASES:
        if marker in lowered:
            return canonical
    return None


def one_source(names: Iterable[str | None]) -> str | None:
    """The file's database when every record that names one names the same one, else None."""
    found = {name for name in names if name}
    return found.pop() if len(found) == 1 else None


# --------------------------------------------------------------------------- records


def build_record(fields: Fields, ordinal: int, path: Path, source: str | Path) -> Record:
    """Check ``fields`` and make the record numbered ``ordinal``, located at ``path:line``.

    A record needs a title, a DOI or a PMID: without any of them it can be neither screened nor
    matched against its duplicates, so it is refused with its line rather than imported blind.
    """
    title = clean_line(fields.title)
    doi = parse_doi(fields.doi, source, fields.line_of("doi"))
    pmid = parse_pmid(fields.pmid, source, fields.line_of("pmid"))
    year = parse_year(fields.year, source, fields.line_of("year"))
    if title is None and doi is None and pmid is None:
        raise InputError(
            f"record {ordinal} has no title, DOI or PMID, so it can be neither screened nor "
            "deduplicated; add one of them or delete the record",
            source,
            fields.line,
        )
    data = {
        "id": str(ordinal),
        "location": f"{path.name}:{fields.line}",
        "kind": clean_line(fields.kind),
        "title": title,
        "abstract": clean_text(fields.abstract),
        "authors": clean_lines(fields.authors),
        "year": year,
        "journal": clean_line(fields.journal),
        "doi": doi,
        "pmid": pmid,
        "keywords": clean_lines(fields.keywords, unique=True),
    }
    return validate_model(Record, data, source=source, line=fields.line)


def first(*values: object) -> object:
    """The first value that is not None or blank text."""
    for value in values:
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if isinstance(value, list) and not value:
            continue
        return value
    return None


def first_text(value: object) -> str | None:
    """A parser's value as one text: the first of a list (a tag that repeats), else the text."""
    if isinstance(value, list):
        value = first(*value)
    return value if isinstance(value, str) else None


def text_list(value: object) -> list[str]:
    """A parser's value as a list of texts (a single text becomes a list of one)."""
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [item for item in values if isinstance(item, str)]


def shorten(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters for a message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
