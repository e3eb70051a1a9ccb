"""One meta-analysis as a stage of a run: ALE or MKDA of a set of studies into a run folder.

The run's main analyses and each of the review's questions go through :func:`meta_analyse`, so
every analysis of a run is built, fitted, written and recorded the same way.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from neuroreview.io.layout import within

if TYPE_CHECKING:
    from neuroreview.io.run_files import RunFiles
    from neuroreview.model import Study
    from neuroreview.pipeline.meta_analysis import Outcome
    from neuroreview.pipeline.progress import Reporter

#: The meta-analyses a run performs, in order.
CBMA_METHODS = ("ale", "mkda")


def meta_analyse(
    method: str,
    studies: list[Study],
    settings,
    inputs: dict[str, Any],
    files: RunFiles,
    parent: str,
    folder: str,
    progress: Reporter,
    outcomes: dict[str, Outcome] | None = None,
) -> dict[str, Any]:
    """ALE or MKDA of ``studies`` into ``parent/folder``: what summary.json records of it.

    Experiments are a subject group's analyses of one direction (Turkeltaub et al., 2012). ALE
    sizes each kernel from the sample size: a missing one gets the median of the reported ones,
    marked, and the analysis is repeated at the smallest and largest reported N.
    """
    from neuroreview.cbma import registry
    from neuroreview.cbma.experiments import build_experiments
    from neuroreview.cbma.imputation import MEDIAN
    from neuroreview.pipeline import sensitivity
    from neuroreview.pipeline.analysis_folder import write_folder
    from neuroreview.pipeline.meta_analysis import analysis_record, impute_and_perform
    from neuroreview.pipeline.settings import Timer

    timer = Timer()
    start = time.perf_counter()
    coordinates, pooling = build_experiments(studies, convention=settings.resolved_convention())
    sized = registry.method(method).uses_sample_size
    if sized and len(coordinates.missing_sample_sizes()) == coordinates.n_experiments:
        return {
            "status": "skipped",
            "reason": f"none of the {coordinates.n_experiments} experiments reports a sample "
            "size, which ALE needs to size its kernels (and to impute a missing one from)",
        }
    outcome: Outcome
    outcome, imputation = impute_and_perform(
        coordinates, settings, MEDIAN if sized else None, timer, progress
    )
    if sensitivity.applies(settings):
        with timer.step("convention_sensitivity"):
            outcome.convention_sensitivity = sensitivity.convention_sensitivity(
                outcome,
                settings,
                lambda chosen: build_experiments(studies, convention=chosen)[0],
                progress,
            )
    inputs = inputs | {"study_ids": [s.id for s in studies], "experiments": pooling.to_dict()}
    analysis = analysis_record(outcome, settings, coordinates, studies, inputs, imputation)
    files.path(within(parent, folder)).mkdir(parents=True)
    write_folder(files, within(parent, folder), outcome, analysis, timer)
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
        "convention": settings.resolved_convention().name,
        "convention_sensitivity": [
            {k: c[k] for k in ("cluster_id", "survives_conventions", "survives_jitters")}
            for c in (outcome.convention_sensitivity or {}).get("clusters", [])
        ],
        "alpha": settings.alpha,
        "voxel_thresh": settings.voxel_thresh,
        "seconds": round(time.perf_counter() - start, 3),
        "timings_s": timer.seconds,
    }
