"""Build ``report.html`` from a run's output folder: read, draw, write tables, render, publish.

The order matters for trust: the context is read from the files first, every derived table and
figure is written beside the report, the HTML is rendered from the same objects, and the page
itself is written last, whole (write-then-rename), with a provenance JSON naming the hash of
every input it was built from.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from neuroreview import __version__
from neuroreview.io import layout
from neuroreview.io.hashing import file_sha256
from neuroreview.report.context import (
    REPORT_FOLDER,
    Context,
    Decoded,
    Table,
    corpus_facets,
    decoding_overview,
    load_context,
)
from neuroreview.synthesis.claims import CLAIM_COLUMNS
from neuroreview.synthesis.convergence import COLUMNS as CONVERGENCE_FILE_COLUMNS
from neuroreview.versions import package_versions

REPORT, PROVENANCE = layout.REPORT_FILE, layout.PROVENANCE
EXCLUSION_TABLE = f"{REPORT_FOLDER}/exclusions_by_reason.tsv"
#: Columns of the convergence table the report shows; the study-id lists stay in the file.
CONVERGENCE_COLUMNS = [
    c for c in CONVERGENCE_FILE_COLUMNS if not c.endswith("_studies") and c != "cluster_voxels"
]
#: Packages the report itself uses, recorded beside those of the run.
REPORT_PACKAGES = ("nilearn", "matplotlib", "jinja2", "nibabel", "numpy")


#: The columns of the claims and questions tables the report shows (the files hold more).
CLAIM_VIEW = [column for column in CLAIM_COLUMNS if column != "regions"]
QUESTION_VIEW = [
    "title",
    "direction",
    "k",
    "status",
    "experiments",
    "coordinate_studies_left_out",
]


def _versions() -> dict[str, str]:
    return package_versions(REPORT_PACKAGES)


def exclusion_counts(exclusions: Table) -> Table:
    """How many findings were excluded, by kind (vote or effect) and reason."""
    counts = Counter((r["evidence"], r["reason"]) for r in exclusions.records())
    rows = [[kind, reason, str(n)] for (kind, reason), n in sorted(counts.items())]
    return Table(EXCLUSION_TABLE, ["kind", "reason", "findings"], rows)


def _write_tables(out: Path, tables: list[Table]) -> None:
    from neuroreview.io.atomic import atomic_write_text

    for table in tables:
        atomic_write_text(out / table.path, table.to_tsv())


def _region_order(context: Context) -> list[tuple[str, str]]:
    """(id, name) of the regions with votes, in the convergence table's order (strongest first)."""
    seen: dict[str, str] = {}
    for row in context.convergence.records():
        if row["region"] not in seen and int(row["n_studies"] or 0) > 0:
            seen[row["region"]] = row["name"]
    return list(seen.items())


def _provenance(context: Context, written: list[Path], report: Path) -> dict[str, Any]:
    out = context.out

    def entry(path: Path) -> dict[str, Any]:
        return {
            "path": path.relative_to(out).as_posix(),
            "sha256": file_sha256(path),
            "bytes": path.stat().st_size,
        }

    parameters: dict[str, Any] = {"run": context.settings}
    for analysis in context.analyses:
        if analysis.run:
            record = analysis.record
            parameters[analysis.method] = {
                key: record.get(key)
                for key in ("method", "estimator", "null_mask", "n_null_voxels", "fwe", "fdr")
            } | {"clusters": {k: v for k, v in record.get("clusters", {}).items() if k != "file"}}
        else:
            parameters[analysis.method] = {"status": analysis.status, "reason": analysis.reason}
    return {
        "report": REPORT,
        "report_sha256": file_sha256(report),
        "generated_by": f"neuroreview {__version__}",
        "corpus": context.summary.get("corpus"),
        "inputs": [entry(path) for path in sorted(set(context.inputs))],
        "outputs": [entry(path) for path in sorted(set(written))],
        "parameters": parameters,
        "versions": {"run": context.summary.get("versions", {}), "report": _versions()},
        "attribution": context.summary.get("attribution"),
    }


