"""Writing studies out, in every format ``neuroreview export`` offers, declared once.

Each format names its writer (to a file or folder) and, when it is one file, its renderer (to
text, for standard output). Every writer returns an :class:`ExportSummary`, so callers print the
same account whatever the format: the counts of what the file holds, and for Sleuth, which holds
coordinates only, every study or experiment left out with the reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from neuroreview.errors import InputError
from neuroreview.model import Space, Study

if TYPE_CHECKING:
    from neuroreview.io.sleuth import SleuthLeftOut

#: Decimals kept for coordinates converted to another space: 0.01 mm is far below a 2 mm voxel
#: and the transforms' own accuracy, and hides float noise such as 17.322400000000002.
CONVERTED_DECIMALS = 2


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote: the counts printed are those of the file, not of the selection."""

    n_studies: int
    contents: str
    destination: str
    left_out: tuple[SleuthLeftOut, ...] = ()


@dataclass(frozen=True)
class Written:
    """The studies a writer wrote (or rendered), and the text when rendered for a stream."""

    studies: Sequence[Study]
    contents: str
    left_out: tuple[SleuthLeftOut, ...] = ()
    text: str | None = None


@dataclass(frozen=True)
class ExportFormat:
    key: str
    #: Write to ``path``; with ``path=None`` render to text (one-file formats only).
    write: Callable[[Sequence[Study], Path | None, Space | None], Written]
    #: A folder of tables, which cannot go to standard output.
    folder: bool = False
    #: Only Sleuth converts spaces on the way out.
    converts_space: bool = False


def _sleuth(studies: Sequence[Study], path: Path | None, space: Space | None) -> Written:
    """Write what Sleuth can hold; refuse when that is nothing rather than write an empty file."""
    from neuroreview.io.sleuth import render_sleuth, sleuth_writable, write_sleuth

    writable, left_out = sleuth_writable(studies)
    if not writable:
        raise InputError(_nothing_for_sleuth(len(studies), left_out))
    if space is None:
        _check_one_space(writable)
    if path is None:
        text, result = render_sleuth(writable, space=space, decimals=CONVERTED_DECIMALS)
    else:
        text = None
        result = write_sleuth(writable, path, space=space, decimals=CONVERTED_DECIMALS)
    experiments = count(result.n_experiments, "experiment")
    return Written(writable, experiments, tuple(left_out), text)


def _json(write_name: str, render_name: str) -> Callable[..., Written]:
    def write(studies: Sequence[Study], path: Path | None, space: Space | None) -> Written:
        from neuroreview.io import nimare_json

        if path is None:
            return Written(
                studies, contents(studies), text=getattr(nimare_json, render_name)(studies)
            )
        getattr(nimare_json, write_name)(studies, path)
        return Written(studies, contents(studies))

    return write


def _tables(fmt: str) -> Callable[..., Written]:
    def write(studies: Sequence[Study], path: Path | None, space: Space | None) -> Written:
        from neuroreview.io.tables import write_tables

        write_tables(studies, path, fmt=fmt)
        return Written(studies, contents(studies))

    return write


EXPORT_FORMATS: dict[str, ExportFormat] = {
    spec.key: spec
    for spec in (
        ExportFormat("sleuth", _sleuth, converts_space=True),
        ExportFormat("nimads", _json("write_nimads", "format_nimads")),
        ExportFormat("nimare-dataset", _json("write_nimare_dataset", "format_nimare_dataset")),
        ExportFormat("csv", _tables("csv"), folder=True),
        ExportFormat("tsv", _tables("tsv"), folder=True),
    )
}


def export_studies(
    studies: Sequence[Study], fmt: str, path: Path | None, space: Space | None = None
) -> tuple[ExportSummary, str | None]:
    """Write ``studies`` as ``fmt`` to ``path`` (None: render to text); the summary, and the
    text when rendered."""
    spec = EXPORT_FORMATS[fmt]
    if path is None:
        check_streamable(fmt)
    written = spec.write(studies, path, space)
    destination = "standard output" if path is None else str(path)
    summary = ExportSummary(len(written.studies), written.contents, destination, written.left_out)
    return summary, written.text


def check_streamable(fmt: str) -> None:
    """Refuse standard output for a format that writes a folder."""
    if EXPORT_FORMATS[fmt].folder:
        raise InputError(
            f"--out - cannot be used with --format {fmt}: it writes a folder of three "
            "tables; give --out a folder name"
        )


def _check_one_space(studies: Sequence[Study]) -> None:
    """A Sleuth file holds one space; name the option that converts, not the Python argument."""
    counts = Counter(analysis.space.value for study in studies for analysis in study.analyses)
    if len(counts) > 1:
        found = ", ".join(
            f"{space}: {count(n, 'analysis', 'analyses')}" for space, n in sorted(counts.items())
        )
        raise InputError(
            f"the analyses to export are in mixed spaces ({found}) but a Sleuth file holds one; "
            "add --space mni or --space tal to convert them (Lancaster pooled transform)"
        )


def _nothing_for_sleuth(n_matching: int, left_out: Sequence[SleuthLeftOut]) -> str:
    """Why every matching study was left out, so the user knows whether another format helps."""
    from neuroreview.io.sleuth import NO_COORDINATES

    verb = "matches" if n_matching == 1 else "match"
    matching = f"{count(n_matching, 'study', 'studies')} {verb}"
    reasons = Counter(item.reason for item in left_out)
    if set(reasons) == {NO_COORDINATES}:
        return (
            f"nothing to export: {matching}, none has coordinates (Sleuth holds coordinates only)"
        )
    found = ", ".join(f"{reason}: {n}" for reason, n in reasons.most_common())
    return f"nothing to export: {matching}, none can be written to Sleuth ({found})"


def contents(studies: Sequence[Study]) -> str:
    """Counts worded as `import` words them, so an export and its re-import can be compared."""
    n_analyses = sum(len(s.analyses) for s in studies)
    n_foci = sum(s.n_foci for s in studies)
    n_findings = sum(len(s.region_findings) for s in studies)
    return ", ".join(
        [
            count(n_analyses, "analysis", "analyses"),
            count(n_foci, "focus", "foci"),
            count(n_findings, "region finding"),
        ]
    )


def count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else plural or singular + 's'}"
