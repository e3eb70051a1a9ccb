"""The report stage: what the report shows, gathered from a run, then the report drawn from it.

During ``neuroreview run`` the files come from memory (:class:`~neuroreview.io.run_files.RunFiles`
keeps what each step wrote) and the pooled effects from the region step; for ``neuroreview
report DIR`` the same files are read from the folder and the effects pooled again from
``regions/effects.tsv`` with the same REML model. Either way this module gathers and derives,
and :func:`neuroreview.report.build.build_report` only draws and writes: the report computes
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuroreview.cbma.registry import label
from neuroreview.errors import InputError
from neuroreview.io import layout
from neuroreview.io.run_files import RunFiles
from neuroreview.pipeline.meta_analysis_stage import CBMA_METHODS
from neuroreview.report.context import Analysis, Context, Decoded, Table, functional_topics
from neuroreview.synthesis.claims import CLAIM_COLUMNS
from neuroreview.synthesis.convergence import COLUMNS as CONVERGENCE_COLUMNS
from neuroreview.synthesis.convergence import EFFECT_COLUMNS

if TYPE_CHECKING:
    from neuroreview.synthesis.effects import PooledEffect

#: The columns the report reads from each kind of table: a file without them is refused by name.
STUDY_COLUMNS = ("study_id", "drug", "population", "modality", "timing")
CLUSTER_COLUMNS = ("cluster_id", "subpeak", "x", "y", "z", "label")
EXCLUSION_COLUMNS = ("evidence", "reason")
QUESTION_COLUMNS = ("title", "direction", "k", "status", "experiments")
DECODE_INDEX_COLUMNS = ("kind", "target", "file", "note")
CONTRAST_COLUMNS = ("contrast", "title", "group_a", "k_a", "group_b", "k_b", "status", "folder")
SCREENING_STUDY_COLUMNS = (
    "study_id",
    "record_id",
    "source",
    "location",
    "citation",
    "also_found_as",
)


def write_report(
    files: RunFiles,
    summary: dict[str, Any] | None = None,
    pooled: dict[tuple[str, str], PooledEffect] | None = None,
    decoding: list[Decoded] | None = None,
    folder_name: str | None = None,
) -> Path:
    """Write ``report.html`` (and its figures, tables and provenance) into the run ``files``.

    ``summary`` and ``pooled`` are the run's when the caller holds them (``run_review``); by
    default they are read and pooled from the folder. ``decoding`` replaces the decodings the
    run wrote to ``decode/``. ``folder_name`` is the name the report gives the folder (default:
    its own), for a folder built under a hidden name and renamed after. Returns the report's path.
    """
    from neuroreview.report.build import build_report

    context = gather(files, summary=summary, pooled=pooled, decoding=decoding)
    return build_report(context, folder_name=folder_name)


def report_folder(out: str | Path, decoding: list[Decoded] | None = None) -> Path:
    """``neuroreview report DIR``: the report of a run folder written earlier."""
    out = Path(out)
    if not out.is_dir():
        raise InputError("no such folder; run `neuroreview run` first", source=out)
    return write_report(RunFiles(out), decoding=decoding)


def gather(
    files: RunFiles,
    summary: dict[str, Any] | None = None,
    pooled: dict[tuple[str, str], PooledEffect] | None = None,
    decoding: list[Decoded] | None = None,
) -> Context:
    """The report's context from a run's files; errors name the missing or malformed file."""
    from neuroreview.synthesis import breakdowns

    out = files.root
    if summary is None:
        summary = files.json(layout.RUN_RECORD)
    if "steps" not in summary or "select" not in summary.get("steps", {}):
        raise InputError(
            "not a `neuroreview run` summary (no steps)", source=files.path(layout.RUN_RECORD)
        )
    steps = summary["steps"]
    read: list[str] = []

    def table(relative: str, required: Iterable[str] = ()) -> Table:
        read.append(relative)
        return files.table(relative, required)

    def optional(relative: str, required: Iterable[str] = ()) -> Table | None:
        return table(relative, required) if files.exists(relative) else None

    crosstab = table(layout.CROSSTAB)
    studies = table(layout.CORPUS_STUDIES, STUDY_COLUMNS).records()
    read += [name for name in (layout.CORPUS_FOCI, layout.CORPUS_FINDINGS) if files.exists(name)]
    analyses = []
    for method in CBMA_METHODS:
        analysis, used = _analysis(files, method, steps.get(method))
        analyses.append(analysis)
        read += used
    folder = steps.get("regions", {}).get("folder", layout.REGIONS_FOLDER)
    votes = table(layout.within(folder, layout.VOTES))
    convergence = table(layout.within(folder, layout.CONVERGENCE), CONVERGENCE_COLUMNS)
    exclusions = table(layout.within(folder, layout.EXCLUSIONS), EXCLUSION_COLUMNS)
    effects = optional(layout.within(folder, layout.EFFECTS), EFFECT_COLUMNS)
    claims = optional(layout.within(folder, layout.CLAIMS), CLAIM_COLUMNS)
    questions_folder = steps.get("questions", {}).get("folder", layout.QUESTIONS_FOLDER)
    questions = optional(layout.within(questions_folder, layout.QUESTIONS_TABLE), QUESTION_COLUMNS)
    contrasts, contrast_clusters = _contrasts(table, optional)
    if decoding is None:
        decoding, used = _decodings(files)
        read += used
    prisma = prisma_svg = screening_studies = None
    if files.exists(layout.PRISMA_SVG):
        prisma = files.json(layout.PRISMA)
        prisma_svg = files.text(layout.PRISMA_SVG)
        screening_studies = files.table(layout.SCREENING_STUDIES, SCREENING_STUDY_COLUMNS)
        read += [layout.PRISMA, layout.PRISMA_SVG, layout.SCREENING_STUDIES]
    if pooled is None:
        pooled = _pool(files, effects)
    return Context(
        out=out,
        summary=summary,
        crosstab=crosstab,
        analyses=analyses,
        votes=votes,
        convergence=convergence,
        exclusions=exclusions,
        studies=studies,
        timing=breakdowns.timing_crosstab(studies, layout.REPORT_TIMING),
        facets=breakdowns.corpus_facets(studies, layout.REPORT_FACETS),
        votes_by_population=breakdowns.votes_by_population(
            convergence, studies, layout.REPORT_VOTES_BY_POPULATION
        ),
        exclusion_counts=breakdowns.exclusion_counts(exclusions, layout.REPORT_EXCLUSION_COUNTS),
        decoding_overview=decoding_overview(decoding),
        pooled_effects=pooled,
        prisma=prisma,
        prisma_svg=prisma_svg,
        screening_studies=screening_studies,
        decoding=list(decoding),
        inputs=[files.path(relative) for relative in _input_order(read)],
        claims=claims,
        questions=questions,
        contrasts=contrasts,
        contrast_clusters=contrast_clusters,
    )


def _input_order(read: list[str]) -> list[str]:
    """The files read, each once (provenance sorts them again)."""
    return list(dict.fromkeys(read))


def _analysis(
    files: RunFiles, method: str, step: dict[str, Any] | None
) -> tuple[Analysis, list[str]]:
    name = label(method)
    if step is None:
        return Analysis(method, name, "absent", "not part of this run"), []
    if step.get("status") != "run":
        return Analysis(method, name, "skipped", step.get("reason", "")), []
    folder = step.get("folder", method)
    record = files.json(layout.within(folder, layout.ANALYSIS_RECORD))
    clusters = files.table(layout.within(folder, layout.CLUSTER_TABLE), CLUSTER_COLUMNS)
    contributions_file = layout.within(folder, layout.CONTRIBUTIONS)
    contributions = files.table(contributions_file) if files.exists(contributions_file) else None
    images = [layout.within(folder, layout.Z_MAP), layout.within(folder, layout.CLUSTER_IMAGE)]
    z_image, cluster_image = (files.image(image) for image in images)
    used = [layout.within(folder, layout.ANALYSIS_RECORD), clusters.path, *images]
    analysis = Analysis(
        method, name, "run", "", step, record, clusters, contributions, z_image, cluster_image
    )
    return analysis, used


def _decodings(files: RunFiles) -> tuple[list[Decoded], list[str]]:
    """The decodings a run wrote (``decode/index.tsv`` and its tables), and the files read."""
    index_file = layout.within(layout.DECODE_FOLDER, layout.DECODE_INDEX)
    if not files.exists(index_file):
        return [], []
    decoded, used = [], [index_file]
    for entry in files.table(index_file, DECODE_INDEX_COLUMNS).records():
        table = files.table(entry["file"]) if entry["file"] else None
        if table is not None:
            used.append(table.path)
        decoded.append(Decoded(entry["target"], table, entry["kind"], entry["note"]))
    return decoded, used


def _pool(files: RunFiles, effects: Table | None) -> dict[tuple[str, str], PooledEffect]:
    """The REML pools of a folder's ``effects.tsv`` (the rows the convergence table pooled)."""
    from neuroreview.synthesis.convergence import pool_groups

    if effects is None:
        return {}
    groups: dict[tuple[str, str], list[tuple[str, float, float]]] = {}
    for line, row in enumerate(effects.records(), start=2):
        try:
            g, variance = float(row["g"]), float(row["variance"])
        except ValueError:
            raise InputError(
                f"g {row['g']!r} and variance {row['variance']!r} must be numbers",
                files.path(effects.path),
                line,
            ) from None
        groups.setdefault((row["region"], row["measure"]), []).append(
            (row["study_id"], g, variance)
        )
    try:
        return pool_groups(groups)
    except InputError as error:
        raise InputError(error.message, files.path(effects.path)) from error


