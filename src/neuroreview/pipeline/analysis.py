"""One meta-analysis's inputs, as ``neuroreview analyze`` takes them: files or a store's studies,
the kinds of analysis analysed, and the coordinate check. The domain rules live here, not in
the command: which analyses of a study a filter keeps, what is refused, what is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuroreview.errors import NeuroreviewError
from neuroreview.io.hashing import file_sha256
from neuroreview.model import Study
from neuroreview.pipeline import compute

if TYPE_CHECKING:
    from neuroreview.pipeline.meta_analysis import Outcome
    from neuroreview.pipeline.progress import Reporter
    from neuroreview.pipeline.settings import Settings


@dataclass
class AnalysisInputs:
    """The studies to analyse and a JSON-ready account of where they came from."""

    studies: list[Study]
    record: dict[str, Any]


def impute_rule(text: str | None, settings: Settings) -> str | float | None:
    """``--impute-sample-size`` checked against the other options before any work."""
    from neuroreview.cbma.imputation import parse_rule
    from neuroreview.cbma.registry import METHODS, method

    if text is None:
        return None
    if not method(settings.method).uses_sample_size:
        takers = " and ".join(m.label for m in METHODS.values() if m.uses_sample_size)
        raise NeuroreviewError(
            f"--impute-sample-size applies to {takers} only; {settings.method.upper()} needs no "
            "sample size"
        )
    if settings.fwhm is not None or settings.sample_size is not None:
        raise NeuroreviewError(
            "--impute-sample-size fills missing sample sizes; with --fwhm or --sample-size "
            "every experiment already has one kernel"
        )
    try:
        return parse_rule(text)
    except ValueError as error:
        raise NeuroreviewError(f"--impute-sample-size: {error}") from None


def of_kinds(studies: list[Study], kinds: list[str] | None) -> tuple[list[Study], list[dict]]:
    """The studies keeping only analyses of the chosen kinds, and what was left out and why."""
    from neuroreview.model import FindingKind

    try:
        wanted = {FindingKind.parse(k) for k in kinds or ["drug_effect"]}
    except ValueError as error:
        raise NeuroreviewError(f"--kind: {error}") from None
    kept, left_out = [], []
    for study in studies:
        chosen = [a for a in study.analyses if a.kind in wanted]
        left_out += [
            {"study_id": study.id, "analysis_id": a.id, "reason": f"kind {a.kind.value}"}
            for a in study.analyses
            if a.kind not in wanted
        ]
        if chosen:
            kept.append(study.model_copy(update={"analyses": chosen}))
    if not kept:
        raise NeuroreviewError(
            f"no analysis of kind {', '.join(sorted(k.value for k in wanted))} to meta-analyse "
            f"({len(left_out)} of other kinds; choose them with --kind)"
        )
    return kept, left_out


def checked(studies: list[Study], keep: bool) -> list:
    """Refuse foci outside the brain or in misparsed tables unless the user keeps them."""
    from neuroreview.cbma.checks import check_coordinates

    leaving = [f for f in check_coordinates(studies) if f.leaves]
    if leaving and not keep:
        first = leaving[0]
        raise NeuroreviewError(
            f"{len(leaving)} focus/foci fail the coordinate check, e.g. study "
            f"{first.study_id!r}, analysis {first.analysis_id!r}: {first.x:g} {first.y:g} "
            f"{first.z:g} ({first.reason.value}); see them with `neuroreview check`, fix the "
            "input, or keep them with --keep-outside-mask"
        )
    return leaving


def flag_record(flag) -> dict[str, Any]:
    return {
        "study_id": flag.study_id,
        "analysis_id": flag.analysis_id,
        "xyz": [flag.x, flag.y, flag.z],
        "reason": flag.reason.value,
        "distance_mm": flag.distance_mm,
    }


def read_files(paths: list[Path], fmt: str, filters: dict[str, Any]) -> AnalysisInputs:
    from neuroreview.io.dispatch import read_inputs

    given = [option for option, value in filters.items() if value is not None]
    if given:
        raise NeuroreviewError(
            f"{given[0]} selects studies in the store; with INPUT files, edit the files instead"
        )
    studies = read_inputs(paths, fmt)
    files = [{"path": str(p), "sha256": file_sha256(p), "bytes": p.stat().st_size} for p in paths]
    return AnalysisInputs(studies, {"files": files, "format": fmt})


def read_store(db: str, filters: dict[str, Any]) -> AnalysisInputs:
    """Studies from the store; --direction and --space also pick the analyses within them.

    The store's filter keeps a study when any of its analyses matches, but pooling a study's
    decreases into a meta-analysis of increases would be wrong, so analyses are filtered too.
    """
    from sqlalchemy.engine import make_url

    from neuroreview.model import Direction, Space
    from neuroreview.store import Repository, StudyFilter, local_store_path

    local = local_store_path(db)
    if local is not None and not local.is_file():
        raise NeuroreviewError(
            f"no store at {db}; give INPUT files, or import studies first (neuroreview import)"
        )
    year, direction, space = filters["--year"], filters["--direction"], filters["--space"]
    study_filter = StudyFilter.of(
        population=filters["--population"],
        modality=filters["--modality"],
        direction=direction,
        space=space,
        year_min=year if year is not None else filters["--year-from"],
        year_max=year if year is not None else filters["--year-to"],
        study_ids=filters["--study"],
    )
    with Repository(db, create=False) as repository:
        studies = repository.list_studies(study_filter)
        url = make_url(repository.url).render_as_string(hide_password=True)
    missing = sorted(set(filters["--study"] or ()) - {s.id for s in studies})
    if missing:
        raise NeuroreviewError(f"no study {missing[0]!r} in {url} matches the filters")
    wanted_direction = Direction.parse(direction) if direction else None
    wanted_space = Space.parse(space) if space else None
    kept = []
    for s in studies:
        analyses = [
            a
            for a in s.analyses
            if (wanted_direction is None or a.direction is wanted_direction)
            and (wanted_space is None or a.space is wanted_space)
        ]
        if analyses:
            kept.append(s.model_copy(update={"analyses": analyses}))
    used = {option.lstrip("-"): value for option, value in filters.items() if value is not None}
    return AnalysisInputs(kept, {"store": url, "filters": used, "study_ids": [s.id for s in kept]})


@dataclass
class AnalysisRequest:
    """Everything ``neuroreview analyze`` was asked, as plain values."""

    settings: Settings
    out: Path
    force: bool = False
    #: Input files; without them the studies come from the store ``db``.
    inputs: list[Path] = field(default_factory=list)
    fmt: str = "auto"
    db: str | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    kinds: list[str] | None = None
    keep_outside_mask: bool = False
    experiment_unit: str = "group"
    impute_sample_size: str | None = None
    #: Per-cluster diagnostics, comma-separated (``jackknife,focus-counter``).
    diagnostics: str | None = None
    #: A Dask scheduler's address, or a local Dask cluster's worker count (pipeline.compute).
    scheduler: str | None = None
    workers: int | None = None


def run_analysis(
    request: AnalysisRequest, reporter: Reporter | None = None
) -> tuple[dict[str, Any], Outcome]:
    """One meta-analysis from files or the store into the folder ``request.out``, written whole;
    returns what ``analysis.json`` records and the fitted outcome. Every option is checked
    before any work, and an unseeded FWE analysis draws a seed that is recorded, so even it can
    be rerun."""
    import secrets

    from neuroreview.cbma.experiments import ExperimentUnit, build_experiments
    from neuroreview.pipeline import sensitivity
    from neuroreview.pipeline.analysis_folder import publish_analysis, writable_target
    from neuroreview.pipeline.diagnostics import parse_diagnostics
    from neuroreview.pipeline.meta_analysis import analysis_record, impute_and_perform
    from neuroreview.pipeline.settings import Timer

    settings = request.settings
    settings.check()
    compute.check_options(request.scheduler, request.workers)
    settings.diagnostics = parse_diagnostics(request.diagnostics, settings)
    rule = impute_rule(request.impute_sample_size, settings)
    if settings.fwe and settings.seed is None:
        settings.seed = secrets.randbelow(2**31)
    target = writable_target(request.out, request.force)
    try:
        unit = ExperimentUnit(request.experiment_unit.lower())
    except ValueError:
        raise NeuroreviewError(
            f"--experiment-unit {request.experiment_unit!r}: choose group or analysis"
        ) from None
    timer = Timer()
    with timer.step("read"):
        if request.inputs:
            loaded = read_files(request.inputs, request.fmt, request.filters)
        else:
            loaded = read_store(request.db, request.filters)
        studies, left_out = of_kinds(loaded.studies, request.kinds)
        flags = checked(studies, request.keep_outside_mask)
        convention = settings.resolved_convention()
        coordinates, pooling = build_experiments(studies, unit, convention=convention)
    with compute.computing(request.scheduler, request.workers):
        outcome, imputation = impute_and_perform(coordinates, settings, rule, timer, reporter)
        if sensitivity.applies(settings):
            with timer.step("convention_sensitivity"):
                outcome.convention_sensitivity = sensitivity.convention_sensitivity(
                    outcome,
                    settings,
                    lambda chosen: build_experiments(studies, unit, convention=chosen)[0],
                    reporter,
                )
    if settings.mask is not None:
        mask_file = Path(settings.mask)
        loaded.record["mask"] = {
            "path": str(mask_file),
            "sha256": file_sha256(mask_file),
            "threshold": settings.mask_threshold,
            "n_voxels": outcome.estimator.space.n_voxels,
        }
    inputs_record = loaded.record | {
        "experiments": pooling.to_dict(),
        "not_analysed": left_out,
        "coordinate_flags_kept": [flag_record(f) for f in flags],
    }
    record = analysis_record(outcome, settings, coordinates, studies, inputs_record, imputation)
    publish_analysis(target, request.force, outcome, record, timer)
    return record, outcome
