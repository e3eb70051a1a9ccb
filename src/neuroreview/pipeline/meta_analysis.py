"""One coordinate-based meta-analysis from studies to a finished folder, shared by the commands.

``neuroreview analyze`` runs one; ``neuroreview run`` runs ALE and MKDA density as steps of the
whole review. Both fit, correct, find clusters, record and write through these functions, so
the folders they write are the same. Progress goes to a :class:`~neuroreview.pipeline.progress.
Reporter`; nothing here draws on a terminal.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from neuroreview import __version__
from neuroreview.errors import NeuroreviewError
from neuroreview.io.layout import (
    ANALYSIS_RECORD,
    CLUSTER_IMAGE,
    CLUSTER_TABLE,
    IMPUTATION_SENSITIVITY,
    map_file,
)
from neuroreview.pipeline import compute
from neuroreview.pipeline.progress import Reporter, SilentReporter
from neuroreview.pipeline.settings import Settings, Timer
from neuroreview.versions import package_versions

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray

    from neuroreview.cbma.base import CBMAEstimator
    from neuroreview.cbma.imputation import Imputation
    from neuroreview.cbma.inputs import CoordinateSet
    from neuroreview.cbma.results import CBMAResult
    from neuroreview.model import Study

#: The folder's record of itself; also how --force recognises a folder it may replace.
RECORD, CLUSTERS, CLUSTER_IMAGE = ANALYSIS_RECORD, CLUSTER_TABLE, CLUSTER_IMAGE
#: ALE's imputation sensitivity table, written when a sample size was imputed.
SENSITIVITY = IMPUTATION_SENSITIVITY
#: Versions recorded in analysis.json: the packages whose changes could change the numbers.
RECORDED_PACKAGES = ("neuroreview", "numpy", "scipy", "numba", "nibabel", "pandas")
#: The ODbL 1.0 notice owed wherever Neurosynth-derived data are used (README, "Data and licences").
NEUROSYNTH_ATTRIBUTION = (
    "Contains information from Neurosynth (https://neurosynth.org; Yarkoni et al. 2011, Nature "
    "Methods 8:665-670), made available under the Open Database License (ODbL 1.0): "
    "https://opendatacommons.org/licenses/odbl/1-0/"
)


def neurosynth_attribution(studies: Iterable[Study]) -> str | None:
    """The ODbL notice when any study's provenance names Neurosynth, else None."""
    for study in studies:
        if any("neurosynth" in str(source).lower() for source in study.provenance.values()):
            return NEUROSYNTH_ATTRIBUTION
    return None


# --- the analysis --------------------------------------------------------------------------


@dataclass
class Outcome:
    """A fitted, corrected analysis and its clusters, ready to be recorded and written."""

    estimator: CBMAEstimator
    result: CBMAResult
    estimator_settings: dict[str, Any]
    fwe: dict[str, Any] | None
    clusters: pd.DataFrame
    selection: dict[str, Any]
    cluster_ids: NDArray[np.int16]
    #: ALE with imputed sample sizes: the same analysis at the corpus' smallest and largest
    #: reported N (``imputation_sensitivity.tsv``); None when nothing was imputed.
    sensitivity: pd.DataFrame | None = None
    #: Per-cluster diagnostics (file name -> table), when asked for.
    diagnostics: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: What the convention sensitivity check found (pipeline.sensitivity), when run.
    convention_sensitivity: dict[str, Any] | None = None


def perform(
    coordinates: CoordinateSet,
    settings: Settings,
    timer: Timer,
    progress: Reporter | None = None,
) -> Outcome:
    """Fit, correct (Monte Carlo FWE when asked, then FDR) and find the clusters."""
    from neuroreview.cbma.inference import correct_fdr
    from neuroreview.cbma.montecarlo import kernels_cached

    progress = progress or SilentReporter()
    settings.check_sample_sizes(coordinates.missing_sample_sizes())
    estimator = settings.estimator()
    if kernels_cached() is False:
        progress.message(
            "compiling the meta-analysis kernels: the first analysis after installing takes "
            "about 20 s longer, later ones load them from numba's cache"
        )
    with timer.step("fit"), progress.status(f"fitting {settings.method.upper()}"):
        result = estimator.fit(coordinates)
    estimator_settings = jsonable(dict(result.settings))
    fwe = None
    if settings.fwe:
        with timer.step("fwe_montecarlo"):
            result, fwe = correct_fwe(result, settings, progress)
    with timer.step("fdr"):
        result = correct_fdr(result, alpha=settings.alpha)
    with timer.step("clusters"):
        clusters, selection, cluster_ids = find_clusters(result, settings)
    outcome = Outcome(estimator, result, estimator_settings, fwe, clusters, selection, cluster_ids)
    if settings.diagnostics:
        from neuroreview.pipeline.diagnostics import diagnose

        with timer.step("diagnostics"), progress.status("per-cluster diagnostics"):
            outcome.diagnostics = diagnose(outcome, settings)
    return outcome


