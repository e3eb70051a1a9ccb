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
from neuroreview.errors import NeuroreviewError
from neuroreview.io.layout import (
    CLAIMS,
    CORPUS_FOLDER,
    CROSSTAB,
    QUESTIONS_FOLDER,
    QUESTIONS_TABLE,
    REGION_TABLES,
    REGIONS_FOLDER,
    REPORT_FOLDER,
    RUN_CONFIG,
    RUN_RECORD,
    RUN_STORE,
    RunLayout,
    question_votes,
)
from neuroreview.model import Exposure, Study
from neuroreview.pipeline.config import ReviewConfig
from neuroreview.pipeline.decoding import DECODE_FOLDER
from neuroreview.pipeline.progress import Reporter, SilentReporter
from neuroreview.synthesis.selection import DEFAULT_EXPOSURES, Selection, select_studies

if TYPE_CHECKING:
    import pandas as pd

    from neuroreview.pipeline.meta_analysis import Outcome
    from neuroreview.synthesis.summary import CorpusSummary

STORE_NAME = RUN_STORE
CBMA_METHODS = ("ale", "mkda")
LABELS = {key: label(key) for key in CBMA_METHODS}
CLAIMS_FILE, CONFIG_FILE = CLAIMS, RUN_CONFIG
BUILTIN_ORIGIN = "built-in ketamine corpus"


@dataclass
class ReviewResult:
    """What a run did: where it wrote, the corpus and its selection, and every step's record
    (as ``summary.json`` holds it)."""

    out: Path
    origin: str
    studies: list[Study]
    summary: CorpusSummary
    selection: Selection
    steps: dict[str, dict[str, Any]]
    folders: list[str]
    written: list[str]
    document: dict[str, Any]

    @property
    def attribution(self) -> str | None:
        return self.document.get("attribution")


