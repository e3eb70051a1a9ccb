"""``neuroreview analyze``: one coordinate-based meta-analysis, from files or the store, to a folder.

The folder holds what a methods section and a results table need: every map under NiMARE's
name, the surviving clusters, and ``analysis.json`` recording inputs (with file hashes), every
setting, the seed, versions and timings, so the analysis can be rerun and checked. It is
written into a hidden sibling folder and renamed into place only when complete: a failure or
Ctrl-C never leaves a half-written folder where the results are expected.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import platform
import secrets
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from neuroreview import __version__
from neuroreview.cli.common import DbOption, console, friendly_errors
from neuroreview.cli.corpus import (
    ImportFormat,
    ModalityOption,
    PopulationOption,
    YearFromOption,
    YearOption,
    YearToOption,
)
from neuroreview.errors import NeuroreviewError
from neuroreview.store import DEFAULT_DATABASE

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray

    from neuroreview.cbma.base import CBMAEstimator
    from neuroreview.cbma.inputs import CoordinateSet
    from neuroreview.cbma.results import CBMAResult
    from neuroreview.model import Study

DEFAULT_OUT = Path("neuroreview-analysis")
METHODS = ("ale", "mkda", "kda")
NULL_MASKS = ("brain", "gm")
#: MKDA and KDA sphere radius when --radius is not given (NiMARE's default).
DEFAULT_RADIUS_MM = 10.0
#: The folder's record of itself; also how --force recognises a folder it may replace.
RECORD = "analysis.json"
CLUSTERS = "clusters.tsv"
CLUSTER_IMAGE = "clusters.nii.gz"
#: Versions recorded in analysis.json: the packages whose changes could change the numbers.
RECORDED_PACKAGES = ("neuroreview", "numpy", "scipy", "numba", "nibabel", "pandas")


@dataclass
class _Inputs:
    """The studies to analyse and a JSON-ready account of where they came from."""

    studies: list[Study]
    record: dict[str, Any]


@dataclass
class _Timer:
    seconds: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(time.perf_counter() - start, 3)


@friendly_errors
def analyze(
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Sleuth .txt, NiMARE .json or .csv/.tsv table files; none: the studies in --db.",
            show_default=False,
        ),
    ] = None,
    method: Annotated[
        str, typer.Option(metavar="ale|mkda|kda", help="ALE, MKDA density or KDA.")
    ] = "ale",
    iterations: Annotated[
        int, typer.Option(help="Monte Carlo iterations for the FWE corrections.")
    ] = 10_000,
    seed: Annotated[
        int | None,
        typer.Option(help="Random seed; a fresh one is drawn (and recorded) when not given."),
    ] = None,
    jobs: Annotated[int, typer.Option(help="Worker processes for the Monte Carlo.")] = 1,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = DEFAULT_OUT,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace the output folder if it holds an earlier analysis."),
    ] = False,
    voxel_thresh: Annotated[
        float, typer.Option(help="Cluster-forming threshold (uncorrected voxel p).")
    ] = 0.001,
    alpha: Annotated[
        float, typer.Option(help="Clusters need cluster-level FWE p below this (also the FDR q).")
    ] = 0.05,
    fwhm: Annotated[
        float | None, typer.Option(help="ALE: one kernel FWHM (mm) for every experiment.")
    ] = None,
    sample_size: Annotated[
        float | None,
        typer.Option(help="ALE: one sample size for every experiment's kernel width."),
    ] = None,
    radius: Annotated[
        float | None, typer.Option(help="MKDA/KDA: sphere radius in mm (default 10).")
    ] = None,
    null_mask: Annotated[
        str,
        typer.Option(
            metavar="brain|gm",
            help="Draw random foci from the brain mask (NiMARE) or grey matter (GingerALE).",
        ),
    ] = "brain",
    voxel_exact: Annotated[
        bool, typer.Option("--voxel-exact", help="ALE: kernel width right at any voxel size.")
    ] = False,
    subvoxel: Annotated[
        bool,
        typer.Option("--subvoxel", help="ALE: centre kernels on the reported focus (GingerALE)."),
    ] = False,
    early_stop: Annotated[
        float | None,
        typer.Option(
            metavar="TOL",
            help="Stop the Monte Carlo once the FWE thresholds are known to within TOL (relative).",
        ),
    ] = None,
    no_fwe: Annotated[
        bool, typer.Option("--no-fwe", help="Skip the Monte Carlo FWE corrections.")
    ] = False,
    fmt: Annotated[
        ImportFormat, typer.Option("--format", help="Reader for INPUT files.")
    ] = ImportFormat.auto,
    db: DbOption = DEFAULT_DATABASE,
    population: PopulationOption = None,
    modality: ModalityOption = None,
    direction: Annotated[
        str | None,
        typer.Option(help="Store: only analyses (contrasts) reported in this direction."),
    ] = None,
    space: Annotated[
        str | None, typer.Option(help="Store: only analyses reported in MNI or TAL.")
    ] = None,
    year: YearOption = None,
    year_from: YearFromOption = None,
    year_to: YearToOption = None,
    study: Annotated[
        list[str] | None, typer.Option("--study", help="Store: this study id (repeatable).")
    ] = None,
) -> None:
    """Meta-analyse coordinates (ALE, MKDA or KDA) with Monte Carlo FWE; write maps and clusters."""
    from neuroreview.cbma.inference import correct_fdr
    from neuroreview.cbma.inputs import CoordinateSet

    settings = _Settings(
        method=method.lower(),
        null_mask=null_mask.lower(),
        fwhm=fwhm,
        sample_size=sample_size,
        radius=radius,
        voxel_exact=voxel_exact,
        subvoxel=subvoxel,
        fwe=not no_fwe,
        iterations=iterations,
        seed=seed,
        jobs=jobs,
        early_stop=early_stop,
        voxel_thresh=voxel_thresh,
        alpha=alpha,
    )
    settings.check()
    if settings.fwe and settings.seed is None:
        # A drawn seed is recorded in analysis.json, so even an unseeded analysis can be rerun.
        settings.seed = secrets.randbelow(2**31)
    target = _writable_target(out, force)
    filters = {
        "--population": population,
        "--modality": modality,
        "--direction": direction,
        "--space": space,
        "--year": year,
        "--year-from": year_from,
        "--year-to": year_to,
        "--study": study,
    }
    timer = _Timer()
    with timer.step("read"):
        loaded = _read_files(inputs, fmt, filters) if inputs else _read_store(db, filters)
        coordinates = CoordinateSet.from_studies(loaded.studies)
    settings.check_sample_sizes(coordinates.missing_sample_sizes())
    estimator = settings.estimator()
    with timer.step("fit"), console.status(f"fitting {settings.method.upper()}"):
        result = estimator.fit(coordinates)
    estimator_settings = _jsonable(dict(result.settings))
    fwe = None
    if settings.fwe:
        with timer.step("fwe_montecarlo"):
            result, fwe = _correct_fwe(result, settings)
    with timer.step("fdr"):
        result = correct_fdr(result, alpha=settings.alpha)
    with timer.step("clusters"):
        clusters, selection, cluster_ids = _clusters(result, settings)

    record = {
        "neuroreview_version": __version__,
        "inputs": loaded.record,
        "n_studies": sum(1 for s in loaded.studies if s.analyses),
        "n_experiments": coordinates.n_experiments,
        "n_foci": coordinates.n_foci,
        "experiments": _experiments(coordinates),
        "method": settings.method,
        "estimator": estimator_settings,
        "null_mask": settings.null_mask,
        "n_null_voxels": int(len(estimator.space.null_ijk())),
        "fwe": fwe,
        "fdr": {"alpha": settings.alpha},
        "clusters": {
            **selection,
            "file": CLUSTERS,
            "image": CLUSTER_IMAGE,
            "n_clusters": _n_clusters(clusters),
        },
        "maps": [f"{name}.nii.gz" for name in sorted(result.maps)],
        "versions": _versions(),
        "methods": " ".join(result.descriptions),
    }
    _publish(
        target,
        force,
        lambda folder: _write_folder(folder, result, clusters, cluster_ids, record, timer),
    )
    _print_summary(record, clusters, out)


# --- options -------------------------------------------------------------------------------


@dataclass
class _Settings:
    """The analysis options, checked together before any work is done."""

    method: str
    null_mask: str
    fwhm: float | None
    sample_size: float | None
    radius: float | None
    voxel_exact: bool
    subvoxel: bool
    fwe: bool
    iterations: int
    seed: int | None
    jobs: int
    early_stop: float | None
    voxel_thresh: float
    alpha: float

    def check(self) -> None:
        """Refuse contradictory or meaningless options, each in one line."""
        if self.method not in METHODS:
            raise NeuroreviewError(f"unknown method {self.method!r}; choose ale, mkda or kda")
        if self.null_mask not in NULL_MASKS:
            raise NeuroreviewError(f"unknown null mask {self.null_mask!r}; choose brain or gm")
        if self.iterations < 1:
            raise NeuroreviewError(f"--iterations must be at least 1, got {self.iterations}")
        if self.jobs < 1:
            raise NeuroreviewError(f"--jobs must be at least 1, got {self.jobs}")
        for name, value in (("--voxel-thresh", self.voxel_thresh), ("--alpha", self.alpha)):
            if not 0.0 < value < 1.0:
                raise NeuroreviewError(f"{name} must lie between 0 and 1, got {value:g}")
        sizes = {
            "--fwhm": self.fwhm,
            "--sample-size": self.sample_size,
            "--radius": self.radius,
            "--early-stop": self.early_stop,
        }
        for name, value in sizes.items():
            if value is not None and not value > 0:
                raise NeuroreviewError(f"{name} must be positive, got {value:g}")
        if self.method == "ale":
            if self.fwhm is not None and self.sample_size is not None:
                raise NeuroreviewError("give --fwhm or --sample-size, not both")
            if self.radius is not None:
                raise NeuroreviewError("--radius applies to MKDA and KDA; ALE kernels use --fwhm")
        else:
            ale_only = {
                "--fwhm": self.fwhm is not None,
                "--sample-size": self.sample_size is not None,
                "--voxel-exact": self.voxel_exact,
                "--subvoxel": self.subvoxel,
            }
            used = [name for name, given in ale_only.items() if given]
            if used:
                raise NeuroreviewError(f"{used[0]} applies to ALE only, not {self.method.upper()}")

    def check_sample_sizes(self, missing: list[str]) -> None:
        """ALE without a fixed kernel needs every sample size; say so in the CLI's words."""
        if self.method == "ale" and self.fwhm is None and self.sample_size is None and missing:
            raise NeuroreviewError(
                f"ALE sizes each kernel from the sample size, and {len(missing)} experiment(s) "
                f"report none (first: {missing[0]!r}); record them, or give --sample-size N or "
                "--fwhm MM for every experiment"
            )

    def estimator(self) -> CBMAEstimator:
        from neuroreview.cbma.base import AnalysisSpace

        space = AnalysisSpace.default(self.null_mask)
        if self.method == "ale":
            from neuroreview.cbma.ale import ALE

            return ALE(
                fwhm=self.fwhm,
                sample_size=self.sample_size,
                voxel_exact=self.voxel_exact,
                subvoxel=self.subvoxel,
                space=space,
            )
        r = DEFAULT_RADIUS_MM if self.radius is None else self.radius
        if self.method == "mkda":
            from neuroreview.cbma.mkda import MKDADensity

            return MKDADensity(r=r, space=space)
        from neuroreview.cbma.kda import KDA

        return KDA(r=r, space=space)


