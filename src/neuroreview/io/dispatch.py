"""Which reader a file needs, chosen from its name and first bytes, and reading many files at once.

All files are parsed before anything is returned, so an importer that writes only after this
returns never writes half of a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from neuroreview.errors import InputError
from neuroreview.model import Study


class InputFormat(StrEnum):
    AUTO = "auto"
    SLEUTH = "sleuth"
    NIMARE = "nimare"
    TABLES = "tables"
    NEUROSYNTH = "neurosynth"


def detect_format(path: Path) -> InputFormat:
    """The format whose reader recognises ``path``: formats told apart by their file names
    (Neurosynth's coordinates and metadata files) before those told by suffix."""
    for reader in sorted(READERS.values(), key=lambda r: not r.by_name):
        if reader.recognises(path):
            return reader.format
    described = [r.described for r in READERS.values()]
    expected = ", ".join(described[:-1]) + " or " + described[-1]
    raise InputError(
        f"cannot tell the format from the file name; expected {expected} (or pass --format)",
        path,
    )


def _neurosynth_pair(paths: list[Path]) -> tuple[Path, Path]:
    coordinates = [p for p in paths if "coordinates" in p.name.lower()]
    metadata = [p for p in paths if "metadata" in p.name.lower()]
    if len(coordinates) == 1 and not metadata:
        guess = coordinates[0].with_name(
            coordinates[0].name.lower().replace("coordinates", "metadata")
        )
        metadata = [guess] if guess.exists() else []
    if len(coordinates) != 1 or len(metadata) != 1:
        raise InputError(
            "Neurosynth input needs one coordinates file and one metadata file "
            f"(got {len(coordinates)} and {len(metadata)})",
            paths[0],
        )
    return coordinates[0], metadata[0]


#: One batch of studies read: where from (for errors), the studies, the file(s) to name when
#: there are none.
Batch = tuple[str, list[Study], list[Path]]


def _each(read: Callable[[Path], list[Study]]) -> Callable[[list[Path]], list[Batch]]:
    """A reader of one file per batch (Sleuth, NiMARE JSON)."""

    def batches(paths: list[Path]) -> list[Batch]:
        return [(str(path), read(path), [path]) for path in paths]

    return batches


def _sleuth(path: Path) -> list[Study]:
    from neuroreview.io.sleuth import read_sleuth

    return read_sleuth(path)


def _nimare(path: Path) -> list[Study]:
    from neuroreview.io.nimare_json import read_nimare_json

    return read_nimare_json(path)


def _tables(paths: list[Path]) -> list[Batch]:
    """The tables of one call are joined into the same studies: one batch."""
    from neuroreview.io.tables import read_tables

    return [(", ".join(map(str, paths)), read_tables(paths), paths)]


def _neurosynth(paths: list[Path]) -> list[Batch]:
    from neuroreview.io.neurosynth import read_neurosynth

    coordinates, metadata = _neurosynth_pair(paths)
    # The metadata file lists the studies, so it is the one to name when there are none.
    return [(str(coordinates), read_neurosynth(coordinates, metadata).to_studies(), [metadata])]


@dataclass(frozen=True)
class Reader:
    """One input format: how its files are recognised and read."""

    format: InputFormat
    read: Callable[[list[Path]], list[Batch]]
    recognises: Callable[[Path], bool]
    #: How the format's files look, for the error when none matches.
    described: str
    #: Recognised by name rather than suffix: checked before the suffix rules.
    by_name: bool = False


def _suffix(*suffixes: str) -> Callable[[Path], bool]:
    return lambda path: path.suffix.lower() in suffixes


def _neurosynth_name(path: Path) -> bool:
    name = path.name.lower()
    return "neurosynth" in name and ("coordinates" in name or "metadata" in name)


#: Every format's reader, in the order a mixed call reads them; ``detect_format`` asks each
#: whether it recognises a file when the format is ``auto``.
READERS: dict[InputFormat, Reader] = {
    reader.format: reader
    for reader in (
        Reader(InputFormat.SLEUTH, _each(_sleuth), _suffix(".txt"), "a Sleuth .txt"),
        Reader(InputFormat.NIMARE, _each(_nimare), _suffix(".json"), "NiMARE .json"),
        Reader(InputFormat.TABLES, _tables, _suffix(".csv", ".tsv"), "a .csv/.tsv table"),
        Reader(
            InputFormat.NEUROSYNTH,
            _neurosynth,
            _neurosynth_name,
            "Neurosynth coordinates/metadata files",
            by_name=True,
        ),
    )
}


def read_inputs(
    paths: Sequence[str | Path], fmt: InputFormat | str = InputFormat.AUTO
) -> list[Study]:
    """Read every file into studies; table files of one call are joined into the same studies.

    A file (or the tables of one call, together) that yields no study is an error: importing
    "0 studies" with success is almost always a wrong or truncated file.
    """
    fmt = InputFormat(fmt)
    groups: dict[InputFormat, list[Path]] = {}
    for raw in paths:
        path = Path(raw)
        kind = detect_format(path) if fmt is InputFormat.AUTO else fmt
        groups.setdefault(kind, []).append(path)
    batches: list[tuple[str, list[Study]]] = []
    for kind, reader in READERS.items():
        if groups.get(kind):
            batches += [
                (source, _some_studies(studies, named))
                for source, studies, named in reader.read(groups[kind])
            ]
    return _concatenate_unique(batches)


def _some_studies(studies: list[Study], paths: Sequence[Path]) -> list[Study]:
    """``studies``, unless empty: then an error naming the file(s) they were read from.

    Tables are checked together, not one by one: an empty region_findings table beside a
    studies table (as ``export --format csv`` writes) is fine.
    """
    if not studies:
        verb = "holds" if len(paths) == 1 else "hold"
        raise InputError(f"{verb} no studies", ", ".join(map(str, paths)))
    return studies


def _concatenate_unique(batches: list[tuple[str, list[Study]]]) -> list[Study]:
    """All studies in order; a study id found in two files is an error naming both files."""
    origin: dict[str, str] = {}
    studies: list[Study] = []
    for source, batch in batches:
        for study in batch:
            if study.id in origin:
                raise InputError(
                    f"study {study.id!r} is also in {origin[study.id]}; give it one id per study",
                    source,
                )
            origin[study.id] = source
            studies.append(study)
    return studies
