"""Contrasts: where increases and decreases, or patients and healthy volunteers, differ.

Every contrast the review asks is listed with both groups' experiment counts; one that was run
shows its clusters (ALE subtraction), one that was not says how many experiments each group had
against the minimum, so a reader sees what the corpus cannot yet test.
"""

from __future__ import annotations

from typing import Any

from neuroreview.report.context import Context
from neuroreview.report.sections import Canvas, Section

SHOWN_COLUMNS = ["title", "group_a", "k_a", "group_b", "k_b", "status"]
CLUSTER_COLUMNS = ["cluster_id", "direction", "x", "y", "z", "peak_stat", "size_mm3", "label"]


def content(context: Context, canvas: Canvas) -> dict[str, Any] | None:
    if context.contrasts is None:
        return None
    rows = context.contrasts.records()
    run = [r for r in rows if r["folder"]]
    clusters = []
    for row in run:
        table = context.contrast_clusters[row["contrast"]]
        peaks = table.select([c for c in CLUSTER_COLUMNS if c in table.columns])
        clusters.append((row["title"], peaks))
    return {
        "table": context.contrasts.select(SHOWN_COLUMNS),
        "n_run": len(run),
        "minimum": rows[0].get("minimum", "") if rows else "",
        "clusters": clusters,
    }


SECTION = Section("contrasts", "Contrasts", content)
