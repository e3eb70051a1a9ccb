"""Region-level synthesis: the votes by population (heatmap), sign tests, effect sizes (forest
plots of the region step's pools), convergence and what was excluded."""

from __future__ import annotations

from typing import Any

from neuroreview.report import figures as draw
from neuroreview.report.context import Context
from neuroreview.report.sections import Canvas, Section
from neuroreview.report.sentences import effect_sentence
from neuroreview.synthesis.convergence import COLUMNS

#: Columns of the convergence table the page shows; the study-id lists stay in the file.
CONVERGENCE_VIEW = [c for c in COLUMNS if not c.endswith("_studies") and c != "cluster_voxels"]


def _region_order(context: Context) -> list[tuple[str, str]]:
    """(id, name) of the regions with votes, in the convergence table's order (strongest first)."""
    seen: dict[str, str] = {}
    for row in context.convergence.records():
        if row["region"] not in seen and int(row["n_studies"] or 0) > 0:
            seen[row["region"]] = row["name"]
    return list(seen.items())


def content(context: Context, canvas: Canvas) -> dict[str, Any]:
    out, folder = canvas.out, canvas.folder
    heatmap = draw.heatmap(context.votes_by_population, _region_order(context), out, folder)
    pooled = context.pooled()
    forest = draw.effects_forest(pooled, out, folder)
    study_forests = draw.study_forests(pooled, context.pooled_effects, out, folder)
    for figure in (heatmap, forest, *study_forests):
        canvas.keep(figure)
    convergence = context.convergence
    return {
        "regions_step": context.regions_step,
        "heatmap": heatmap,
        "votes_by_population": context.votes_by_population,
        "votes": context.votes,
        "forest": forest,
        "study_forests": study_forests,
        "effect_sentence": effect_sentence(context),
        "convergence_view": convergence.select(
            [c for c in CONVERGENCE_VIEW if c in convergence.columns]
        ),
        "exclusions": context.exclusions,
        "exclusion_counts": context.exclusion_counts,
    }


SECTION = Section("regions", "Region-level synthesis", content)