def decoding_overview(decodings: list[Decoded], top: int = 3) -> Table:
    """One row per target: its best ``top`` functional topics and the statistic ranking them."""
    columns = ["target", "kind", "statistic"]
    for rank in range(1, top + 1):
        columns += [f"topic_{rank}", f"value_{rank}"]
    rows = []
    for decoded in decodings:
        topics = functional_topics(decoded)
        if not topics:
            continue
        statistic = "r" if decoded.kind == "map" else "z_association"
        if statistic not in topics[0]:
            continue
        row = [decoded.target, decoded.kind, statistic]
        for rank in range(top):
            if rank < len(topics):
                row += [topics[rank]["label"], topics[rank][statistic]]
            else:
                row += ["", ""]
        rows.append(row)
    return Table(layout.REPORT_DECODING_OVERVIEW, columns, rows)


def _contrasts(table, optional) -> tuple[Table | None, dict[str, Table]]:
    """The contrasts table and, for each contrast that was run, its clusters table."""
    found = optional(
        layout.within(layout.CONTRASTS_FOLDER, layout.CONTRASTS_TABLE), CONTRAST_COLUMNS
    )
    clusters: dict[str, Table] = {}
    for row in found.records() if found is not None else []:
        if row["folder"]:
            relative = layout.within(row["folder"], layout.CLUSTER_TABLE)
            clusters[row["contrast"]] = table(relative, CLUSTER_COLUMNS)
    return found, clusters