def _writable_target(out: Path, force: bool) -> Path:
    """The absolute output folder, after checking now that it may be written at the end."""
    target = out.expanduser().resolve()
    if target.exists():
        if not force:
            raise NeuroreviewError(f"{out} already exists; use --force to replace it")
        if not (target / RECORD).is_file():
            raise NeuroreviewError(
                f"{out} exists and holds no {RECORD}; --force only replaces an earlier analysis"
            )
    return target


# --- inputs --------------------------------------------------------------------------------


def _read_files(paths: list[Path], fmt: ImportFormat, filters: dict[str, Any]) -> _Inputs:
    from neuroreview.io.dispatch import read_inputs

    given = [option for option, value in filters.items() if value is not None]
    if given:
        raise NeuroreviewError(
            f"{given[0]} selects studies in the store; with INPUT files, edit the files instead"
        )
    studies = read_inputs(paths, fmt.value)
    files = [{"path": str(p), "sha256": _sha256(p), "bytes": p.stat().st_size} for p in paths]
    return _Inputs(studies, {"files": files, "format": fmt.value})


def _read_store(db: str, filters: dict[str, Any]) -> _Inputs:
    """Studies from the store; --direction and --space also pick the analyses within them.

    The store's filter keeps a study when any of its analyses matches, but pooling a study's
    decreases into a meta-analysis of increases would be wrong, so analyses are filtered too.
    """
    from sqlalchemy.engine import make_url

    from neuroreview.model import Direction, Space
    from neuroreview.store import Repository, StudyFilter

    if "://" not in db and not Path(db).expanduser().is_file():
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
    with Repository(db) as repository:
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
    return _Inputs(kept, {"store": url, "filters": used, "study_ids": [s.id for s in kept]})


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- inference -----------------------------------------------------------------------------


