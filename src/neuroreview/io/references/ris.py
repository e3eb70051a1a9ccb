"""RIS exports (Embase and MEDLINE via Ovid, Scopus, EBSCOhost, EndNote...) read with rispy.

rispy reads the tags well, but it knows no line numbers, takes a mistyped tag line ("TI - x") for
the continuation of the line above, and drops a last record that lacks its ``ER  -`` line
without a word. So the text is first cut into records here, line by line: every line must be a
tag (``TI  - ...``), the continuation of a tag, or blank, and every record must run from
``TY  -`` to ``ER  -``. Only then is each record handed to rispy, so what rispy reads is what
the file says and every complaint names its line::

    TY  - JOUR
    DB  - Embase
    TI  - Ketamine and the default mode network
    AU  - Scheidegger, Milan
    PY  - 2012
    ER  -

The database is read from the ``DB`` tag (and from ``DP`` when that names one, e.g. ``NLM``):
Ovid writes ``DB  - Embase``, Scopus ``DB  - Scopus``, EBSCOhost ``DB  - psyh``. ``kind`` is
the ``TY`` code as rispy names it (``JOUR`` -> ``Journal``), or the code when rispy has no name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import rispy

from neuroreview.errors import InputError
from neuroreview.io._source import split_lines
from neuroreview.io.references._fields import (
    Fields,
    Parsed,
    build_record,
    database_name,
    first,
    first_text,
    known_database,
    one_source,
    shorten,
    text_list,
)

# A tag line as rispy recognises it ("XX  - value"), with a space or nothing after the hyphen.
_TAG = re.compile(r"^([A-Z][A-Z0-9])  -(?:\s(.*))?$")
# Lines that were meant as tags but are not spelt as RIS wants: "TI - x", "TI   - x", "TI  -x".
_BROKEN_TAG = re.compile(r"^[A-Z][A-Z0-9](?: ?- |  -\S| {3,}- |\t+- ?)")
# "Provider: Elsevier / Database: ScienceDirect / Content: text/plain" lines that some
# publishers write above the first record.
_HEADER = re.compile(r"^(Provider|Database|Content)\s*:\s*(.*)$", re.IGNORECASE)
_START, _END = "TY", "ER"
# rispy's names of the tags read into a Record, in order of preference.
_YEAR_TAGS = (("year", "PY"), ("publication_year", "Y1"), ("date", "DA"))
_JOURNAL_KEYS = (
    "secondary_title",  # T2
    "alternate_title3",  # JF
    "journal_name",  # JO
    "alternate_title2",  # JA
    "alternate_title1",  # J2
)
_PMID_DATABASES = {"PubMed", "MEDLINE"}


@dataclass
class _RawRecord:
    """The lines of one record, from its ``TY`` line to the line before ``ER``."""

    start: int
    lines: list[str] = field(default_factory=list)
    tag_lines: dict[str, int] = field(default_factory=dict)


def parse_ris(text: str, path: Path, source: str | Path) -> Parsed:
    """Read RIS ``text``; ``path`` names record locations, ``source`` names the file in errors."""
    raw_records, header_database = _split_records(split_lines(text), source)
    parser = rispy.RisParser()
    records = []
    databases = []
    for ordinal, raw in enumerate(raw_records, start=1):
        entry = _rispy_entry(parser, raw, source)
        fields, database = _fields(entry, raw)
        databases.append(database)
        records.append(build_record(fields, ordinal, path, source))
    return Parsed(records, one_source(databases) or header_database)


def _split_records(lines: list[str], source: str | Path) -> tuple[list[_RawRecord], str | None]:
    records: list[_RawRecord] = []
    current: _RawRecord | None = None
    header_database: str | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue  # blank lines separate records and mean nothing inside one
        tag = _TAG.match(line)
        if tag is None and _BROKEN_TAG.match(line):
            raise InputError(
                f"malformed RIS tag line {shorten(line)!r}: a tag is two capitals, two spaces, "
                "a hyphen and a space ('TI  - Title')",
                source,
                number,
            )
        if current is None:
            if tag is not None and tag.group(1) == _START:
                current = _RawRecord(start=number, lines=[line], tag_lines={_START: number})
                continue
            header = _HEADER.match(line) if not records else None
            if header is not None and tag is None:
                if header.group(1).lower() == "database":
                    header_database = database_name(header.group(2))
                continue
            raise InputError(_outside_record(line, tag), source, number)
        if tag is None:
            if len(current.lines) == 1:
                raise InputError(
                    f"{shorten(line.strip())!r} is neither a RIS tag nor the continuation of "
                    "one: the line after 'TY  - ' must be a tag",
                    source,
                    number,
                )
            current.lines.append(line)
        elif tag.group(1) == _START:
            raise InputError(
                f"a new record starts here but the record that starts on line {current.start} "
                "has no 'ER  - ' line; end every record with 'ER  - '",
                source,
                number,
            )
        elif tag.group(1) == _END:
            records.append(current)
            current = None
        else:
            current.lines.append(line)
            current.tag_lines.setdefault(tag.group(1), number)
    if current is not None:
        raise InputError(
            "this record has no 'ER  - ' line before the end of the file (is the file cut "
            "short?); end every record with 'ER  - '",
            source,
            current.start,
        )
    return records, header_database


def _outside_record(line: str, tag: re.Match[str] | None) -> str:
    if tag is not None:
        return (
            f"tag {tag.group(1)} is outside any record; every record starts with 'TY  - ' "
            "and ends with 'ER  - '"
        )
    return (
        f"{shorten(line.strip())!r} is neither a RIS tag nor the continuation of one (it is "
        "outside any record; records run from 'TY  - ' to 'ER  - ')"
    )


def _rispy_entry(parser: rispy.RisParser, raw: _RawRecord, source: str | Path) -> dict:
    try:
        entries = parser.parse_lines(iter([*raw.lines, f"{_END}  - "]))
    except Exception as error:  # rispy's own failures become the file's error, at its line
        raise InputError(f"rispy cannot read this record ({error!r})", source, raw.start) from None
    if len(entries) != 1:  # cannot happen after _split_records; say so rather than guess
        raise InputError(f"rispy read {len(entries)} records from one", source, raw.start)
    return entries[0]


def _fields(entry: dict, raw: _RawRecord) -> tuple[Fields, str | None]:
    database = database_name(first_text(entry.get("name_of_database"))) or known_database(
        first_text(entry.get("database_provider"))
    )
    year_key, year_tag = next(
        ((key, tag) for key, tag in _YEAR_TAGS if first(entry.get(key))), _YEAR_TAGS[0]
    )
    pmid = None
    accession = first_text(entry.get("accession_number"))
    if database in _PMID_DATABASES and accession and accession.strip().isdigit():
        pmid = accession  # Ovid MEDLINE and PubMed give the PMID as the accession number
    code = first_text(entry.get("type_of_reference"))
    fields = Fields(
        line=raw.start,
        title=first_text(first(entry.get("title"), entry.get("primary_title"))),
        abstract=first_text(first(entry.get("abstract"), entry.get("notes_abstract"))),
        authors=text_list(entry.get("authors")) + text_list(entry.get("first_authors")),
        year=first_text(entry.get(year_key)),
        journal=first_text(first(*(entry.get(key) for key in _JOURNAL_KEYS))),
        doi=first_text(entry.get("doi")),
        pmid=pmid,
        keywords=text_list(entry.get("keywords")),
        kind=rispy.TYPE_OF_REFERENCE_MAPPING.get(code.strip(), code) if code else None,
        lines={
            "year": raw.tag_lines.get(year_tag, raw.start),
            "doi": raw.tag_lines.get("DO", raw.start),
            "pmid": raw.tag_lines.get("AN", raw.start),
        },
    )
    return fields, database
