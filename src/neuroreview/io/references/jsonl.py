"""JSON Lines: one citation per line as a JSON object, optionally with a reviewer's ``labels``.

This is the shape of labelled screening sets such as ``shared/data/screening/
neuro_meta_analyses.jsonl`` (papers with the labels one reviewer gave them), which the screening
simulations replay::

    {"pmid": 37697725, "doi": "10.1177/2396...", "year": "2023", "journal": "Eur Stroke J",
     "authors": "Yang, Sheng and Webb, Alastair", "title": "...", "abstract": "...",
     "keywords": "cerebral small vessel disease\\nneurovascular coupling", "labels": ["exclude"]}

Keys read: title, abstract, authors (a list, or one text joined by " and " or ";"), year (number
or text), journal, doi, pmid, keywords (a list, or one text split at newlines, else ";", else
","), labels (a list of texts); pmcid and other keys are ignored. A line that is not a JSON
object, or a key holding the wrong kind of value, is an InputError at its line. The labels come
back in :attr:`ReferenceFile.labels`, one list per record in record order (an empty list for a
record without them); a file where no line has a ``labels`` key has no labels (None).
"""

from __future__ import annotations

import json
from pathlib import Path

from neuroreview.errors import InputError
from neuroreview.io._source import split_lines
from neuroreview.io.references._fields import Fields, Parsed, build_record, shorten


def parse_jsonl(text: str, path: Path, source: str | Path) -> Parsed:
    """Read JSON Lines ``text``; blank lines are skipped."""
    records, labels, labelled = [], [], False
    for number, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            continue
        item = _object(line, source, number)
        labelled = labelled or "labels" in item
        labels.append(_labels(item.get("labels"), source, number))
        fields = Fields(
            line=number,
            title=_text(item, "title", source, number),
            abstract=_text(item, "abstract", source, number),
            authors=_authors(item.get("authors"), source, number),
            year=item.get("year"),
            journal=_text(item, "journal", source, number),
            doi=item.get("doi"),
            pmid=item.get("pmid"),
            keywords=_keywords(item.get("keywords"), source, number),
        )
        records.append(build_record(fields, len(records) + 1, path, source))
    return Parsed(records, None, labels if labelled else None)


def _object(line: str, source: str | Path, number: int) -> dict:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as error:
        raise InputError(
            f"this line is not valid JSON ({error.msg} at column {error.colno}); JSON Lines "
            "holds one JSON object per line",
            source,
            number,
        ) from None
    if not isinstance(item, dict):
        raise InputError(
            f"this line holds a JSON {type(item).__name__}, not an object; JSON Lines holds one "
            'object per line ({"title": ..., ...})',
            source,
            number,
        )
    return item


def _text(item: dict, key: str, source: str | Path, number: int) -> str | None:
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        raise InputError(f"'{key}' must be text, not {shorten(repr(value))}", source, number)
    return value


def _authors(value: object, source: str | Path, number: int) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        separator = ";" if ";" in value else " and "
        return value.split(separator)
    return _strings(value, "authors", source, number)


def _keywords(value: object, source: str | Path, number: int) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        separator = next((s for s in ("\n", ";", ",") if s in value), "\n")
        return value.split(separator)
    return _strings(value, "keywords", source, number)


def _labels(value: object, source: str | Path, number: int) -> list[str]:
    return list(_strings(value, "labels", source, number)) if value is not None else []


def _strings(value: object, key: str, source: str | Path, number: int) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(
            f"'{key}' must be a list of texts, not {shorten(repr(value))}", source, number
        )
    return value