def _correct_fwe(result: CBMAResult, settings: _Settings) -> tuple[CBMAResult, dict[str, Any]]:
    """Monte Carlo FWE with a progress bar over iterations; returns what analysis.json records."""
    from neuroreview.cbma.inference import correct_fwe_montecarlo

    columns = (
        TextColumn("Monte Carlo"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("iterations", total=settings.iterations)
        corrected = correct_fwe_montecarlo(
            result,
            voxel_thresh=settings.voxel_thresh,
            n_iters=settings.iterations,
            seed=settings.seed,
            n_jobs=settings.jobs,
            progress=_advance(progress, task),
            early_stop=settings.early_stop,
        )
    applied = corrected.settings
    record = {
        "voxel_thresh": settings.voxel_thresh,
        "cluster_forming_stat": applied["cluster_forming_threshold"],
        "n_iters_requested": settings.iterations,
        "n_iters_run": applied["n_iters_run"],
        "stopped_early": applied["stopped_early"],
        "early_stop": _jsonable(applied["early_stop"]),
        "seed": settings.seed,
        "n_jobs": settings.jobs,
    }
    return corrected, record


def _advance(progress: Progress, task: Any) -> Callable[[int], None]:
    def report(done: int) -> None:
        progress.update(task, completed=done)

    return report


def _clusters(
    result: CBMAResult, settings: _Settings
) -> tuple[pd.DataFrame, dict[str, Any], NDArray[np.int16]]:
    """The clusters table, what it lists (for analysis.json), and its clusters' voxels."""
    from neuroreview.cbma.clusters import (
        CLUSTER_FWE_MAP,
        cluster_id_volume,
        clusters_at_voxel_threshold,
        clusters_for_correction,
        suprathreshold_voxels,
        surviving_voxels,
    )
    from neuroreview.space.atlas import aal3_labeler

    labeler = aal3_labeler()
    threshold = f"cluster-forming threshold p < {settings.voxel_thresh:g}"
    if settings.fwe:
        selection = {
            "selection": f"clusters with cluster-level (size) FWE p < {settings.alpha:g}, "
            f"{threshold}",
            "corrected_map": CLUSTER_FWE_MAP,
            "alpha": settings.alpha,
            "peaks_map": "z",
            "labels": "AAL3 (Rolls et al., 2020); nearest label within 5 mm, distance in brackets",
        }
        table = clusters_for_correction(result, CLUSTER_FWE_MAP, settings.alpha, labeler=labeler)
        included = surviving_voxels(result, CLUSTER_FWE_MAP, settings.alpha)
        return table, selection, cluster_id_volume(table, included, result.space.grid)
    selection = {
        "selection": f"uncorrected: every cluster at the {threshold}; no FWE correction was "
        "run (--no-fwe)",
        "corrected_map": None,
        "alpha": None,
        "peaks_map": "z",
        "labels": "AAL3 (Rolls et al., 2020); nearest label within 5 mm, distance in brackets",
    }
    table = clusters_at_voxel_threshold(result, settings.voxel_thresh, labeler=labeler)
    included = suprathreshold_voxels(result, settings.voxel_thresh)
    return table, selection, cluster_id_volume(table, included, result.space.grid)


# --- output --------------------------------------------------------------------------------


def _experiments(coordinates: CoordinateSet) -> list[dict[str, Any]]:
    counts = coordinates.experiment_starts[1:] - coordinates.experiment_starts[:-1]
    return [
        {
            "id": experiment,
            "n_foci": int(n),
            "sample_size": None if math.isnan(size) else float(size),
        }
        for experiment, n, size in zip(
            coordinates.experiment_ids, counts, coordinates.sample_sizes, strict=True
        )
    ]


def _n_clusters(clusters: pd.DataFrame) -> int:
    return int((~clusters["subpeak"]).sum())


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in RECORDED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    versions["neuroreview"] = __version__
    return versions


def _jsonable(value: Any) -> Any:
    """Settings as plain JSON values (numpy scalars and arrays become numbers and lists)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _write_folder(
    folder: Path,
    result: CBMAResult,
    clusters: pd.DataFrame,
    cluster_ids: NDArray[np.int16],
    record: dict[str, Any],
    timer: _Timer,
) -> None:
    from neuroreview.io.atomic import atomic_write_text
    from neuroreview.io.maps import write_cluster_table, write_cluster_volume, write_maps

    with timer.step("write"):
        write_maps(result, folder)
        write_cluster_table(clusters, folder / CLUSTERS)
        write_cluster_volume(cluster_ids, result.space.grid, folder / CLUSTER_IMAGE)
    text = json.dumps({**record, "timings_s": timer.seconds}, indent=2, allow_nan=False)
    atomic_write_text(folder / RECORD, text + "\n")


def _publish(target: Path, force: bool, write: Callable[[Path], None]) -> None:
    """Write into a hidden sibling folder, then rename it to ``target`` in one step.

    An earlier analysis at ``target`` (only with --force) is moved aside first and deleted once
    the new folder is in place, or moved back if the swap fails. The target is checked again
    here: something may have appeared there while the analysis ran.
    """
    _writable_target(target, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex
    staging = target.with_name(f".{target.name}.{tag}.partial")
    retired = target.with_name(f".{target.name}.{tag}.old")
    staging.mkdir()
    try:
        write(staging)
        if target.exists():
            target.rename(retired)
            try:
                staging.rename(target)
            except BaseException:
                retired.rename(target)
                raise
            shutil.rmtree(retired)
        else:
            staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _print_summary(record: dict[str, Any], clusters: pd.DataFrame, out: Path) -> None:
    fwe = record["fwe"]
    iterations = f", {fwe['n_iters_run']} Monte Carlo iterations" if fwe else ", no FWE"
    console.print(
        f"[bold]{record['method'].upper()}[/bold] on {record['n_experiments']} experiments "
        f"({record['n_foci']} foci){iterations}"
    )
    main = clusters[~clusters["subpeak"]]
    if fwe:
        alpha = record["clusters"]["alpha"]
        console.print(f"{len(main)} clusters survive cluster-level FWE p < {alpha:g}")
    else:
        console.print(f"{len(main)} clusters at the uncorrected cluster-forming threshold")
    if len(main):
        table = Table()
        columns = ["cluster", "voxels", "mm3", "x", "y", "z", "peak z"] + (["p FWE"] if fwe else [])
        for column in columns:
            table.add_column(column, justify="right")
        table.add_column("AAL3 label at peak")
        for row in main.itertuples():
            cells = [row.cluster_id, row.size_voxels, row.size_mm3, row.x, row.y, row.z]
            cells = [f"{c:g}" for c in cells] + [f"{row.peak_stat:.2f}"]
            table.add_row(*cells, *([f"{row.p_corrected:.4g}"] if fwe else []), row.label)
        console.print(table)
    console.print(f"results written to {out}/ ({len(record['maps'])} maps, {CLUSTERS}, {RECORD})")