def run_review(
    config: ReviewConfig, reporter: Reporter | None = None, force: bool = False
) -> ReviewResult:
    """Run the review ``config`` describes into ``config.out``; ``force`` replaces an earlier
    run's folder there (and only such a folder)."""
    from neuroreview.io.atomic import atomic_write_text
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
        with record.step("load"):
            studies, origin = _load(corpus, db, stage)
            summary = summarize_corpus(studies)
            written = ([] if db else [STORE_NAME]) + _write_corpus(stage, studies, summary)
        record.steps["load"].update(n_studies=len(studies), written=written)
        reporter.stage("selecting the coordinate studies")
        with record.step("select"):
            selection = select_studies(studies, exposures)
        record.steps["select"].update(selection.to_dict())
        for method in CBMA_METHODS:
            reporter.stage(f"{LABELS[method]} meta-analysis")
            _cbma_step(
                method, selection, settings[method], origin, stage, record, reporter, outcomes
            )
        reporter.stage("the review's questions")
        with record.step("questions"):
            record.steps["questions"].update(
                _questions_step(
                    selection, settings, config.min_experiments, origin, stage, reporter
                )
            )
        record.folders.append(QUESTIONS_FOLDER)
        reporter.stage("region synthesis")
        with record.step("regions"):
            regions, convergence = _regions_step(selection, outcomes.get("ale"), stage)
            record.steps["regions"].update(regions)
        record.folders.append(REGIONS_FOLDER)
        reporter.stage("functional decoding")
        with record.step("decode"):
            record.steps["decode"].update(_decode_step(stage, outcomes, convergence))
        record.folders.append(DECODE_FOLDER)
        reporter.stage("report")
        document = _summary_document(origin, summary, selection, record, config)
        document["corpus_sources"] = _corpus_sources(studies, origin)
        document["attribution"] = _attribution(studies)
        if document["attribution"] is None:
            del document["attribution"]
        with record.step("report"):
            record.steps["report"].update(_report_step(stage, target.name, document))
        document["timings_s"] = {name: step.get("seconds") for name, step in record.steps.items()}
        _write_json(stage / RUN_RECORD, document)
        atomic_write_text(stage / CONFIG_FILE, config.to_toml())
        reporter.stage("done")
    return ReviewResult(
        target, origin, studies, summary, selection, record.steps, record.folders, written, document
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


# --- options -------------------------------------------------------------------------------


def review_exposures(
    include: tuple[Exposure, ...] | list[Exposure], own_corpus: bool
) -> tuple[Exposure, ...]:
    """The exposures reviewed. A user's corpus adds unknown: most formats cannot record
    exposure, and leaving out every study of a Sleuth file would analyse nothing."""
    chosen = list(DEFAULT_EXPOSURES) + ([Exposure.UNKNOWN] if own_corpus else [])
    for exposure in include:
        if exposure not in chosen:
            chosen.append(exposure)
    return tuple(chosen)


def meta_analysis_settings(method: str, config: ReviewConfig):
    """``neuroreview analyze``'s defaults, with the run's iterations, seed and jobs."""
    from neuroreview.pipeline.meta_analysis import Settings

    settings = Settings(
        method=method,
        null_mask="brain",
        fwhm=None,
        sample_size=None,
        radius=None,
        voxel_exact=False,
        subvoxel=False,
        fwe=True,
        iterations=config.iterations,
        seed=config.seed,
        jobs=config.jobs,
        early_stop=None,
        voxel_thresh=0.001,
        alpha=0.05,
    )
    settings.check()
    return settings


def check_out(out: Path, force: bool, db: str | None = None) -> Path:
    """The run's folder, checked before any work: new, empty, or an earlier run's with --force.

    A folder holding anything a run did not write (the user's store, their notes, another
    tool's output) is never written into, with or without --force: the run builds its folder
    under a hidden name and swaps it in whole, which would delete them.
    """
    from neuroreview.io.staging import check_writable
    from neuroreview.store import local_store_path

    target = out.expanduser().absolute()
    if target.exists() and not target.is_dir():
        raise NeuroreviewError(f"--out {out} exists and is not a folder")
    if target.is_dir() and any(target.iterdir()):
        if not is_run_folder(target):
            names = sorted(entry.name for entry in target.iterdir())
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            raise NeuroreviewError(
                f"--out {out} holds files that `neuroreview run` did not write ({shown}); "
                "choose a new or empty folder"
            )
        foreign = sorted(e.name for e in target.iterdir() if e.name not in _run_entries())
        if foreign:
            raise NeuroreviewError(
                f"--out {out} holds an earlier run and files it did not write "
                f"({', '.join(foreign[:3])}); move them out or choose another folder"
            )
        if not force:
            raise NeuroreviewError(f"--out {out} holds an earlier run; use --force to replace it")
    local = local_store_path(db) if db else None
    if local is not None:
        store = local.absolute()
        if target == store.parent or target in store.parents:
            raise NeuroreviewError(
                f"--db {db} lies inside --out {out}, which the run replaces; "
                "copy the store elsewhere or choose another --out"
            )
    check_writable(target)
    return target


def is_run_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a run's record: its summary.json, as this command writes it."""
    try:
        document = json.loads((folder / RUN_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and {"neuroreview_version", "steps"} <= document.keys()


def _run_entries() -> set[str]:
    """Every name a run writes at the top of its folder: what --force may replace."""
    return RunLayout(Path("."), CBMA_METHODS).entries()


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
    out: Path,
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
    step = _meta_analysis(method, studies, settings, inputs, out, method, progress, outcomes)
    record.steps[method] = step
    if step["status"] == "run":
        record.folders.append(method)
    return step["status"] == "run"


def _meta_analysis(
    method: str,
    studies: list[Study],
    settings,
    inputs: dict[str, Any],
    out: Path,
    folder: str,
    progress: Reporter,
    outcomes: dict[str, Outcome] | None = None,
) -> dict[str, Any]:
    """ALE or MKDA of ``studies`` into ``out/folder``: what summary.json records of it.

    Experiments are a subject group's analyses of one direction (Turkeltaub et al., 2012). ALE
    sizes each kernel from the sample size: a missing one gets the median of the reported ones,
    marked, and the analysis is repeated at the smallest and largest reported N.
    """
    from neuroreview.cbma.experiments import build_experiments
    from neuroreview.cbma.imputation import MEDIAN
    from neuroreview.pipeline.meta_analysis import (
        Timer,
        analysis_record,
        impute_and_perform,
        write_folder,
    )

    timer = Timer()
    start = time.perf_counter()
    coordinates, pooling = build_experiments(studies)
    if method == "ale" and len(coordinates.missing_sample_sizes()) == coordinates.n_experiments:
        return {
            "status": "skipped",
            "reason": f"none of the {coordinates.n_experiments} experiments reports a sample "
            "size, which ALE needs to size its kernels (and to impute a missing one from)",
        }
    outcome: Outcome
    outcome, imputation = impute_and_perform(
        coordinates, settings, MEDIAN if method == "ale" else None, timer, progress
    )
    inputs = inputs | {"study_ids": [s.id for s in studies], "experiments": pooling.to_dict()}
    analysis = analysis_record(outcome, settings, coordinates, studies, inputs, imputation)
    (out / folder).mkdir(parents=True)
    write_folder(out / folder, outcome, analysis, timer)
    if outcomes is not None:
        outcomes[folder] = outcome
    return {
        "status": "run",
        "folder": folder,
        "n_studies": len(studies),
        "n_experiments": coordinates.n_experiments,
        "n_foci": coordinates.n_foci,
        "n_experiments_imputed": len(imputation.experiments) if imputation else 0,
        "sample_size_imputation": analysis.get("sample_size_imputation"),
        "iterations": settings.iterations,
        "n_iters_run": outcome.fwe["n_iters_run"] if outcome.fwe else 0,
        "seed": settings.seed,
        "jobs": settings.jobs,
        "n_clusters": analysis["clusters"]["n_clusters"],
        "alpha": settings.alpha,
        "voxel_thresh": settings.voxel_thresh,
        "seconds": round(time.perf_counter() - start, 3),
        "timings_s": timer.seconds,
    }


def _questions_step(
    selection: Selection,
    settings: dict[str, Any],
    minimum: int,
    origin: str,
    out: Path,
    progress: Reporter,
) -> dict[str, Any]:
    """The review's questions, each split by direction: meta-analysed where enough
    experiments answer, else "too few (k)"; their region votes in ``questions/``."""
    import pandas as pd

    from neuroreview.io.atomic import atomic_write_text
    from neuroreview.synthesis.questions import REVIEW_QUESTIONS, ask
    from neuroreview.synthesis.votes import count_votes

    folder = out / QUESTIONS_FOLDER
    folder.mkdir()
    rows, answers = [], []
    for question in REVIEW_QUESTIONS:
        answer = ask(question, selection.reviewed, selection.coordinate, minimum)
        entry = answer.to_dict()
        with_coordinates = {s.id for s in selection.coordinate}
        near_misses = sorted(
            {
                f"{e['study_id']} ({e['reason']})"
                for e in answer.left_out
                if e["study_id"] in with_coordinates and not e["reason"].startswith("population")
            }
        )
        for part, part_entry in zip(answer.parts, entry["parts"], strict=True):
            part_entry["analyses"] = {}
            if part.enough:
                inputs = {"run": origin, "question": question.key, "direction": part.key}
                for method in CBMA_METHODS:
                    part_entry["analyses"][method] = _meta_analysis(
                        method,
                        part.studies,
                        settings[method],
                        inputs,
                        folder,
                        f"{part.key}/{method}",
                        progress,
                    )
            rows.append(
                {
                    "question": question.key,
                    "title": question.title,
                    "direction": part.direction.value,
                    "k": part.k,
                    "minimum": part.minimum,
                    "status": part.status,
                    "experiments": ";".join(part.experiments),
                    "studies": ";".join(s.id for s in part.studies),
                    "coordinate_studies_left_out": ";".join(near_misses),
                    **{
                        f"{m}_clusters": part_entry["analyses"].get(m, {}).get("n_clusters", "")
                        for m in CBMA_METHODS
                    },
                }
            )
        voters = [s for s in selection.reviewed if question.why_not(s) is None]
        votes = count_votes(voters).table if voters else None
        if votes is not None:
            atomic_write_text(
                folder / question_votes(question.key), votes.to_csv(sep="\t", index=False)
            )
        entry["votes_file"] = question_votes(question.key) if votes is not None else None
        answers.append(entry)
    atomic_write_text(folder / QUESTIONS_TABLE, pd.DataFrame(rows).to_csv(sep="\t", index=False))
    return {"folder": QUESTIONS_FOLDER, "minimum": minimum, "questions": answers}


def _decode_step(
    out: Path, outcomes: dict[str, Outcome], convergence: pd.DataFrame
) -> dict[str, Any]:
    """Neurosynth topics of the maps, surviving clusters and converging regions of the run."""
    from neuroreview.pipeline.decoding import decode_step

    analyses = {m: outcomes[m] for m in CBMA_METHODS if m in outcomes}
    return decode_step(out, analyses, convergence, REGIONS_FOLDER)


def _report_step(out: Path, name: str, document: dict[str, Any]) -> dict[str, Any]:
    """report.html from the files just written, so it shows exactly what the folder holds;
    ``name`` is the folder's final name (it is built under a hidden one)."""
    from neuroreview.report.build import PROVENANCE, build_report

    # The summary as summary.json will hold it (JSON values), before the report step is in it.
    summary = json.loads(json.dumps(document, allow_nan=False))
    report = build_report(out, folder_name=name, summary=summary)
    return {"file": report.name, "folder": REPORT_FOLDER, "provenance": PROVENANCE}


def _regions_step(
    selection: Selection, ale: Outcome | None, out: Path
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Votes and the convergence table of the reviewed studies, with the ALE clusters; returns
    what summary.json records and the convergence table (for the decoding)."""
    from neuroreview.io.atomic import atomic_write_text
    from neuroreview.io.region_tables import write_region_tables
    from neuroreview.synthesis.claims import claims_table
    from neuroreview.synthesis.convergence import (
        collect_effects,
        convergence_table,
        effects_table,
    )
    from neuroreview.synthesis.tables import disagreement_table, exclusion_table
    from neuroreview.synthesis.votes import count_votes

    studies = selection.reviewed
    cluster_table = ale.clusters if ale is not None else None
    cluster_volume = ale.cluster_ids if ale is not None else None
    votes = count_votes(studies)
    convergence = convergence_table(
        studies, votes=votes, clusters=cluster_table, cluster_volume=cluster_volume
    )
    effects = collect_effects(studies)
    exclusions = exclusion_table(votes.exclusions, effects.exclusions)
    disagreements = disagreement_table(votes.disagreements)
    write_region_tables(
        out / REGIONS_FOLDER,
        votes.table,
        convergence,
        exclusions,
        effects_table(effects),
        disagreements,
    )
    claims = claims_table(studies)
    atomic_write_text(out / REGIONS_FOLDER / CLAIMS_FILE, claims.to_csv(sep="\t", index=False))
    pooled = convergence["measure"].map(lambda m: isinstance(m, str))
    return {
        "folder": REGIONS_FOLDER,
        "files": [*REGION_TABLES, CLAIMS_FILE],
        "n_label_disagreements": len(disagreements),
        "n_studies": len(studies),
        "n_regions_voted": int(votes.table["region"].nunique()),
        "n_convergence_rows": len(convergence),
        "n_pooled_effects": int(pooled.sum()),
        "n_exclusions": len(exclusions),
        "clusters_from": "ale" if ale is not None else None,
    }, convergence


# --- loading -------------------------------------------------------------------------------


def _load(corpus: list[Path] | None, db: str | None, out: Path) -> tuple[list, str]:
    """The studies to review and where they came from; files go into a fresh store in ``out``."""
    from neuroreview.io.builtin import load_builtin_corpus
    from neuroreview.io.dispatch import read_inputs
    from neuroreview.store import Repository

    if db:
        with Repository(db, create=False) as repository:
            return repository.list_studies(), f"store {repository.url}"
    if corpus:
        studies, origin = read_inputs(corpus), ", ".join(map(str, corpus))
    else:
        studies, origin = load_builtin_corpus() or [], BUILTIN_ORIGIN
    _fresh_store(out / STORE_NAME, studies)
    return studies, origin


def _fresh_store(path: Path, studies) -> None:
    """The run's working store, in its own (staging) folder: never a store the user owns."""
    from neuroreview.store import Repository

    with Repository(path) as repository:
        repository.add_studies(studies)


# --- output --------------------------------------------------------------------------------


def _write_corpus(out: Path, studies, summary) -> list[str]:
    """Write the crosstab and the corpus as tables; return the names written."""
    from neuroreview.io.atomic import atomic_write_text
    from neuroreview.io.tables import write_tables

    buffer = io.StringIO()
    csv.writer(buffer, delimiter="\t", lineterminator="\n").writerows(summary.crosstab_rows())
    atomic_write_text(out / CROSSTAB, buffer.getvalue())
    tables = write_tables(studies, out / CORPUS_FOLDER, fmt="tsv")
    return [CROSSTAB] + [f"{CORPUS_FOLDER}/{t.name}" for t in tables]


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
        },
        "steps": record.steps,
        "timings_s": {name: step.get("seconds") for name, step in record.steps.items()},
        "versions": versions(),
    }


def _write_json(path: Path, document: dict[str, Any]) -> None:
    from neuroreview.io.atomic import atomic_write_text

    atomic_write_text(path, json.dumps(document, indent=2, allow_nan=False) + "\n")
