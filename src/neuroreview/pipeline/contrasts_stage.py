"""The review's contrasts, as a stage of a run (``contrasts/``).

Increases vs decreases and depressed patients vs healthy volunteers
(:mod:`neuroreview.synthesis.contrasts`): a contrast whose two groups both reach the minimum is
run as an ALE subtraction (label permutation, the run's iterations and seed) into
``contrasts/<key>/``; every contrast, run or not, is a row of ``contrasts/contrasts.tsv`` with
both groups' experiment counts, so the report can say what the corpus could and could not test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from neuroreview.io.layout import CONTRASTS_FOLDER, CONTRASTS_TABLE, within

if TYPE_CHECKING:
    from neuroreview.io.run_files import RunFiles
    from neuroreview.pipeline.config import ReviewConfig
    from neuroreview.pipeline.progress import Reporter
    from neuroreview.synthesis.selection import Selection

#: The columns of contrasts.tsv (the report reads them).
CONTRAST_COLUMNS = (
    "contrast",
    "title",
    "group_a",
    "k_a",
    "group_b",
    "k_b",
    "minimum",
    "status",
    "clusters",
    "folder",
)


def contrasts_step(
    selection: Selection,
    config: ReviewConfig,
    minimum: int,
    files: RunFiles,
    progress: Reporter,
) -> dict[str, Any]:
    """Each review contrast: run where both groups are large enough, else "too few"."""
    import pandas as pd

    from neuroreview.cbma.experiments import build_experiments
    from neuroreview.cbma.imputation import impute_sample_sizes
    from neuroreview.pipeline.compare import (
        Group,
        comparison_record,
        subtraction,
        write_comparison,
    )
    from neuroreview.pipeline.settings import Timer
    from neuroreview.synthesis.contrasts import REVIEW_CONTRASTS, split

    files.path(CONTRASTS_FOLDER).mkdir(exist_ok=True)
    rows, entries = [], []
    for contrast in REVIEW_CONTRASTS:
        part = split(contrast, selection.coordinate, minimum)
        entry = part.to_dict()
        n_clusters, folder, status = "", "", part.status
        if part.enough and not _any_sample_size(part.studies):
            status = "skipped (no experiment reports a sample size, which ALE needs)"
        elif part.enough:
            progress.stage(f"contrast: {contrast.title.lower()}")
            built = [build_experiments(studies) for studies in part.studies]
            median = _pooled_median([coordinates for coordinates, _ in built])
            groups = []
            for side, studies, (coordinates, pooling) in zip(
                (contrast.first, contrast.second), part.studies, built, strict=True
            ):
                imputed = list(coordinates.missing_sample_sizes())
                if imputed:
                    coordinates, _ = impute_sample_sizes(coordinates, median)
                record = {
                    "name": side.name,
                    "n_experiments": coordinates.n_experiments,
                    "experiment_ids": list(coordinates.experiment_ids),
                    "study_ids": [s.id for s in studies],
                    "experiments": pooling.to_dict(),
                    "sample_size_imputed": {"value": median, "experiments": imputed}
                    if imputed
                    else None,
                }
                groups.append(Group(side.name, coordinates, record))
            timer = Timer()
            comparison = subtraction(
                groups[0],
                groups[1],
                n_iters=config.iterations,
                seed=config.seed,
                n_jobs=config.jobs,
                voxel_thresh=0.001,
                timer=timer,
            )
            record = comparison_record(
                "subtraction", (groups[0], groups[1]), comparison, config.iterations, config.seed
            )
            folder = within(CONTRASTS_FOLDER, contrast.key)
            write_comparison(files, folder, comparison, record, timer)
            n_clusters = record["n_clusters"]
            entry["n_clusters"] = n_clusters
        entry["folder"] = folder or None
        entry["status"] = status
        entries.append(entry)
        rows.append(
            {
                "contrast": contrast.key,
                "title": contrast.title,
                "group_a": contrast.first.name,
                "k_a": entry["k"][0],
                "group_b": contrast.second.name,
                "k_b": entry["k"][1],
                "minimum": minimum,
                "status": status,
                "clusters": n_clusters,
                "folder": folder,
            }
        )
    table = pd.DataFrame(rows, columns=list(CONTRAST_COLUMNS))
    files.write_text(within(CONTRASTS_FOLDER, CONTRASTS_TABLE), table.to_csv(sep="\t", index=False))
    return {"folder": CONTRASTS_FOLDER, "contrasts": entries}


def _any_sample_size(sides) -> bool:
    return any(
        s.n_subjects or any(a.n_subjects for a in s.analyses) for side in sides for s in side
    )


def _pooled_median(sets) -> float:
    """The median sample size reported across both groups: what a missing one is given, as
    the run's ALE gives it (marked in compare.json)."""
    import numpy as np

    sizes = np.concatenate([c.sample_sizes for c in sets])
    known = sizes[~np.isnan(sizes)]
    return float(np.median(known)) if known.size else float("nan")