def impute_and_perform(
    coordinates: CoordinateSet,
    settings: Settings,
    rule: str | float | None,
    timer: Timer,
    progress: Reporter | None = None,
) -> tuple[Outcome, Imputation | None]:
    """ALE with the missing sample sizes imputed by ``rule`` (None: none imputed), and, when any
    was, the same analysis at the smallest and largest reported N to show what it decided."""
    from neuroreview.cbma.imputation import impute_sample_sizes
    from neuroreview.cbma.registry import method

    sized = method(settings.method).uses_sample_size
    if rule is None or not sized or settings.fwhm or settings.sample_size:
        return perform(coordinates, settings, timer, progress), None
    try:
        imputed, imputation = impute_sample_sizes(coordinates, rule)
    except ValueError as error:
        raise NeuroreviewError(f"--impute-sample-size: {error}") from None
    outcome = perform(imputed, settings, timer, progress)
    if imputation.experiments:
        with timer.step("imputation_sensitivity"):
            outcome.sensitivity = imputation_sensitivity(
                coordinates, imputation, outcome, settings, progress
            )
    return outcome, imputation


def imputation_sensitivity(
    coordinates: CoordinateSet,
    imputation: Imputation,
    outcome: Outcome,
    settings: Settings,
    progress: Reporter | None,
) -> pd.DataFrame:
    """One row per imputed value tried: its surviving clusters against the imputed analysis's."""
    import pandas as pd

    from neuroreview.cbma.imputation import compare_clusters, with_missing_sizes

    rows = []
    for scenario, value in imputation.scenarios():
        if scenario == "imputed":
            alternative = outcome
        else:
            # The same foci as the analysis just run: its warning of foci off the mask was
            # shown once and is not repeated for each imputed N.
            with _quiet("neuroreview.cbma.ma"):
                # Only the clusters are compared: no diagnostics for the alternatives.
                plain = dataclasses.replace(settings, diagnostics=())
                alternative = perform(
                    with_missing_sizes(coordinates, value), plain, Timer(), progress
                )
        peaks = alternative.clusters[~alternative.clusters["subpeak"]]
        rows.append(
            {
                "scenario": scenario,
                "imputed_n": value,
                "n_experiments_imputed": len(imputation.experiments),
                **compare_clusters(outcome.cluster_ids, alternative.cluster_ids),
                "peaks_mni": "; ".join(
                    f"{x:g} {y:g} {z:g}" for x, y, z in peaks[["x", "y", "z"]].to_numpy()
                ),
            }
        )
    return pd.DataFrame(rows)


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    import logging

    logger = logging.getLogger(logger_name)
    before = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = before


def _sensitivity_sentence(outcome: Outcome) -> str:
    table = outcome.sensitivity
    if table is None:
        return ""
    others = table[table["scenario"] != "imputed"]
    if others.empty:
        return ""
    held = bool(others["same_clusters"].all())
    tried = " and ".join(f"N = {n:g}" for n in others["imputed_n"])
    return (
        f" Repeated with {tried} (the smallest and largest reported sample sizes), the surviving "
        + ("clusters were the same." if held else "clusters changed (imputation_sensitivity.tsv).")
    )


def _sensitivity_methods(outcome: Outcome) -> tuple[str, ...]:
    if outcome.convention_sensitivity is None:
        return ()
    from neuroreview.pipeline.sensitivity import describe

    return (describe(outcome.convention_sensitivity),)


def analysis_record(
    outcome: Outcome,
    settings: Settings,
    coordinates: CoordinateSet,
    studies: list[Study],
    inputs: dict[str, Any],
    imputation: Imputation | None = None,
) -> dict[str, Any]:
    """What ``analysis.json`` holds (the timings are added when it is written)."""
    if imputation is not None:
        from neuroreview.cbma.imputation import with_missing_sizes

        coordinates = with_missing_sizes(coordinates, imputation.value)
    record = {
        "neuroreview_version": __version__,
        "inputs": inputs,
        "n_studies": sum(1 for s in studies if s.analyses),
        "n_experiments": coordinates.n_experiments,
        "n_foci": coordinates.n_foci,
        "experiments": experiments(coordinates, imputation.experiments if imputation else ()),
        "method": settings.method,
        "convention": settings.resolved_convention().record(),
        "estimator": outcome.estimator_settings,
        "null_mask": settings.null_mask,
        "n_null_voxels": int(len(outcome.estimator.space.null_ijk())),
        "fwe": outcome.fwe,
        "fdr": {"alpha": settings.alpha},
        "clusters": {
            **outcome.selection,
            "file": CLUSTERS,
            "image": CLUSTER_IMAGE,
            "n_clusters": n_clusters(outcome.clusters),
        },
        "maps": [map_file(name) for name in sorted(outcome.result.maps)],
        "versions": versions(),
        "methods": " ".join(
            (
                *outcome.result.descriptions,
                settings.resolved_convention().describe(ale=settings.method == "ale"),
                *_sensitivity_methods(outcome),
            )
        ),
    }
    if outcome.convention_sensitivity is not None:
        record["convention_sensitivity"] = outcome.convention_sensitivity
    if outcome.diagnostics:
        from neuroreview.pipeline.diagnostics import diagnostics_record

        record["diagnostics"] = diagnostics_record(settings, outcome.diagnostics)
    if imputation is not None:
        record["sample_size_imputation"] = imputation.to_dict() | {
            "sensitivity_file": SENSITIVITY if outcome.sensitivity is not None else None,
            "sensitivity": (
                outcome.sensitivity.to_dict(orient="records")
                if outcome.sensitivity is not None
                else []
            ),
        }
        record["methods"] += " " + imputation.sentence() + _sensitivity_sentence(outcome)
    attribution = neurosynth_attribution(studies)
    if attribution:
        record["attribution"] = attribution
    return record


