"""The whole review as one function: ``run_review(config) -> ReviewResult``.

It loads a corpus into a fresh store and writes its summary, picks the coordinate studies of the
review question (by exposure), meta-analyses them with ALE and MKDA density (Monte Carlo FWE),
asks the review's questions separately, runs the region synthesis with the ALE clusters as
coordinate evidence and decodes the results, and ends with ``report.html``, the self-contained
report of all of it (:mod:`neuroreview.report`). ``summary.json`` records every step, run or
skipped and why, with its counts, seed and time, so the run can be repeated and checked; the
configuration is written beside it as ``review.toml``. The folder is built under a hidden name
and swapped in whole, so an error or Ctrl-C never leaves half a run.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuroreview import __version__
from neuroreview.cbma.registry import label
from neuroreview.io.layout import (
    CONTRASTS_FOLDER,
    CORPUS_FOLDER,
    CROSSTAB,
    PROVENANCE,
    QUESTIONS_FOLDER,
    REGIONS_FOLDER,
    REPORT_FOLDER,
    RUN_CONFIG,
    RUN_RECORD,
    RUN_STORE,
    SCREENING_FOLDER,
    within,
)
from neuroreview.model import Study
from neuroreview.pipeline import compute
from neuroreview.pipeline.config import ReviewConfig, meta_analysis_settings, review_exposures
from neuroreview.pipeline.contrasts_stage import contrasts_step
from neuroreview.pipeline.corpus import BUILTIN_ORIGIN
from neuroreview.pipeline.decoding import DECODE_FOLDER
from neuroreview.pipeline.meta_analysis_stage import CBMA_METHODS, meta_analyse
from neuroreview.pipeline.progress import Reporter, SilentReporter
from neuroreview.pipeline.questions import questions_step
from neuroreview.pipeline.run_folder import check_out
from neuroreview.synthesis.selection import Selection, select_studies

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client

    from neuroreview.io.run_files import RunFiles
    from neuroreview.pipeline.decoding import Decoding
    from neuroreview.pipeline.meta_analysis import Outcome
    from neuroreview.pipeline.regions import RegionSynthesis
    from neuroreview.synthesis.effects import PooledEffect
    from neuroreview.synthesis.summary import CorpusSummary

STORE_NAME = RUN_STORE
LABELS = {key: label(key) for key in CBMA_METHODS}
CONFIG_FILE = RUN_CONFIG


@dataclass
class ReviewResult:
    """What a run did: where it wrote, the corpus and its selection, each stage's typed result,
    and every step's record (as ``summary.json`` holds it)."""

    out: Path
    origin: str
    studies: list[Study]
    summary: CorpusSummary
    selection: Selection
    #: Each meta-analysis that ran (``ale``, ``mkda``): its fitted maps and clusters.
    analyses: dict[str, Outcome]
    regions: RegionSynthesis
    #: Every decoded map, cluster and region, with its ranked topics.
    decoding: Decoding
    #: The report, where the run put it.
    report: Path
    steps: dict[str, dict[str, Any]]
    folders: list[str]
    written: list[str]
    document: dict[str, Any]

    @property
    def attribution(self) -> str | None:
        return self.document.get("attribution")


def run_review(
    config: ReviewConfig,
    reporter: Reporter | None = None,
    force: bool = False,
    client: Client | None = None,
) -> ReviewResult:
    """Run the review ``config`` describes into ``config.out``; ``force`` replaces an earlier
    run's folder there (and only such a folder).

    The Monte Carlo runs on ``client``'s Dask cluster if one is given, else where
    ``config.scheduler`` or ``config.workers`` say, else in ``config.jobs`` threads; the
    results are the same bytes wherever it runs.
    """
    with compute.computing(config.scheduler, config.workers, client):
        return _run_review(config, reporter, force)


