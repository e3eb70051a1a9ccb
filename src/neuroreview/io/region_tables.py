"""Writing the region synthesis's tables (``regions/``) as TSV, each whole or not at all."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from neuroreview.errors import NeuroreviewError

if TYPE_CHECKING:
    import pandas as pd

#: Joins the study ids of one table cell.
ID_SEPARATOR = ";"


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
    out: Path,
    votes: pd.DataFrame,
    convergence: pd.DataFrame,
    exclusions,
    effects: pd.DataFrame,
    disagreements: pd.DataFrame,
) -> None:
    from neuroreview.io.atomic import atomic_write_text

    if out.exists() and not out.is_dir():
        raise NeuroreviewError(f"--out {out} exists and is not a folder")
    from neuroreview.io.layout import REGION_TABLES

    tables = (votes, convergence, exclusions, effects, disagreements)
    for name, table in zip(REGION_TABLES, tables, strict=True):
        atomic_write_text(out / name, as_tsv(table))