def correct_fwe(
    result: CBMAResult, settings: Settings, progress: Reporter | None = None
) -> tuple[CBMAResult, dict[str, Any]]:
    """Monte Carlo FWE, reported per iteration; returns what analysis.json records."""
    from neuroreview.cbma.inference import correct_fwe_montecarlo

    progress = progress or SilentReporter()
    label = f"{settings.method.upper()} Monte Carlo"
    with progress.task(label, settings.iterations) as advance:
        corrected = correct_fwe_montecarlo(
            result,
            voxel_thresh=settings.voxel_thresh,
            n_iters=settings.iterations,
            seed=settings.seed,
            n_jobs=settings.jobs,
            progress=advance,
            early_stop=settings.early_stop,
            executor=compute.executor(settings.jobs),
        )
    applied = corrected.settings
    record = {
        "voxel_thresh": settings.voxel_thresh,
        "cluster_forming_stat": applied["cluster_forming_threshold"],
        "n_iters_requested": settings.iterations,
        "n_iters_run": applied["n_iters_run"],
        "stopped_early": applied["stopped_early"],
        "early_stop": jsonable(applied["early_stop"]),
        "seed": settings.seed,
        "n_jobs": settings.jobs,
    } | compute.cluster_record()
    return corrected, record


def find_clusters(
    result: CBMAResult, settings: Settings
) -> tuple[pd.DataFrame, dict[str, Any], NDArray[np.int16]]:
    """The clusters table, what it lists (for analysis.json), and its clusters' voxels."""
    from neuroreview.cbma.clusters import (
        CLUSTER_FWE_MAP,
        cluster_id_volume,
        clusters_above_percentile,
        clusters_at_voxel_threshold,
        clusters_for_correction,
        median_centres,
        suprathreshold_voxels,
        surviving_voxels,
    )
    from neuroreview.cbma.conventions import ClusterCentre, ClusterCutoff
    from neuroreview.cbma.inference import NULL_KEYS
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
        convention = settings.resolved_convention()
        if convention.cluster_cutoff is ClusterCutoff.PERCENTILE:
            selection["selection"] = (
                f"clusters larger than the {100 * (1 - settings.alpha):g}th percentile of the "
                f"null's largest clusters (pyALE's rule; p_corrected is still the share of null "
                f"datasets with a cluster at least as large), {threshold}"
            )
            table, included = clusters_above_percentile(
                result,
                result.null_distributions[NULL_KEYS["max_cluster_size"]],
                settings.alpha,
                settings.voxel_thresh,
                labeler=labeler,
            )
        else:
            table = clusters_for_correction(
                result, CLUSTER_FWE_MAP, settings.alpha, labeler=labeler
            )
            included = surviving_voxels(result, CLUSTER_FWE_MAP, settings.alpha)
        ids = cluster_id_volume(table, included, result.space.grid)
        if convention.cluster_centre is ClusterCentre.MEDIAN:
            centres = median_centres(table, ids, result.space.grid)
            for axis, name in enumerate(("centre_x", "centre_y", "centre_z")):
                table.insert(
                    table.columns.get_loc("peak_stat"),
                    name,
                    [None if math.isnan(v) else int(v) for v in centres[:, axis]],
                )
        return table, selection, ids
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


def experiments(coordinates: CoordinateSet, imputed: Iterable[str] = ()) -> list[dict[str, Any]]:
    counts = coordinates.experiment_starts[1:] - coordinates.experiment_starts[:-1]
    imputed = set(imputed)
    return [
        {
            "id": experiment,
            "n_foci": int(n),
            "sample_size": None if math.isnan(size) else float(size),
            **({"sample_size_imputed": True} if experiment in imputed else {}),
        }
        for experiment, n, size in zip(
            coordinates.experiment_ids, counts, coordinates.sample_sizes, strict=True
        )
    ]


def n_clusters(clusters: pd.DataFrame) -> int:
    return int((~clusters["subpeak"]).sum())


def versions() -> dict[str, str]:
    return package_versions(RECORDED_PACKAGES)


def jsonable(value: Any) -> Any:
    """Settings as plain JSON values (numpy scalars and arrays become numbers and lists)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value