def build_report(
    out: str | Path,
    decoding: list[Decoded] | None = None,
    folder_name: str | None = None,
    summary: dict[str, Any] | None = None,
) -> Path:
    """Write ``out/report.html`` (and its figures, tables and provenance) from a run's folder.

    ``decoding`` is the functional interpretation of clusters and regions (ranked term tables);
    the section appears only when it is given. ``folder_name`` is the name the report gives
    the folder (default: its own), for a folder built under a hidden name and renamed after.
    ``summary`` is the run's summary when the caller holds it (``run_review``, before it writes
    ``summary.json``); by default it is read from the folder.
    Returns the report's path.
    """
    from neuroreview.io.atomic import atomic_write_text
    from neuroreview.report import figures as draw
    from neuroreview.report.methods import analysis_settings, build_methods
    from neuroreview.report.render import render
    from neuroreview.report.sentences import (
        corpus_paragraph,
        effect_sentence,
        headline,
        question,
    )

    context = load_context(Path(out), decoding, summary)
    out = context.out
    exclusions_by_reason = exclusion_counts(context.exclusions)
    overview = decoding_overview(context.decoding)
    facets = corpus_facets(context.studies)
    derived = [
        context.timing,
        context.votes_by_population,
        exclusions_by_reason,
        overview,
        facets,
        # Tables handed in by a caller are written beside the report; those a run wrote to
        # decode/ are inputs, already on disk.
        *(
            d.table
            for d in context.decoding
            if d.table is not None and d.table.path.startswith(f"{REPORT_FOLDER}/")
        ),
    ]
    _write_tables(out, derived)
    figures_of = {
        a.method: draw.brain_figures(a, out, REPORT_FOLDER) for a in context.analyses if a.run
    }
    heatmap = draw.heatmap(context.votes_by_population, _region_order(context), out, REPORT_FOLDER)
    forest = draw.effects_forest(context.pooled(), out, REPORT_FOLDER)
    study_forests = draw.study_forests(context.pooled(), context.effects, out, REPORT_FOLDER)
    methods = build_methods(context)
    settings_of = {a.method: analysis_settings(a) for a in context.analyses}
    versions = {**context.summary.get("versions", {}), **_versions()}
    html = render(
        {
            "title": f"Neuroimaging meta-analysis of {context.drug}: review report",
            "version": __version__,
            "out_name": folder_name or out.resolve().name,
            "question": question(context),
            "headline": headline(context),
            "corpus_paragraph": corpus_paragraph(context),
            "claims": context.claims.select(CLAIM_VIEW) if context.claims else None,
            "questions": (context.questions.select(QUESTION_VIEW) if context.questions else None),
            "min_experiments": context.summary["steps"].get("questions", {}).get("minimum"),
            "crosstab": context.crosstab,
            "timing": context.timing,
            "analyses": context.analyses,
            "settings_of": settings_of,
            "figures_of": figures_of,
            "regions_step": context.regions_step,
            "votes": context.votes,
            "votes_by_population": context.votes_by_population,
            "convergence_view": context.convergence.select(
                [c for c in CONVERGENCE_COLUMNS if c in context.convergence.columns]
            ),
            "exclusions": context.exclusions,
            "exclusion_counts": exclusions_by_reason,
            "heatmap": heatmap,
            "forest": forest,
            "study_forests": study_forests,
            "effect_sentence": effect_sentence(context),
            "decoding": context.decoding,
            "decoding_overview": overview,
            "facets": facets,
            "drug": context.drug,
            "screening_number": 5 if context.decoding else 4,
            "prisma_svg": draw.prisma_svg(context.prisma) if context.prisma else None,
            "corpus_origin": context.summary.get("corpus", "unknown origin"),
            "methods": methods,
            "attribution": context.summary.get("attribution"),
            "provenance_name": PROVENANCE,
            "versions": sorted(versions.items()),
        }
    )
    report = atomic_write_text(out / REPORT, html)
    figure_files = [
        out / path
        for figure in [
            *(f for fs in figures_of.values() for f in fs),
            heatmap,
            forest,
            *study_forests,
        ]
        if figure is not None
        for path in (figure.png, figure.svg)
    ]
    written = [out / t.path for t in derived] + figure_files
    document = _provenance(context, written, report)
    atomic_write_text(out / PROVENANCE, json.dumps(document, indent=2, allow_nan=False) + "\n")
    return report
