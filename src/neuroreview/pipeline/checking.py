"""The coordinate check of a corpus (``neuroreview check``): which foci fail and why, as a table.

The rules are :func:`neuroreview.cbma.checks.check_coordinates`'s; this stage loads the studies
(files, the built-in corpus or a store), runs the check and writes the flags as TSV.
"""

from __future__ import annotations

from pathlib import Path

from neuroreview.errors import NeuroreviewError
from neuroreview.model import Study

#: Columns of the flag table ``check --out`` writes.
COLUMNS = ("study_id", "analysis_id", "focus", "x", "y", "z", "space", "reason", "distance_mm")


def load_studies(inputs: list[Path] | None, db: str, builtin: bool) -> list[Study]:
    """The studies to check: files, the built-in corpus, or a store (never created here)."""
    from neuroreview.pipeline.corpus import builtin_studies, file_studies, store_studies

    if builtin and inputs:
        raise NeuroreviewError("give either INPUT files or --builtin, not both")
    if builtin:
        return builtin_studies()
    if inputs:
        return file_studies(inputs)
    return store_studies(db)[0]


def check_studies(studies: list[Study]) -> list:
    """Every flagged focus (``cbma.checks.CoordinateFlag``), in study order."""
    from neuroreview.cbma.checks import check_coordinates

    return check_coordinates(studies)


def write_flags(out: Path, flags: list) -> Path:
    """The flags as TSV at ``out`` (focus numbered from 1), never over an existing file."""
    from neuroreview.io.atomic import atomic_write_text

    if out.exists():
        raise NeuroreviewError(f"--out {out} exists; choose a new file")
    rows = ["\t".join(COLUMNS)] + [
        "\t".join(
            str(v)
            for v in (
                f.study_id,
                f.analysis_id,
                f.focus_index + 1,
                f"{f.x:g}",
                f"{f.y:g}",
                f"{f.z:g}",
                f.space,
                f.reason.value,
                f"{f.distance_mm:g}",
            )
        )
        for f in flags
    ]
    return atomic_write_text(out, "\n".join(rows) + "\n")
