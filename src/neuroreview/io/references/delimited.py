"""CSV and tab-delimited exports (PubMed, Scopus, Web of Science, Embase, EBSCO/PsycINFO, or a
plain table), read with the standard :mod:`csv` module.

Every database names its columns its own way, so columns are found by name, case-insensitively,
from lists of the names the common exports use (``Title``/``Article Title``/``TI``, ``Year``/
``Publication Year``/``PY``...), and the set of column names says which database wrote the file:

========================  ==========================================================
signature                 database
========================  ==========================================================
``PT``, ``AU``, ``TI``    Web of Science (tab-delimited; or ``UT (Unique WOS ID)``)
``EID``                   Scopus (or a ``Source`` column saying ``Scopus``)
``Journal/Book``          PubMed (or ``Citation`` with ``PMID``)
``PUI``, ``Medline PMID``  Embase (or an ``Emtree ...`` column)
``Subjects``, ``Database``  EBSCO; PsycINFO when its ``Database`` column says so
anything else             none: a plain table of title, abstract, authors, year...
========================  ==========================================================

A row with more filled cells than the header has columns is refused (a comma inside an unquoted
cell shifts every column after it), and so is a file without any title, DOI or PMID column. The
delimiter is a tab for ``.tsv`` files and otherwise whichever of tab and comma the header line
holds more of. Authors in one cell are split at ``;``, or at ``,`` in the "Smith J, Doe A."
style of PubMed and Embase; Scopus author ids in parentheses are dropped from full names.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

from neuroreview.errors import InputError
from neuroreview.io.references._fields import (
    Fields,
    Parsed,
    build_record,
    clean_text,
    known_database,
    one_source,
    split_cell,
)

WEB_OF_SCIENCE, SCOPUS, PUBMED, EMBASE = "Web of Science", "Scopus", "PubMed", "Embase"
EBSCO, PSYCINFO = "EBSCO", "PsycINFO"

# Column names per field, lower case, in order of preference. Keyword columns are all read.
_COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("title", "article title", "document title"),
    "abstract": ("abstract",),
    "authors": ("author full names", "authors", "author names", "author"),
    "year": ("publication year", "year", "pubyear", "publication date", "date of publication"),
    "journal": (
        "source title",
        "journal/book",
        "journal",
        "journal title",
        "publication title",
        "source",
    ),
    "doi": ("doi",),
    "pmid": ("pmid", "pubmed id", "medline pmid", "pubmed_id", "pubmedid"),
    "kind": ("document type", "publication type", "type"),
}
_KEYWORD_COLUMNS = (
    "author keywords",
    "index keywords",
    "keywords",
    "keyword",
    "keywords plus",
    "subjects",
    "subject",
    "mesh terms",
)
# Web of Science's two-letter field tags, used as column names by its tab-delimited export.
_WOS_COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("ti",),
    "abstract": ("ab",),
    "authors": ("af", "au"),
    "year": ("py", "ey"),
    "journal": ("so",),
    "doi": ("di",),
    "pmid": ("pm",),
    "kind": ("dt", "pt"),
}
_WOS_KEYWORD_COLUMNS = ("de", "id")
_IDENTITY_FIELDS = ("title", "doi", "pmid")
# "Smith J", "Doe A.", "Abdallah C.G.", "van der Berg P": a family name and initials.
_SHORT_NAME = re.compile(r"^\S.*\s(?:[A-Z]\.?-?){1,4}$")
_AUTHOR_ID = re.compile(r"\s*\(\d+\)\s*$")


def parse_delimited(text: str, path: Path, source: str | Path) -> Parsed:
    """Read CSV or TSV ``text`` (see the module docstring)."""
    rows = _rows(text, _delimiter(text, path), source)
    header_line, header = next(rows, (1, []))
    names = [cell.strip().lower() for cell in header]
    body = list(rows)
    database = _database(names, body)
    columns = _column_indices(names, database)
    if not any(field in columns for field in _IDENTITY_FIELDS):
        found = ", ".join(repr(cell.strip()) for cell in header if cell.strip()) or "none"
        raise InputError(
            "this table has no title, DOI or PMID column, so its records can be neither "
            f"screened nor deduplicated (columns found: {found})",
            source,
            header_line,
        )
    keyword_columns = [
        names.index(name)
        for name in _KEYWORD_COLUMNS + (_WOS_KEYWORD_COLUMNS if database == WEB_OF_SCIENCE else ())
        if name in names
    ]
    records = []
    for ordinal, (line, row) in enumerate(body, start=1):
        _check_width(row, len(header), source, line)
        fields = _fields(row, line, columns, keyword_columns, database)
        records.append(build_record(fields, ordinal, path, source))
    return Parsed(records, database)


def _delimiter(text: str, path: Path) -> str:
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if ".tsv" in suffixes or ".tab" in suffixes:
        return "\t"
    header = next((line for line in text.splitlines() if line.strip()), "")
    return "\t" if header.count("\t") > header.count(",") else ","


def _rows(text: str, delimiter: str, source: str | Path) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with the line each starts on (a quoted cell may span several lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise InputError(f"this is not valid CSV ({error})", source, reader.line_num) from None
        if any(cell.strip() for cell in row):
            yield start, row


def _database(names: list[str], body: list[tuple[int, list[str]]]) -> str | None:
    present = set(names)
    if {"pt", "au", "ti"} <= present or "ut (unique wos id)" in present:
        return WEB_OF_SCIENCE
    if "eid" in present or "scopus" in {value.lower() for value in _column(names, body, "source")}:
        return SCOPUS
    if "journal/book" in present or {"citation", "pmid"} <= present:
        return PUBMED
    if {"pui", "medline pmid"} & present or any(name.startswith("emtree") for name in names):
        return EMBASE
    if {"subjects", "database"} & present:
        named = one_source(known_database(value) for value in _column(names, body, "database"))
        return PSYCINFO if named == PSYCINFO else EBSCO
    return None


def _column(names: list[str], body: list[tuple[int, list[str]]], name: str) -> list[str]:
    if name not in names:
        return []
    index = names.index(name)
    return [row[index].strip() for _, row in body if index < len(row) and row[index].strip()]


def _column_indices(names: list[str], database: str | None) -> dict[str, int]:
    columns: dict[str, int] = {}
    for field, candidates in _COLUMNS.items():
        if database == WEB_OF_SCIENCE:
            candidates = candidates + _WOS_COLUMNS[field]
        if database == SCOPUS and field == "journal":
            candidates = tuple(c for c in candidates if c != "source")  # "Source" says "Scopus"
        index = next((names.index(c) for c in candidates if c in names), None)
        if index is not None:
            columns[field] = index
    return columns


def _check_width(row: list[str], width: int, source: str | Path, line: int) -> None:
    if len(row) > width and any(cell.strip() for cell in row[width:]):
        raise InputError(
            f"this row has {len(row)} cells but the header has {width} columns; is a cell "
            "holding the delimiter left unquoted?",
            source,
            line,
        )


def _fields(
    row: list[str],
    line: int,
    columns: dict[str, int],
    keyword_columns: list[int],
    database: str | None,
) -> Fields:
    def cell(field: str) -> str | None:
        index = columns.get(field)
        return row[index] if index is not None and index < len(row) else None

    return Fields(
        line=line,
        title=cell("title"),
        abstract=cell("abstract"),
        authors=split_authors(cell("authors"), comma_separated=database == PUBMED),
        year=cell("year"),
        journal=cell("journal"),
        doi=cell("doi"),
        pmid=cell("pmid"),
        keywords=[word for i in keyword_columns if i < len(row) for word in split_cell(row[i])],
        kind=cell("kind"),
    )


def split_authors(value: str | None, comma_separated: bool = False) -> list[str]:
    """The authors packed in one cell: split at ``;``, else at ``,`` when every piece is a
    "Family Initials" name (or ``comma_separated`` says the export writes them so)."""
    text = clean_text(value)
    if not text:
        return []
    if ";" in text or "\n" in text:
        names = re.split(r"[;\n]", text)
    else:
        pieces = [piece.strip() for piece in text.split(",")]
        short = all(_SHORT_NAME.match(piece) for piece in pieces if piece)
        names = pieces if len(pieces) > 1 and (comma_separated or short) else [text]
        if len(names) > 1 and not any("." in name for name in names[:-1]):
            names[-1] = names[-1].removesuffix(".")  # PubMed ends its list with a full stop
    return [_AUTHOR_ID.sub("", name).strip() for name in names if name.strip()]
