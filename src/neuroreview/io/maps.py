"""Writing meta-analysis results: NIfTI maps and cluster tables.

Kept out of the statistical core (``cbma`` never touches files) and written the way every
output here is: to a temporary file beside the target, then renamed, so a failure never leaves
half a map or half a table behind.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd

from neuroreview.cbma.results import CBMAResult
from neuroreview.io.atomic import atomic_path, atomic_write_text


def write_maps(result: CBMAResult, directory: Path, names: list[str] | None = None) -> list[Path]:
    """Write ``<name>.nii.gz`` for each map (all by default) into ``directory``.

    Compressed with a zero timestamp so the same result always gives the same bytes: a rerun
    with the same seed can be checked with a checksum.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names if names is not None else sorted(result.maps):
        target = directory / f"{name}.nii.gz"
        payload = gzip.compress(result.to_nifti(name).to_bytes(), compresslevel=6, mtime=0)
        with atomic_path(target) as temporary:
            temporary.write_bytes(payload)
        written.append(target)
    return written


def write_cluster_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a cluster table as TSV (empty cells for missing values).

    Floats keep six significant digits: coordinates are whole millimetres on the grid and more
    digits of a z or p would suggest a precision the Monte Carlo estimate does not have.
    """
    text = table.to_csv(sep="\t", index=False, na_rep="", float_format="%.6g", lineterminator="\n")
    return atomic_write_text(path, text)
