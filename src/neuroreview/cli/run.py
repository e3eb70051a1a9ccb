"""``neuroreview run``: the whole review in one command.

It loads a corpus into a fresh store and writes its summary, picks the coordinate studies of the
review question (by exposure), meta-analyses them with ALE and MKDA density (Monte Carlo FWE),
and runs the region synthesis with the ALE clusters as coordinate evidence, all as steps of one
progress display, and ends with ``report.html``, the self-contained report of all of it
(:mod:`neuroreview.report`). ``summary.json`` records every step, run or skipped and why, with its counts,
seed and time, so the run can be repeated and checked.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from neuroreview import __version__
from neuroreview.cli._decode_run import DECODE_FOLDER
from neuroreview.cli.common import DEFAULT_JOBS, JobsOption, console, friendly_errors
from neuroreview.errors import NeuroreviewError
from neuroreview.model import Exposure, Space, Study
from neuroreview.synthesis.questions import MIN_EXPERIMENTS

if TYPE_CHECKING:
    from neuroreview.cli._cbma_run import Outcome

DEFAULT_OUT = Path("neuroreview-out")
STORE_NAME = "neuroreview.db"
#: The review's question: what ketamine given as a drug does. Chronic (recreational) use is a
#: different question and joins only when asked (--include-exposure chronic_use).
DEFAULT_EXPOSURES = (Exposure.SINGLE_DOSE, Exposure.REPEATED_COURSE)
#: Monte Carlo iterations of the default run: under a minute for both analyses on 2 cores.
DEFAULT_ITERATIONS = 1000
#: The meta-analyses of the run, in order, with the folder each is written to.
CBMA_METHODS = ("ale", "mkda")
LABELS = {"ale": "ALE", "mkda": "MKDA density"}
REGIONS_FOLDER = "regions"
#: The review's questions asked separately (:mod:`neuroreview.synthesis.questions`).
QUESTIONS_FOLDER, QUESTIONS_TABLE = "questions", "questions.tsv"
#: The review's claims against the data (:mod:`neuroreview.synthesis.claims`), in regions/.
CLAIMS_FILE = "claims.tsv"
#: The run's record of itself; also how --force recognises a folder it may replace.
RUN_RECORD = "summary.json"
BUILTIN_ORIGIN = "built-in ketamine corpus"
CROSSTAB, CORPUS_FOLDER = "studies_by_modality_population.tsv", "corpus"
#: The report the run ends with, and the folder of its figures and derived tables.
REPORT_FILE, REPORT_FOLDER = "report.html", "report"
#: Why a study is not in the coordinate meta-analyses, in the order the reasons are checked.
NO_COORDINATES, EXPOSURE, UNKNOWN_SPACE = "no coordinates", "exposure", "unknown space"
NOT_DRUG_EFFECT, FAILED_CHECK = "not a drug effect", "failed the coordinate check"


@friendly_errors
def run(
    corpus: Annotated[
        list[Path] | None,
        typer.Option(
            "--corpus",
            help="Files of your own corpus (any format `import` reads); repeat for several.",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Run on the studies of this existing store instead."),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Output folder: new, empty, or an earlier run's (with --force). It gets "
            "summary.json, report.html, report-provenance.json, report/, "
            "studies_by_modality_population.tsv, corpus/, ale/, mkda/, regions/, decode/ "
            "and, with --corpus or the built-in corpus, the working store neuroreview.db.",
        ),
    ] = DEFAULT_OUT,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace --out if it holds an earlier run (and only then)."),
    ] = False,
    iterations: Annotated[
        int, typer.Option(help="Monte Carlo iterations of each FWE correction.")
    ] = DEFAULT_ITERATIONS,
    seed: Annotated[
        int,
        typer.Option(min=0, help="Random seed of the Monte Carlo (the same seed, the same run)."),
    ] = 0,
    jobs: JobsOption = DEFAULT_JOBS,
    include_exposure: Annotated[
        list[str] | None,
        typer.Option(
            "--include-exposure",
            metavar="chronic_use|unknown",
            help="Also meta-analyse studies of this exposure (besides single_dose and "
            "repeated_course; your own corpus also includes unknown); repeat for several.",
        ),
    ] = None,
    min_experiments: Annotated[
        int,
        typer.Option(
            min=2,
            help="Fewest experiments a question's meta-analysis needs; below it the question "
            'reports "too few (k)" (17: Eickhoff et al. 2016, Müller et al. 2018).',
        ),
    ] = MIN_EXPERIMENTS,
) -> None:
    """Run the review: the built-in ketamine corpus by default, or --corpus / --db of your own.

    Sleuth files, NiMARE JSON and the Neurosynth tables record no exposure: with --corpus or
    --db, studies of unknown exposure are reviewed too (the built-in corpus records it).
    """
    from neuroreview.io.staging import staged_folder
    from neuroreview.synthesis.summary import summarize_corpus

    if corpus and db:
        raise NeuroreviewError("give either --corpus files or --db, not both")
    exposures = _exposures(include_exposure, own_corpus=bool(corpus or db))
    settings = {"ale": _settings("ale", iterations, seed, jobs)}
    settings["mkda"] = _settings("mkda", iterations, seed, jobs)
    target = check_out(out, force, db)
    if db:
        from neuroreview.store import Repository

        # A missing or foreign store fails here, in one line, before the progress display.
        Repository(db, create=False).close()
    record = _Record()
    with staged_folder(target) as stage, _progress() as progress:
        overall = progress.add_task("loading the corpus", total=8)
        with record.step("load"):
            studies, origin = _load(corpus, db, stage)
            summary = summarize_corpus(studies)
            written = ([] if db else [STORE_NAME]) + _write_corpus(stage, studies, summary)
        record.steps["load"].update(n_studies=len(studies), written=written)
        progress.update(overall, advance=1, description="selecting the coordinate studies")
        with record.step("select"):
            selection = select_studies(studies, exposures)
        record.steps["select"].update(selection.to_dict())
        clusters_folder = None
        for method in CBMA_METHODS:
            progress.update(overall, advance=1, description=f"{LABELS[method]} meta-analysis")
            done = _cbma_step(method, selection, settings[method], origin, stage, record, progress)
            if method == "ale" and done:
                clusters_folder = stage / method
        progress.update(overall, advance=1, description="the review's questions")
        with record.step("questions"):
            record.steps["questions"].update(
                _questions_step(selection, settings, min_experiments, origin, stage, progress)
            )
        record.folders.append(QUESTIONS_FOLDER)
        progress.update(overall, advance=1, description="region synthesis")
        with record.step("regions"):
            record.steps["regions"].update(_regions_step(selection, clusters_folder, stage))
        record.folders.append(REGIONS_FOLDER)
        progress.update(overall, advance=1, description="functional decoding")
        with record.step("decode"):
            record.steps["decode"].update(_decode_step(stage, record))
        record.folders.append(DECODE_FOLDER)
        progress.update(overall, advance=1, description="report")
        document = _summary_document(origin, summary, selection, record, iterations, seed, jobs)
        document["settings"]["min_experiments"] = min_experiments
        document["corpus_sources"] = _corpus_sources(studies, origin)
        document["attribution"] = _attribution(studies)
        if document["attribution"] is None:
            del document["attribution"]
        # The report reads the summary from disk like `neuroreview report` does; the summary is
        # written again once the report step is recorded in it.
        _write_json(stage / RUN_RECORD, document)
        with record.step("report"):
            record.steps["report"].update(_report_step(stage, target.name))
        document["timings_s"] = {name: step.get("seconds") for name, step in record.steps.items()}
        _write_json(stage / RUN_RECORD, document)
        progress.update(overall, advance=1, description="done")
    _print_summary(summary, origin)
    _print_steps(record, out)
    if "attribution" in document:
        console.print(document["attribution"], markup=False, highlight=False)
    console.print(
        f"results written to {out}/ ({', '.join([*written, 'summary.json', REPORT_FILE])}, "
        f"{', '.join(f'{name}/' for name in [*record.folders, REPORT_FOLDER])})",
        markup=False,
        highlight=False,
    )


# --- options -------------------------------------------------------------------------------


def _exposures(include: list[str] | None, own_corpus: bool) -> tuple[Exposure, ...]:
    """The exposures reviewed. A user's corpus adds unknown: most formats cannot record
    exposure, and leaving out every study of a Sleuth file would analyse nothing."""
    chosen = list(DEFAULT_EXPOSURES) + ([Exposure.UNKNOWN] if own_corpus else [])
    for text in include or ():
        try:
            exposure = Exposure.parse(text)
        except ValueError as error:
            raise NeuroreviewError(f"--include-exposure: {error}") from None
        if exposure not in chosen:
            chosen.append(exposure)
    return tuple(chosen)


def _settings(method: str, iterations: int, seed: int, jobs: int):
    """``neuroreview analyze``'s defaults, with the run's iterations, seed and jobs."""
    from neuroreview.cli._cbma_run import Settings

    settings = Settings(
        method=method,
        null_mask="brain",
        fwhm=None,
        sample_size=None,
        radius=None,
        voxel_exact=False,
        subvoxel=False,
        fwe=True,
        iterations=iterations,
        seed=seed,
        jobs=jobs,
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
    if db and "://" not in db:
        store = Path(db).expanduser().absolute()
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
    from neuroreview.report.build import PROVENANCE

    return {
        STORE_NAME,
        RUN_RECORD,
        CROSSTAB,
        CORPUS_FOLDER,
        *CBMA_METHODS,
        REGIONS_FOLDER,
        QUESTIONS_FOLDER,
        DECODE_FOLDER,
        REPORT_FILE,
        REPORT_FOLDER,
        PROVENANCE,
    }


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


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


@dataclass
class Selection:
    """The studies of the review question and the coordinate studies among them.

    ``reviewed`` holds every study whose exposure was chosen (the region synthesis uses them
    all); ``coordinate`` those of them with foci in a known space, each keeping only such
    analyses; ``left_out`` says, for every study not in ``coordinate``, why.
    """

    exposures: tuple[Exposure, ...]
    reviewed: list[Study]
    coordinate: list[Study]
    left_out: list[dict[str, str]]
    n_analyses_unknown_space: int
    n_analyses_not_drug_effect: int = 0
    coordinate_flags: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        reasons = {
            reason: 0
            for reason in (NO_COORDINATES, EXPOSURE, NOT_DRUG_EFFECT, UNKNOWN_SPACE, FAILED_CHECK)
        }
        for entry in self.left_out:
            reasons[entry["reason"]] += 1
        return {
            "exposures": [e.value for e in self.exposures],
            "n_reviewed_studies": len(self.reviewed),
            "n_coordinate_studies": len(self.coordinate),
            "n_experiments": sum(len(s.analyses) for s in self.coordinate),
            "n_foci": sum(s.n_foci for s in self.coordinate),
            "n_left_out": len(self.left_out),
            "left_out_by_reason": reasons,
            "n_analyses_unknown_space": self.n_analyses_unknown_space,
            "n_analyses_not_drug_effect": self.n_analyses_not_drug_effect,
            "coordinate_flags": self.coordinate_flags,
            "left_out": self.left_out,
        }


def select_studies(studies: list[Study], exposures: tuple[Exposure, ...]) -> Selection:
    """Pick the studies of the chosen exposures, and those of them with usable coordinates.

    A study is left out of the meta-analyses for the first of: no coordinates, an exposure not
    chosen, no analysis that is a drug effect (a correlation or a users-vs-controls contrast says
    nothing about what the drug does), every analysis in an unknown space (guessing MNI or
    Talairach would shift foci by up to a centimetre), every focus failing the coordinate check.
    A kept study's other analyses and flagged foci are dropped and counted.
    """
    from neuroreview.cbma.checks import check_coordinates, without_flagged
    from neuroreview.model import FindingKind

    reviewed, coordinate, left_out, unknown_analyses, other_kinds = [], [], [], 0, 0
    for study in studies:
        if study.exposure in exposures:
            reviewed.append(study)
        if not study.analyses:
            left_out.append(_left_out(study, NO_COORDINATES))
            continue
        if study.exposure not in exposures:
            left_out.append(_left_out(study, EXPOSURE, study.exposure.value))
            continue
        effects = [a for a in study.analyses if a.kind is FindingKind.DRUG_EFFECT]
        other_kinds += len(study.analyses) - len(effects)
        if not effects:
            kinds = sorted({a.kind.value for a in study.analyses})
            left_out.append(_left_out(study, NOT_DRUG_EFFECT, ", ".join(kinds)))
            continue
        known = [a for a in effects if a.space is not Space.UNKNOWN]
        unknown_analyses += len(effects) - len(known)
        if not known:
            left_out.append(_left_out(study, UNKNOWN_SPACE))
        elif len(known) < len(study.analyses):
            coordinate.append(study.model_copy(update={"analyses": known}))
        else:
            coordinate.append(study)
    flags = [f for f in check_coordinates(coordinate) if f.leaves]
    if flags:
        coordinate, emptied = without_flagged(coordinate, flags)
        left_out += [_left_out(s, FAILED_CHECK) for s in emptied]
    flag_records = [
        {
            "study_id": f.study_id,
            "analysis_id": f.analysis_id,
            "xyz": [f.x, f.y, f.z],
            "reason": f.reason.value,
        }
        for f in flags
    ]
    return Selection(
        exposures, reviewed, coordinate, left_out, unknown_analyses, other_kinds, flag_records
    )


def _left_out(study: Study, reason: str, detail: str = "") -> dict[str, str]:
    return {"study_id": study.id, "reason": reason, "detail": detail}


def _cbma_step(
    method: str,
    selection: Selection,
    settings,
    origin: str,
    out: Path,
    record: _Record,
    progress: Progress,
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
    step = _meta_analysis(method, studies, settings, inputs, out, method, progress)
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
    progress: Progress,
) -> dict[str, Any]:
    """ALE or MKDA of ``studies`` into ``out/folder``: what summary.json records of it.

    Experiments are a subject group's analyses of one direction (Turkeltaub et al., 2012). ALE
    sizes each kernel from the sample size: a missing one gets the median of the reported ones,
    marked, and the analysis is repeated at the smallest and largest reported N.
    """
    from neuroreview.cbma.experiments import build_experiments
    from neuroreview.cbma.imputation import MEDIAN
    from neuroreview.cli._cbma_run import (
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
    progress: Progress,
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
                folder / f"{question.key}_votes.tsv", votes.to_csv(sep="\t", index=False)
            )
        entry["votes_file"] = f"{question.key}_votes.tsv" if votes is not None else None
        answers.append(entry)
    atomic_write_text(folder / QUESTIONS_TABLE, pd.DataFrame(rows).to_csv(sep="\t", index=False))
    return {"folder": QUESTIONS_FOLDER, "minimum": minimum, "questions": answers}


def _decode_step(out: Path, record: _Record) -> dict[str, Any]:
    """Neurosynth topics of the maps, surviving clusters and converging regions of the run."""
    from neuroreview.cli._decode_run import decode_step

    methods_run = [m for m in CBMA_METHODS if record.steps[m]["status"] == "run"]
    return decode_step(out, methods_run, REGIONS_FOLDER)


def _report_step(out: Path, name: str) -> dict[str, Any]:
    """report.html from the files just written, so it shows exactly what the folder holds;
    ``name`` is the folder's final name (it is built under a hidden one)."""
    from neuroreview.report.build import PROVENANCE, build_report

    report = build_report(out, folder_name=name)
    return {"file": report.name, "folder": REPORT_FOLDER, "provenance": PROVENANCE}


