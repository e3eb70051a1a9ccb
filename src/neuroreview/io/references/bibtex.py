"""BibTeX exports (Scopus, Web of Science, Zotero, JabRef, Google Scholar) read with bibtexparser 2.

bibtexparser keeps going past a broken entry and lists it in ``library.failed_blocks``; here any
such block makes the whole file an error naming its line, so a file is never half-imported.
Citation keys repeated in one file are the exception: a database export's keys (Scopus writes
``Smith2019`` for every Smith of 2019) mean nothing to a review, so those entries are read like
the others. LaTeX is decoded by bibtexparser's :class:`LatexDecodingMiddleware` (``{\\"u}`` ->
``ü``, ``$\\alpha$`` -> ``α``) before names are split, so protective braces keep
``{World Health Organization}`` one name; names come out as "Family, Given".

``kind`` is the entry type (``article``, ``inproceedings``...). The database is named when
entries say so: Scopus writes ``source = {Scopus}``, Web of Science ``unique-id = {WOS:...}``.
"""

from __future__ import annotations

import re
from pathlib import Path

import bibtexparser
from bibtexparser import middlewares
from bibtexparser.middlewares.middleware import Middleware
from bibtexparser.model import DuplicateBlockKeyBlock, Entry, ImplicitComment, ParsingFailedBlock

from neuroreview.errors import InputError
from neuroreview.io.references._fields import (
    Fields,
    Parsed,
    build_record,
    first,
    known_database,
    one_source,
    shorten,
)

_PMID_FIELDS = ("pmid", "pubmed", "pubmedid", "pubmed_id", "pubmed-id")
_JOURNAL_FIELDS = ("journal", "journaltitle", "booktitle", "series")
_KEYWORD_FIELDS = ("keywords", "keywords-plus", "author_keywords", "mesh")
_BRACES = re.compile(r"(?<!\\)[{}]")
# Text between entries is a comment to BibTeX, so an entry that lost its "@" would vanish
# without a word; a line reading like an entry head or a field assignment is reported instead.
_LOST_ENTRY = re.compile(
    r"^[ \t]*(?:[A-Za-z]+[ \t]*\{[^,{}\s]*,|[A-Za-z][\w-]*[ \t]*=[ \t]*[{\"0-9])", re.MULTILINE
)
# "and others" ends an abbreviated author list; it is not a person.
_NOT_AUTHORS = {"others", "et al.", "et al"}


def _parse_stack() -> list[Middleware]:
    return [
        # Decoding first, keeping braced groups, so "{van der} Berg" and "{WHO}" still protect
        # their words when names are split; the braces are dropped afterwards.
        middlewares.LatexDecodingMiddleware(keep_braced_groups=True, keep_math_mode=False),
        middlewares.SeparateCoAuthors(),
        middlewares.SplitNameParts(),
        middlewares.MergeNameParts(style="last"),
    ]


def parse_bibtex(text: str, path: Path, source: str | Path) -> Parsed:
    """Read BibTeX ``text``; every failed block is an InputError at its line."""
    library = bibtexparser.parse_string(text, append_middleware=_parse_stack())
    entries: list[Entry] = []
    for block in library.blocks:  # in file order, so the first problem is the one reported
        if isinstance(block, DuplicateBlockKeyBlock):
            entries.append(_reparse(block, source))
        elif isinstance(block, ParsingFailedBlock):
            raise InputError(_failure(block), source, _line(block))
        elif isinstance(block, ImplicitComment):
            _check_comment(block, source)
        elif isinstance(block, Entry):
            entries.append(block)
    records, databases = [], []
    for ordinal, entry in enumerate(entries, start=1):
        values = {f.key.lower(): f.value for f in entry.fields}
        databases.append(_database(values))
        records.append(build_record(_fields(entry, values), ordinal, path, source))
    return Parsed(records, one_source(databases))


def _reparse(block: DuplicateBlockKeyBlock, source: str | Path) -> Entry:
    """The entry behind a repeated key, read on its own with the same middlewares."""
    alone = bibtexparser.parse_string(block.raw or "", append_middleware=_parse_stack())
    if alone.failed_blocks or len(alone.entries) != 1:
        problem = alone.failed_blocks[0] if alone.failed_blocks else block
        raise InputError(_failure(problem), source, _line(block))
    entry = alone.entries[0]
    return Entry(entry.entry_type, entry.key, entry.fields, block.start_line, block.raw)


def _check_comment(block: ImplicitComment, source: str | Path) -> None:
    text = block.raw or ""
    lost = _LOST_ENTRY.search(text)
    if lost is not None:
        line = (block.start_line or 0) + text.count("\n", 0, lost.start()) + 1
        raise InputError(
            f"{shorten(text[lost.start() :].strip().splitlines()[0])!r} is outside any entry, so "
            "BibTeX would ignore it; does an entry lack its '@type{key,' head?",
            source,
            line,
        )


def _line(block: object) -> int | None:
    start = getattr(block, "start_line", None)
    return start + 1 if start is not None else None  # bibtexparser counts lines from 0


def _failure(block: ParsingFailedBlock) -> str:
    error = block.error
    reason = getattr(error, "abort_reason", None) or str(error) or type(error).__name__
    what = f"entry '{block.key}'" if isinstance(block, DuplicateBlockKeyBlock) else "this entry"
    return f"bibtexparser cannot read {what}: {reason.strip()}"


def _fields(entry: Entry, values: dict[str, object]) -> Fields:
    pmid = first(*(values.get(key) for key in _PMID_FIELDS))
    if pmid is None and str(values.get("eprinttype", "")).strip().lower() == "pubmed":
        pmid = values.get("eprint")
    keywords = [word for key in _KEYWORD_FIELDS for word in _split_keywords(values.get(key))]
    return Fields(
        line=(entry.start_line or 0) + 1,
        title=_plain(values.get("title")),
        abstract=_plain(values.get("abstract")),
        authors=_authors(values.get("author")),
        year=_plain(first(values.get("year"), values.get("date"))),
        journal=_plain(first(*(values.get(key) for key in _JOURNAL_FIELDS))),
        doi=_plain(values.get("doi")),
        pmid=_plain(pmid),
        keywords=keywords,
        kind=entry.entry_type,
    )


def _plain(value: object) -> str | None:
    """A decoded field without the braces that only protected its case."""
    if value is None:
        return None
    return _BRACES.sub("", str(value))


def _authors(value: object) -> list[str]:
    names = value if isinstance(value, list) else [value] if value else []
    plain = (_plain(name) or "" for name in names)
    return [name for name in plain if name.strip().lower() not in _NOT_AUTHORS]


def _split_keywords(value: object) -> list[str]:
    text = _plain(value)
    if not text:
        return []
    separator = ";" if ";" in text else ","
    return text.split(separator)


def _database(values: dict[str, object]) -> str | None:
    unique_id = str(values.get("unique-id", "")).strip().upper()
    if unique_id.startswith(("WOS:", "ISI:")) or "web-of-science-index" in values:
        return "Web of Science"
    return known_database(_plain(values.get("source")))
