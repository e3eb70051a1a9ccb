"""Which reference format a file is in: by its suffix, and by its first line when the suffix
does not say (``.txt`` is what PubMed, Web of Science and many RIS exports are saved as)."""

from __future__ import annotations

import re
from pathlib import Path

from neuroreview.errors import InputError
from neuroreview.io.references.medline import looks_like_medline
from neuroreview.io.references.wos import looks_like_wos

#: The formats :func:`neuroreview.io.references.read_references` reads.
REFERENCE_FORMATS: tuple[str, ...] = ("ris", "bibtex", "medline", "csv", "jsonl")

_SUFFIXES = {
    ".ris": "ris",
    ".ciw": "ris",  # Web of Science's tagged export saved for EndNote
    ".bib": "bibtex",
    ".bibtex": "bibtex",
    ".nbib": "medline",
    ".medline": "medline",
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_RIS_START = re.compile(r"^TY  -(?:\s|$)")


def format_by_suffix(path: Path) -> str | None:
    """The format a file's suffix names (``.gz`` looked through), None for ``.txt`` and others."""
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return _SUFFIXES.get(suffixes[-1]) if suffixes else None


def format_by_content(text: str) -> str | None:
    """The format a file's first non-blank line shows, None when it shows none."""
    line = first_line(text)
    if _RIS_START.match(line) or looks_like_wos(line):
        return "ris"
    if looks_like_medline(line):
        return "medline"
    if line.startswith("@"):
        return "bibtex"
    if line.startswith("{"):
        return "jsonl"
    if len(line.split("\t")) >= 3:
        return "csv"  # a tab-delimited table, e.g. Web of Science's savedrecs.txt
    return None


def first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), "")


def unknown_format(path: str | Path) -> InputError:
    return InputError(
        "cannot tell the reference format from the file name or its first line; save it as "
        ".ris, .bib, .nbib (PubMed MEDLINE), .csv/.tsv or .jsonl, or name the format "
        f"(one of: {', '.join(REFERENCE_FORMATS)})",
        path,
    )
