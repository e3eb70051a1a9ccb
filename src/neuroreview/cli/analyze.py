"""``neuroreview analyze``: one coordinate-based meta-analysis, from files or the store, to a folder.

The folder holds what a methods section and a results table need: every map under NiMARE's
name, the surviving clusters, and ``analysis.json`` recording inputs (with file hashes), every
setting, the seed, versions and timings, so the analysis can be rerun and checked. It is
written into a hidden sibling folder and renamed into place only when complete: a failure or
Ctrl-C never leaves a half-written folder where the results are expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from neuroreview.cli.analyze_summary import print_analysis
from neuroreview.cli.common import (
    DbOption,
    JobsOption,
    SchedulerOption,
    WorkersOption,
    friendly_errors,
)
from neuroreview.cli.options import (
    ImportFormat,
    InputFilesArgument,
    ModalityOption,
    PopulationOption,
    YearFromOption,
    YearOption,
    YearToOption,
)
from neuroreview.cli.reporting import RichReporter
from neuroreview.pipeline.analysis import AnalysisRequest, run_analysis
from neuroreview.pipeline.config import DEFAULT_JOBS
from neuroreview.pipeline.settings import Settings
from neuroreview.store import DEFAULT_DATABASE

DEFAULT_OUT = Path("neuroreview-analysis")


@friendly_errors
def analyze(
    inputs: InputFilesArgument = None,
    method: Annotated[
        str, typer.Option(metavar="ale|mkda|kda", help="ALE, MKDA density or KDA.")
    ] = "ale",
    iterations: Annotated[
        int, typer.Option(help="Monte Carlo iterations for the FWE corrections.")
    ] = 10_000,
    seed: Annotated[
        int | None,
        typer.Option(
            min=0, help="Random seed; a fresh one is drawn (and recorded) when not given."
        ),
    ] = None,
    jobs: JobsOption = DEFAULT_JOBS,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Output folder (new, or an earlier analysis with --force): every map as NIfTI "
            "under NiMARE's names (stat, p, z, logp and the FWE and FDR maps), clusters.tsv, "
            "clusters.nii.gz and analysis.json.",
        ),
    ] = DEFAULT_OUT,
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
    impute_sample_size: Annotated[
        str | None,
        typer.Option(
            metavar="median|N",
            help="ALE: give experiments without a sample size the median of the reported ones, "
            "or N; marked in analysis.json and tested against the smallest and largest reported "
            "N (imputation_sensitivity.tsv).",
        ),
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
    convention: Annotated[
        str,
        typer.Option(
            metavar="nimare|pyale|gingerale",
            help="ALE: whose conventions to follow (Talairach conversion, placement on the grid, "
            "kernel truncation); the choices below override single ones.",
        ),
    ] = "nimare",
    placement: Annotated[
        str | None,
        typer.Option(
            metavar="round|ceil|exact",
            help="ALE: centre kernels on the nearest voxel (NiMARE), pyALE's rounded-up voxel, "
            "or the exact coordinate (GingerALE; = --subvoxel).",
        ),
    ] = None,
    ale_kernel: Annotated[
        str | None,
        typer.Option(
            metavar="nimare|pyale", help="ALE: Gaussian cut at 4 (NiMARE) or 3.5 sd (pyALE)."
        ),
    ] = None,
    histogram: Annotated[
        str | None,
        typer.Option(
            metavar="nimare|pyale",
            help="ALE: null histogram of 1e-5 bins (NiMARE) or pyALE's 1e-4 bins and arithmetic.",
        ),
    ] = None,
    null_clusters: Annotated[
        str | None,
        typer.Option(
            metavar="mask|unmasked",
            help="ALE: measure null maxima and clusters in the mask (NiMARE) or the whole grid (pyALE).",
        ),
    ] = None,
    cluster_cutoff: Annotated[
        str | None,
        typer.Option(
            metavar="p_value|percentile",
            help="ALE: clusters survive by their FWE p (NiMARE) or above the null's 95th "
            "percentile (pyALE).",
        ),
    ] = None,
    cluster_centre: Annotated[
        str | None,
        typer.Option(
            metavar="none|median",
            help="ALE: add each cluster's median voxel position (pyALE's Center) to clusters.tsv.",
        ),
    ] = None,
    talairach: Annotated[
        str | None,
        typer.Option(
            metavar="lancaster_pooled|lancaster_spm|lancaster_fsl|brett",
            help="Transform for Talairach foci (NiMARE: lancaster_pooled; pyALE: lancaster_spm).",
        ),
    ] = None,
    talairach_round_mm: Annotated[
        bool | None,
        typer.Option(
            "--talairach-round-mm/--no-talairach-round-mm",
            help="Round converted Talairach foci to whole mm (pyALE does).",
        ),
    ] = None,
    sensitivity: Annotated[
        bool,
        typer.Option(
            "--sensitivity/--no-sensitivity",
            help="ALE with FWE: rerun under every tool's conventions and under --jitters "
            "jittered foci; clusters.tsv says how often each cluster survived.",
        ),
    ] = False,
    jitters: Annotated[int, typer.Option(help="Jittered reruns of --sensitivity.")] = 20,
    jitter_mm: Annotated[
        float, typer.Option(help="--sensitivity moves each focus within +-MM per axis.")
    ] = 1.0,
    mask: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Analysis and null mask: a NIfTI image on the MNI152 2 mm grid (e.g. pyALE's "
            "or GingerALE's); voxels above --mask-threshold.",
        ),
    ] = None,
    mask_threshold: Annotated[
        float, typer.Option(help="Voxels of --mask above this value are in the mask.")
    ] = 0.0,
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
    ] = ImportFormat.AUTO,
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
    experiment_unit: Annotated[
        str,
        typer.Option(
            metavar="group|analysis",
            help="One experiment per subject group and direction (pooling its analyses, "
            "repeated peaks counted once; Turkeltaub 2012) or per analysis (NiMARE, GingerALE).",
        ),
    ] = "group",
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind",
            metavar="drug_effect|group_difference|correlation|baseline_predictor|other",
            help="Kinds of analysis to meta-analyse; repeat for several (default: drug_effect).",
        ),
    ] = None,
    diagnostics: Annotated[
        str | None,
        typer.Option(
            metavar="jackknife,focus-counter,contribution,failsafe",
            help="Per-cluster diagnostics, comma-separated: NiMARE's jackknife and focus "
            "counter, each experiment's contribution, ALE's fail-safe N (Acar et al. 2018); "
            "each a TSV beside clusters.tsv.",
        ),
    ] = None,
    keep_outside_mask: Annotated[
        bool,
        typer.Option(
            "--keep-outside-mask",
            help="Keep foci the coordinate check flags (outside the brain beyond kernel reach, "
            "or in a misparsed table), as NiMARE does; by default the analysis refuses them.",
        ),
    ] = False,
) -> None:
    """Meta-analyse coordinates (ALE, MKDA or KDA) with Monte Carlo FWE; write maps and clusters."""
    settings = Settings(
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
        convention=convention.lower(),
        convention_choices={
            "placement": placement,
            "kernel": ale_kernel,
            "histogram": histogram,
            "null_clusters": null_clusters,
            "cluster_cutoff": cluster_cutoff,
            "cluster_centre": cluster_centre,
            "talairach": talairach,
            "talairach_round_mm": talairach_round_mm,
        },
        sensitivity=sensitivity,
        jitters=jitters,
        jitter_mm=jitter_mm,
        mask=None if mask is None else str(mask),
        mask_threshold=mask_threshold,
    )
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
    request = AnalysisRequest(
        settings=settings,
        out=out,
        force=force,
        inputs=list(inputs or []),
        fmt=fmt.value,
        db=db,
        filters=filters,
        kinds=kind,
        keep_outside_mask=keep_outside_mask,
        experiment_unit=experiment_unit,
        impute_sample_size=impute_sample_size,
        diagnostics=diagnostics,
        scheduler=scheduler,
        workers=workers,
    )
    record, outcome = run_analysis(request, RichReporter())
    print_analysis(record, outcome.clusters, out)
