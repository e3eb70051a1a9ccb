"""A run folder as a manifest of normalised file hashes: what "the same output" means.

A refactoring of the pipeline must leave every file of a run as it was, for the same seed. Some
fields change from one run to the next whatever the code: the time each step took, package
versions, the store's creation timestamp, the hashes the provenance records of files holding
those, and the temporary folder a test ran in. They are normalised away here; everything else is
hashed byte for byte. ``tools/update_run_manifests.py`` writes the manifests the tests compare
against, from the code as it is.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

#: Keys whose values change between runs of the same code and seed.
VOLATILE_KEYS = frozenset({"timings_s", "seconds", "versions", "report_sha256"})
#: Files whose own bytes hold volatile fields: the provenance's hash of them cannot be compared.
VOLATILE_FILES = (".json", ".html", ".db")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?")
_VERSIONS_LIST = re.compile(r'(<section id="provenance">.*?<dl class="settings">).*?(</dl>)', re.S)
#: The methods text names the versions the analyses ran with, as a fresh install resolves them.
_VERSIONS_SENTENCE = re.compile(r"(Analyses were run with neuroreview \S+ \()[^)]*(\))")


def _drop_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        cleaned = {k: _drop_volatile(v) for k, v in value.items() if k not in VOLATILE_KEYS}
        if isinstance(cleaned.get("path"), str) and cleaned["path"].endswith(VOLATILE_FILES):
            cleaned.pop("sha256", None)
            cleaned.pop("bytes", None)
        return cleaned
    if isinstance(value, list):
        return [_drop_volatile(v) for v in value]
    return value


def normalised(path: Path, replacements: dict[str, str]) -> bytes:
    """The bytes of ``path`` with the volatile fields removed and ``replacements`` applied."""
    if path.suffix == ".db":
        connection = sqlite3.connect(path)
        try:
            # Sorted: SQLAlchemy creates indexes in a set's order, which varies by process.
            text = "\n".join(sorted(connection.iterdump()))
        finally:
            connection.close()
        text = _TIMESTAMP.sub("<time>", text)
    elif path.suffix == ".json":
        document = _drop_volatile(json.loads(path.read_text(encoding="utf-8")))
        text = json.dumps(document, indent=1, sort_keys=True)
    elif path.suffix in (".html", ".tsv", ".txt", ".svg", ".csv", ".md", ".toml"):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".html":
            text = _VERSIONS_SENTENCE.sub(r"\1\2", _VERSIONS_LIST.sub(r"\1\2", text))
    else:
        return path.read_bytes()
    for old, new in replacements.items():
        text = text.replace(old, new)
    return text.encode("utf-8")


def manifest(folder: Path, replacements: dict[str, str] | None = None) -> dict[str, str]:
    """Relative path -> sha256 of the normalised bytes, for every file under ``folder``."""
    replacements = replacements or {}
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(
            normalised(path, replacements)
        ).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


#: The runs the manifests pin: (name, extra arguments of `neuroreview run`). The built-in
#: corpus at the default settings, and the report tests' synthetic corpus as a user's files.
RUNS = {
    "builtin": ["--iterations", "200", "--seed", "3"],
    "user": ["--iterations", "100", "--seed", "0"],
}
MANIFESTS = Path(__file__).parent / "data" / "manifests"


def run_and_hash(name: str, workdir: Path) -> dict[str, str]:
    """Run ``name`` of :data:`RUNS` into ``workdir/out`` and return the folder's manifest."""
    from typer.testing import CliRunner

    from neuroreview.cli.app import app
    from neuroreview.io.tables import write_tables

    args = list(RUNS[name])
    replacements = {str(workdir): "<workdir>"}
    if name == "user":
        from report_data import STUDIES

        corpus = workdir / "corpus"
        files = sorted(write_tables(STUDIES, corpus, fmt="tsv"))
        args += [a for path in files for a in ("--corpus", str(path))]
    out = workdir / "out"
    result = CliRunner().invoke(app, ["run", *args, "--jobs", "2", "--out", str(out)])
    if result.exit_code != 0:
        raise AssertionError(result.output)
    return manifest(out, replacements)
