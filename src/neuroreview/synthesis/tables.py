"""The region synthesis's side tables: what was left out, and where authors and atlas disagree.

Built here, beside the votes they explain, so ``regions`` and ``run`` write the same tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def exclusion_table(vote_exclusions, effect_exclusions) -> pd.DataFrame:
    """One table of everything left out: what, whose, why, and whether it was a vote or an effect."""
    import pandas as pd

    rows = [
        ("vote", e.study_id, e.item, e.reason.value, e.detail or "", e.region or "")
        for e in vote_exclusions
    ] + [("effect", e.study_id, e.item, e.reason, "", e.region or "") for e in effect_exclusions]
    columns = ["evidence", "study_id", "item", "reason", "detail", "region"]
    return pd.DataFrame(rows, columns=columns)


#: Columns of ``label_disagreements.tsv``.
DISAGREEMENT_COLUMNS = ("study_id", "analysis_id", "x", "y", "z", "authors_label")
DISAGREEMENT_COLUMNS += ("authors_region", "atlas_region", "voted")


def disagreement_table(disagreements) -> pd.DataFrame:
    """Peaks whose authors' region name and atlas label differ; the authors' name voted."""
    import pandas as pd

    rows = [
        (
            d.study_id,
            d.analysis_id,
            *d.xyz,
            d.authors_label,
            d.authors_region or "",
            d.atlas_region or "",
            d.authors_region or "not mapped: no vote",
        )
        for d in disagreements
    ]
    return pd.DataFrame(rows, columns=list(DISAGREEMENT_COLUMNS))
