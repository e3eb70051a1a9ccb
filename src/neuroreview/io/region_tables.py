"""Writing the region synthesis's tables (``regions/``) as TSV, each whole or not at all."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from neuroreview.errors import NeuroreviewError
from neuroreview.model.table import ID_SEPARATOR

if TYPE_CHECKING:
    import pandas as pd

    from neuroreview.io.run_files import RunFiles

__all__ = ["ID_SEPARATOR", "as_tsv", "write_region_tables"]


def _cell(value: object) -> str:
    if isinstance(value, tuple):
        return ID_SEPARATOR.join(map(str, value))
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def as_tsv(table: pd.DataFrame) -> str:
    """Tab-separated text; id tuples joined by ``;``, missing values empty."""
    tuples = [c for c in table.columns if table[c].map(lambda v: isinstance(v, tuple)).any()]
    frame = table.copy()
    for column in tuples:
        frame[column] = frame[column].map(_cell)
    return frame.to_csv(sep="\t", index=False, na_rep="", lineterminator="\n")


def write_region_tables(
    files: RunFiles,
    folder: str,
    votes: pd.DataFrame,
    convergence: pd.DataFrame,
    exclusions,
    effects: pd.DataFrame,
    disagreements: pd.DataFrame,
) -> None:
    """The region synthesis's tables into ``folder`` of ``files``, by their layout names."""
    from neuroreview.io.layout import REGION_TABLES, within

    target = files.path(folder)
    if target.exists() and not target.is_dir():
        raise NeuroreviewError(f"--out {target} exists and is not a folder")
    tables = (votes, convergence, exclusions, effects, disagreements)
    for name, table in zip(REGION_TABLES, tables, strict=True):
        files.write_text(within(folder, name), as_tsv(table))