def _run_review(config: ReviewConfig, reporter: Reporter | None, force: bool) -> ReviewResult:
    from neuroreview.io.run_files import RunFiles
    from neuroreview.io.staging import staged_folder
    from neuroreview.synthesis.summary import summarize_corpus

    reporter = reporter or SilentReporter()
    corpus, db = list(config.corpus), config.db
    exposures = review_exposures(config.include_exposure, own_corpus=bool(corpus or db))
    settings = {m: meta_analysis_settings(m, config) for m in CBMA_METHODS}
    target = preflight(config, force)
    record = _Record()
    #: Each meta-analysis's fitted result, handed to the later steps in memory.
    outcomes: dict[str, Outcome] = {}
    with staged_folder(target) as stage:
        files = RunFiles(stage)
        with record.step("load"):
            studies, origin = _load(corpus, db, stage)
            summary = summarize_corpus(studies)
            written = ([] if db else [STORE_NAME]) + _write_corpus(files, studies, summary)
        record.steps["load"].update(n_studies=len(studies), written=written)
        if db:
            reporter.stage("screening counts")
            with record.step("screening"):
                screened = _screening_step(db, files)
            record.steps["screening"].update(written=screened)
            if screened:
                record.folders.append(SCREENING_FOLDER)
        reporter.stage("selecting the coordinate studies")
        with record.step("select"):
            selection = select_studies(studies, exposures)
        record.steps["select"].update(selection.to_dict())
        for method in CBMA_METHODS:
            reporter.stage(f"{LABELS[method]} meta-analysis")
            _cbma_step(
                method, selection, settings[method], origin, files, record, reporter, outcomes
            )
        reporter.stage("the review's questions")
        with record.step("questions"):
            record.steps["questions"].update(
                questions_step(selection, settings, config.min_experiments, origin, files, reporter)
            )
        record.folders.append(QUESTIONS_FOLDER)
        reporter.stage("the review's contrasts")
        with record.step("contrasts"):
            record.steps["contrasts"].update(
                contrasts_step(selection, config, config.min_experiments, files, reporter)
            )
        record.folders.append(CONTRASTS_FOLDER)
        reporter.stage("region synthesis")
        with record.step("regions"):
            regions = _regions_step(selection, outcomes.get("ale"), files)
            record.steps["regions"].update(
                regions.record(REGIONS_FOLDER)
                | {"clusters_from": "ale" if "ale" in outcomes else None}
            )
        record.folders.append(REGIONS_FOLDER)
        reporter.stage("functional decoding")
        with record.step("decode"):
            decoding = _decode_step(files, outcomes, regions.convergence)
            record.steps["decode"].update(decoding.record)
        record.folders.append(DECODE_FOLDER)
        reporter.stage("report")
        document = _summary_document(origin, summary, selection, record, config)
        document["corpus_sources"] = _corpus_sources(studies, origin)
        document["attribution"] = _attribution(studies)
        if document["attribution"] is None:
            del document["attribution"]
        with record.step("report"):
            report = _report_step(files, target.name, document, regions.pooled)
            record.steps["report"].update(report)
        document["timings_s"] = {name: step.get("seconds") for name, step in record.steps.items()}
        files.write_json(RUN_RECORD, document)
        files.write_text(CONFIG_FILE, config.to_toml())
        reporter.stage("done")
    return ReviewResult(
        out=target,
        origin=origin,
        studies=studies,
        summary=summary,
        selection=selection,
        analyses=outcomes,
        regions=regions,
        decoding=decoding,
        report=target / report["file"],
        steps=record.steps,
        folders=record.folders,
        written=written,
        document=document,
    )


def preflight(config: ReviewConfig, force: bool = False) -> Path:
    """Everything that can be refused before any work: the settings, the output folder (new,
    empty, or an earlier run's with ``force``), and the store, which must exist. Returns the
    absolute output folder."""
    for method in CBMA_METHODS:
        meta_analysis_settings(method, config)
    target = check_out(config.out, force, config.db)
    if config.db:
        from neuroreview.store import Repository

        Repository(config.db, create=False).close()
    return target


# --- steps ---------------------------------------------------------------------------------


@dataclass
class _Record:
    """What summary.json says about each step: run or skipped, why, counts and time taken."""

    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    folders: list[str] = field(default_factory=list)

    def step(self, name: str):
        return _Step(self, name)

    def skip(self, name: str, reason: str) -> None:
        self.steps[name] = {"status": "skipped", "reason": reason}


class _Step:
    def __init__(self, record: _Record, name: str) -> None:
        self.record, self.name = record, name

    def __enter__(self) -> None:
        self.start = time.perf_counter()
        self.record.steps[self.name] = {"status": "run"}

    def __exit__(self, *exc: object) -> None:
        self.record.steps[self.name]["seconds"] = round(time.perf_counter() - self.start, 3)


def _cbma_step(
    method: str,
    selection: Selection,
    settings,
    origin: str,
    files: RunFiles,
    record: _Record,
    progress: Reporter,
    outcomes: dict[str, Outcome],
) -> bool:
    """One meta-analysis of every selected experiment into ``out/method``; False (and why, in
    the record) when skipped."""
    studies = selection.coordinate
    n_experiments = sum(len(s.analyses) for s in studies)
    if n_experiments < 2:
        reasons = [
            f"{n} {why}" for why, n in selection.to_dict()["left_out_by_reason"].items() if n
        ]
        reason = f"{n_experiments} experiment(s) to meta-analyse, at least 2 are needed" + (
            f" (left out: {', '.join(reasons)})" if reasons else ""
        )
        record.skip(method, reason)
        return False
    inputs = {"run": origin, "exposures": [e.value for e in selection.exposures]}
    step = meta_analyse(method, studies, settings, inputs, files, "", method, progress, outcomes)
    record.steps[method] = step
    if step["status"] == "run":
        record.folders.append(method)
    return step["status"] == "run"