def _regions_step(selection: Selection, clusters_folder: Path | None, out: Path) -> dict[str, Any]:
    """Votes and the convergence table of the reviewed studies, with the ALE clusters."""
    from neuroreview.cli.regions import _exclusions, _write, disagreement_table
    from neuroreview.io.atomic import atomic_write_text
    from neuroreview.synthesis.claims import claims_table
    from neuroreview.synthesis.convergence import (
        collect_effects,
        convergence_table,
        effects_table,
    )
    from neuroreview.synthesis.votes import count_votes

    studies = selection.reviewed
    cluster_table = cluster_volume = None
    if clusters_folder is not None:
        from neuroreview.io.maps import read_analysis_clusters

        cluster_table, cluster_volume = read_analysis_clusters(clusters_folder)
    votes = count_votes(studies)
    convergence = convergence_table(
        studies, votes=votes, clusters=cluster_table, cluster_volume=cluster_volume
    )
    effects = collect_effects(studies)
    exclusions = _exclusions(votes.exclusions, effects.exclusions)
    disagreements = disagreement_table(votes.disagreements)
    _write(
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
        "files": [
            "votes.tsv",
            "convergence.tsv",
            "exclusions.tsv",
            "effects.tsv",
            "label_disagreements.tsv",
            CLAIMS_FILE,
        ],
        "n_label_disagreements": len(disagreements),
        "n_studies": len(studies),
        "n_regions_voted": int(votes.table["region"].nunique()),
        "n_convergence_rows": len(convergence),
        "n_pooled_effects": int(pooled.sum()),
        "n_exclusions": len(exclusions),
        "clusters_from": clusters_folder.name if clusters_folder is not None else None,
    }


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
    from neuroreview.cli._cbma_run import neurosynth_attribution

    return neurosynth_attribution(studies)


