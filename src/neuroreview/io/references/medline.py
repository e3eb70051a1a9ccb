"""PubMed's "MEDLINE" format (the ``.nbib`` of "Send to: Citation manager"), read line by line.

Each line is a tag of up to four capitals padded to four characters, ``"- "`` and a value, or a
continuation of the value above indented by six spaces; records are separated by blank lines::

    PMID- 29518520
    TI  - Ketamine effects on resting-state connectivity: a placebo-controlled
          pharmacological fMRI study.
    FAU - Scheidegger, Milan
    AU  - Scheidegger M
    DP  - 2012 Jun
    LID - 10.1371/journal.pone.0044799 [doi]
    PT  - Journal Article

The format is small and regular, so it is parsed here rather than through a library: every line
that is neither a tag nor a continuation, and a record that runs into the next without its blank
line (two ``PMID`` lines in one record), is reported at its line. Authors are the full names
(``FAU``, "Family, Given") when given, else the short ones (``AU``); the journal is ``JT``, else
``TA``; the DOI is the ``LID``/``AID`` marked ``[doi]``; ``kind`` lists every ``PT`` in file
order; keywords are the ``MH`` and ``OT`` terms as written. The database is PubMed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from neuroreview.errors import InputError
from neuroreview.io._source import split_lines
from neuroreview.io.references._fields import Fields, Parsed, build_record, shorten

SOURCE = "PubMed"
# "PMID- 123", "TI  - Title", "AB  -" (empty): the tag padded to four characters, then "- ".
_TAG = re.compile(r"^([A-Z][A-Z0-9]{1,3}) {0,2}-(?: (.*))?$")
_CONTINUATION = re.compile(r"^\s+\S")
_DOI_MARK = re.compile(r"\s*\[doi\]\s*$", re.IGNORECASE)


def looks_like_medline(first_line: str) -> bool:
    """Whether a file's first non-blank line is a MEDLINE tag line (``PMID- 123``...)."""
    match = _TAG.match(first_line)
    return match is not None and len(first_line) >= 5 and first_line[4] == "-"


@dataclass
class _RawRecord:
    """One record's values per tag, each with the line it starts on."""

    start: int
    values: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    last: list[tuple[str, int]] | None = None

    def add(self, tag: str, value: str, number: int) -> None:
        self.last = self.values.setdefault(tag, [])
        self.last.append((value, number))

    def extend(self, text: str) -> None:
        assert self.last is not None
        value, number = self.last[-1]
        self.last[-1] = (f"{value} {text}".strip(), number)

    def all(self, *tags: str) -> list[str]:
        return [value for tag in tags for value, _ in self.values.get(tag, [])]

    def one(self, *tags: str) -> tuple[str | None, int]:
        """The first value of the first tag present, with its line."""
        for tag in tags:
            if self.values.get(tag):
                return self.values[tag][0]
        return None, self.start

    def in_order(self, *tags: str) -> list[str]:
        found = [(number, value) for tag in tags for value, number in self.values.get(tag, [])]
        return [value for _, value in sorted(found, key=lambda item: item[0])]


def parse_medline(text: str, path: Path, source: str | Path) -> Parsed:
    """Read MEDLINE ``text`` (see the module docstring)."""
    raw_records = _split_records(split_lines(text), source)
    records = [
        build_record(_fields(raw), ordinal, path, source)
        for ordinal, raw in enumerate(raw_records, start=1)
    ]
    return Parsed(records, SOURCE)


def _split_records(lines: list[str], source: str | Path) -> list[_RawRecord]:
    records: list[_RawRecord] = []
    current: _RawRecord | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            current = None
            continue
        tag = _TAG.match(line)
        if tag is not None and line[4:5] == "-":
            name, value = tag.group(1), (tag.group(2) or "").strip()
            if current is None:
                current = _RawRecord(start=number)
                records.append(current)
            elif name == "PMID" and "PMID" in current.values:
                first_line = current.values["PMID"][0][1]
                raise InputError(
                    f"a second PMID line in the record that starts on line {current.start} (its "
                    f"PMID is on line {first_line}); separate records with a blank line",
                    source,
                    number,
                )
            current.add(name, value, number)
        elif _CONTINUATION.match(line) and current is not None:
            current.extend(line.strip())
        else:
            raise InputError(
                f"{shorten(line.strip())!r} is neither a MEDLINE tag line ('TI  - Title') nor "
                "a continuation line indented by six spaces",
                source,
                number,
            )
    return records


def _fields(raw: _RawRecord) -> Fields:
    title, _ = raw.one("TI", "BTI")
    abstract, _ = raw.one("AB")
    year, year_line = raw.one("DP", "DEP")
    journal, _ = raw.one("JT", "TA")
    pmid, pmid_line = raw.one("PMID")
    doi, doi_line = _doi(raw)
    kinds = raw.all("PT")
    return Fields(
        line=raw.start,
        title=title,
        abstract=abstract,
        authors=raw.all("FAU") or raw.all("AU"),
        year=year,
        journal=journal,
        doi=doi,
        pmid=pmid,
        keywords=raw.in_order("MH", "OT"),
        kind="; ".join(kinds) if kinds else None,
        lines={"year": year_line, "pmid": pmid_line, "doi": doi_line},
    )


def _doi(raw: _RawRecord) -> tuple[str | None, int]:
    for tag in ("LID", "AID"):
        for value, number in raw.values.get(tag, []):
            if _DOI_MARK.search(value):
                return _DOI_MARK.sub("", value), number
    return None, raw.start