def _decode_step(
    files: RunFiles, outcomes: dict[str, Outcome], convergence: pd.DataFrame
) -> Decoding:
    """Neurosynth topics of the maps, surviving clusters and converging regions of the run."""
    from neuroreview.pipeline.decoding import decode_step

    analyses = {m: outcomes[m] for m in CBMA_METHODS if m in outcomes}
    return decode_step(files, analyses, convergence, REGIONS_FOLDER)


def _report_step(
    files: RunFiles,
    name: str,
    document: dict[str, Any],
    pooled: dict[tuple[str, str], PooledEffect],
) -> dict[str, Any]:
    """report.html from what the steps wrote (held in memory), with the pooled effects the
    region step computed; ``name`` is the folder's final name (it is built under a hidden one)."""
    from neuroreview.pipeline.report_inputs import write_report

    # The summary as summary.json will hold it (JSON values), before the report step is in it.
    summary = json.loads(json.dumps(document, allow_nan=False))
    report = write_report(files, summary=summary, pooled=pooled, folder_name=name)
    return {"file": report.name, "folder": REPORT_FOLDER, "provenance": PROVENANCE}


def _screening_step(db: str, files: RunFiles) -> list[str]:
    """The store's PRISMA 2020 counts and diagram, when its studies came through screening."""
    from neuroreview.pipeline.screening import write_screening

    return write_screening(files, db)


def _regions_step(selection: Selection, ale: Outcome | None, files: RunFiles) -> RegionSynthesis:
    """Votes, pooled effects and the convergence table of the reviewed studies, with the ALE
    clusters, and the review's claims against them, written to ``regions/``."""
    from neuroreview.pipeline.regions import synthesize_regions, write_regions

    clusters = (ale.clusters, ale.cluster_ids) if ale is not None else None
    synthesis = synthesize_regions(selection.reviewed, clusters=clusters, claims=True)
    return write_regions(files, REGIONS_FOLDER, synthesis)


# --- loading -------------------------------------------------------------------------------


def _load(corpus: list[Path] | None, db: str | None, out: Path) -> tuple[list, str]:
    """The studies to review and where they came from; files go into a fresh store in ``out``."""
    from neuroreview.pipeline.corpus import builtin_studies, file_studies, store_studies

    if db:
        studies, url = store_studies(db)
        return studies, f"store {url}"
    if corpus:
        studies, origin = file_studies(corpus), ", ".join(map(str, corpus))
    else:
        studies, origin = builtin_studies(required=False), BUILTIN_ORIGIN
    _fresh_store(out / STORE_NAME, studies)
    return studies, origin


def _fresh_store(path: Path, studies) -> None:
    """The run's working store, in its own (staging) folder: never a store the user owns."""
    from neuroreview.store import Repository

    with Repository(path) as repository:
        repository.add_studies(studies)


# --- output --------------------------------------------------------------------------------


def _write_corpus(files: RunFiles, studies, summary) -> list[str]:
    """Write the crosstab and the corpus as tables; return the names written."""
    from neuroreview.io.tables import table_texts

    buffer = io.StringIO()
    csv.writer(buffer, delimiter="\t", lineterminator="\n").writerows(summary.crosstab_rows())
    files.write_text(CROSSTAB, buffer.getvalue())
    tables = {within(CORPUS_FOLDER, n): t for n, t in table_texts(studies, fmt="tsv").items()}
    files.write_texts(tables)
    return [CROSSTAB, *tables]


def _corpus_sources(studies, origin: str) -> dict[str, Any]:
    """Where the corpus's evidence was read, and, for the built-in corpus, what it is not."""
    from neuroreview.io.builtin import BUILTIN_CORPUS_ABOUT
    from neuroreview.synthesis.sources import describe_sources

    described = describe_sources(studies).to_dict()
    described["about"] = BUILTIN_CORPUS_ABOUT if origin == BUILTIN_ORIGIN else None
    return described


def _attribution(studies) -> str | None:
    from neuroreview.pipeline.meta_analysis import neurosynth_attribution

    return neurosynth_attribution(studies)


def _summary_document(
    origin: str, summary, selection: Selection, record: _Record, config: ReviewConfig
) -> dict[str, Any]:
    from neuroreview.pipeline.meta_analysis import versions

    return {
        "neuroreview_version": __version__,
        "corpus": origin,
        **summary.to_dict(),
        "settings": {
            "exposures": [e.value for e in selection.exposures],
            "iterations": config.iterations,
            "seed": config.seed,
            "jobs": config.jobs,
            "methods": list(CBMA_METHODS),
            "min_experiments": config.min_experiments,
        }
        | compute.cluster_record(),
        "steps": record.steps,
        "timings_s": {name: step.get("seconds") for name, step in record.steps.items()},
        "versions": versions(),
    }