def _summary_document(
    origin: str, summary, selection: Selection, record: _Record, iterations, seed, jobs
) -> dict[str, Any]:
    from neuroreview.cli._cbma_run import versions

    return {
        "neuroreview_version": __version__,
        "corpus": origin,
        **summary.to_dict(),
        "settings": {
            "exposures": [e.value for e in selection.exposures],
            "iterations": iterations,
            "seed": seed,
            "jobs": jobs,
            "methods": list(CBMA_METHODS),
        },
        "steps": record.steps,
        "timings_s": {name: step.get("seconds") for name, step in record.steps.items()},
        "versions": versions(),
    }


def _write_json(path: Path, document: dict[str, Any]) -> None:
    from neuroreview.io.atomic import atomic_write_text

    atomic_write_text(path, json.dumps(document, indent=2, allow_nan=False) + "\n")


def _print_summary(summary, origin: str) -> None:
    console.print(
        f"[bold]{summary.n_studies} studies[/bold] from {origin}: "
        f"{summary.n_coordinate_studies} with coordinates ({summary.n_analyses} analyses, "
        f"{summary.n_foci} foci), {summary.n_region_studies} with region findings "
        f"({summary.n_region_findings})"
    )
    rows = summary.crosstab_rows()
    console.print("Studies by modality x population:")
    table = Table()
    for i, name in enumerate(rows[0]):
        table.add_column(str(name), justify="left" if i == 0 else "right")
    for row in rows[1:]:
        table.add_row(*(str(v) for v in row))
    console.print(table)


