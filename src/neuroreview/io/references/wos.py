"""Web of Science "plain text" (tagged) exports, the RIS dialect rispy calls WoK.

Web of Science exports records as two-letter tags and a space, continuation lines indented by
three spaces, each record from ``PT`` to ``ER``, the file framed by ``FN``/``VR`` and ``EF``::

    FN Clarivate Analytics Web of Science
    VR 1.0
    PT J
    AU Abdallah, CG
       Averill, LA
    AF Abdallah, Chadi G.
       Averill, Lynnette A.
    TI Ketamine's mechanism of action: a path to rapid-acting antidepressants
    PY 2016
    ER

    EF

It is read as format ``"ris"`` (rispy's :class:`rispy.WokParser` reads it), with the database
``"Web of Science"``. As for RIS, the lines are checked here first so that a stray line or a
record without ``ER`` is reported at its line instead of being merged or dropped by the parser.
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
    first,
    first_text,
    shorten,
    split_cell,
    text_list,
)

SOURCE = "Web of Science"
_TAG = re.compile(r"^([A-Z][A-Z0-9])(?: (.*))?$")
_CONTINUATION = re.compile(r"^ {2,}\S")
_START, _END = "PT", "ER"
# File framing: FN (file name), VR (version) before the records, EF (end of file) after them.
_FRAME = {"FN", "VR", "EF"}


def looks_like_wos(first_line: str) -> bool:
    """Whether a file's first non-blank line opens a Web of Science tagged export."""
    return bool(re.match(r"^(FN|VR|PT) \S", first_line))


@dataclass
class _RawRecord:
    start: int
    lines: list[str] = field(default_factory=list)
    tag_lines: dict[str, int] = field(default_factory=dict)


def parse_wos(text: str, path: Path, source: str | Path) -> Parsed:
    """Read Web of Science tagged ``text`` (see the module docstring)."""
    parser = rispy.WokParser()
    records = []
    for ordinal, raw in enumerate(_split_records(split_lines(text), source), start=1):
        try:
            entries = parser.parse_lines(iter([*raw.lines, _END]))
        except Exception as error:  # rispy's own failures become the file's error
            raise InputError(
                f"rispy cannot read this record ({error!r})", source, raw.start
            ) from None
        records.append(build_record(_fields(entries[0], raw), ordinal, path, source))
    return Parsed(records, SOURCE)


def _split_records(lines: list[str], source: str | Path) -> list[_RawRecord]:
    records: list[_RawRecord] = []
    current: _RawRecord | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        tag = _TAG.match(line)
        name = tag.group(1) if tag else None
        if current is None:
            if name == _START:
                current = _RawRecord(start=number, lines=[line], tag_lines={_START: number})
            elif name not in _FRAME:
                raise InputError(
                    f"{shorten(line.strip())!r} is outside any record; a Web of Science record "
                    "runs from its 'PT' line to its 'ER' line",
                    source,
                    number,
                )
            continue
        if name == _START:
            raise InputError(
                f"a new record starts here but the record that starts on line {current.start} "
                "has no 'ER' line",
                source,
                number,
            )
        if name == _END:
            records.append(current)
            current = None
        elif name is not None:
            current.lines.append(line)
            current.tag_lines.setdefault(name, number)
        elif _CONTINUATION.match(line) and len(current.lines) > 1:
            current.lines.append("   " + line.strip())
        else:
            raise InputError(
                f"{shorten(line.strip())!r} is neither a tag nor the continuation of one (a "
                "continuation line starts with three spaces)",
                source,
                number,
            )
    if current is not None:
        raise InputError(
            "this record has no 'ER' line before the end of the file (is the file cut short?)",
            source,
            current.start,
        )
    return records


def _fields(entry: dict, raw: _RawRecord) -> Fields:
    return Fields(
        line=raw.start,
        title=first_text(entry.get("document_title")),
        abstract=first_text(entry.get("abstract")),
        authors=text_list(first(entry.get("author_full_name"), entry.get("authors"))),
        year=first_text(first(entry.get("publication_year"), entry.get("early_access_year"))),
        journal=first_text(entry.get("publication_name")),
        doi=first_text(entry.get("doi")),
        pmid=first_text(entry.get("pubmed_id")),
        keywords=split_cell(first_text(entry.get("author_keywords")))
        + split_cell(first_text(entry.get("keywords_plus"))),
        kind=first_text(first(entry.get("document_type"), entry.get("publication_type"))),
        lines={
            "year": raw.tag_lines.get("PY", raw.tag_lines.get("EY", raw.start)),
            "doi": raw.tag_lines.get("DI", raw.start),
            "pmid": raw.tag_lines.get("PM", raw.start),
        },
    )