def _print_steps(record: _Record, out: Path) -> None:
    """One line per step after the corpus summary."""
    select = record.steps["select"]
    reasons = ", ".join(f"{n} {r}" for r, n in select["left_out_by_reason"].items() if n)
    console.print(
        f"selection: {select['n_coordinate_studies']} coordinate studies "
        f"({select['n_experiments']} experiments, {select['n_foci']} foci) of exposure "
        f"{' or '.join(select['exposures'])}; {select['n_left_out']} left out"
        + (f" ({reasons})" if reasons else "")
        + (
            f"; {select['n_analyses_unknown_space']} analyses in an unknown space dropped"
            if select["n_analyses_unknown_space"]
            else ""
        ),
        markup=False,
        highlight=False,
    )
    for method in CBMA_METHODS:
        step = record.steps[method]
        if step["status"] == "skipped":
            line = f"{LABELS[method]}: skipped: {step['reason']}"
        else:
            imputed = step.get("n_experiments_imputed", 0)
            imputation = step.get("sample_size_imputation") or {}
            sensitivity = [
                r for r in imputation.get("sensitivity", []) if r["scenario"] != "imputed"
            ]
            held = all(r["same_clusters"] for r in sensitivity)
            line = (
                f"{LABELS[method]}: {step['n_experiments']} experiments ({step['n_foci']} foci), "
                f"{step['n_iters_run']} Monte Carlo iterations (seed {step['seed']}): "
                f"{step['n_clusters']} clusters survive cluster-level FWE p < {step['alpha']:g}"
                + (
                    f"; {imputed} experiment(s) without a sample size given the median N = "
                    f"{imputation['value']:g}, clusters "
                    + ("unchanged" if held else "changed")
                    + " at the smallest and largest reported N"
                    if imputed
                    else ""
                )
                + f" -> {out / step['folder']}/"
            )
        console.print(line, markup=False, highlight=False)
    questions = record.steps.get("questions")
    for question in (questions or {}).get("questions", []):
        parts = "; ".join(
            f"{part['direction']}: {part['status']}"
            + (
                ", "
                + ", ".join(
                    f"{LABELS[m]} {a['n_clusters']} clusters"
                    if a["status"] == "run"
                    else f"{LABELS[m]} skipped"
                    for m, a in part["analyses"].items()
                )
                if part["analyses"]
                else ""
            )
            for part in question["parts"]
        )
        console.print(
            f"question {question['title']}: {parts} (minimum {questions['minimum']} "
            f"experiments) -> {out / QUESTIONS_FOLDER}/",
            markup=False,
            highlight=False,
        )
    regions = record.steps["regions"]
    clusters = (
        f", with the {regions['clusters_from'].upper()} clusters"
        if regions["clusters_from"]
        else ", without clusters (no ALE)"
    )
    console.print(
        f"regions: {regions['n_studies']} studies, {regions['n_regions_voted']} regions voted, "
        f"{regions['n_pooled_effects']} pooled effects{clusters}; {regions['n_exclusions']} "
        f"excluded -> {out / REGIONS_FOLDER}/",
        markup=False,
        highlight=False,
    )
    decode = record.steps.get("decode")
    if decode is not None:
        console.print(
            f"decoding: {decode['n_maps']} maps, {decode['n_clusters']} clusters and "
            f"{decode['n_regions']} converging regions against {decode['topics']}"
            + (f"; {decode['n_not_decoded']} not decoded" if decode["n_not_decoded"] else "")
            + f" -> {out / decode['folder']}/",
            markup=False,
            highlight=False,
        )
    report = record.steps.get("report")
    if report is not None:
        console.print(
            f"report: {out / report['file']} (figures and tables in {out / report['folder']}/, "
            f"provenance in {out / report['provenance']})",
            markup=False,
            highlight=False,
        )
