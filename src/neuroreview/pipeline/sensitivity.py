"""Convention sensitivity of every surviving ALE cluster (``analyze --sensitivity``, ``run``):
the analysis rerun under each tool's conventions and under seeded jitter of every focus, and how
often each cluster survived ("3/3 conventions, 17/20 jitters"), in ``clusters.tsv``,
``analysis.json`` and the report. See :mod:`neuroreview.cbma.sensitivity` for the rules."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from neuroreview.cbma.conventions import CONVENTIONS, ClusterCutoff, Convention
from neuroreview.cbma.inputs import CoordinateSet

if TYPE_CHECKING:
    from neuroreview.pipeline.meta_analysis import Outcome
    from neuroreview.pipeline.progress import Reporter
    from neuroreview.pipeline.settings import Settings

#: The stream jitter draws come from, apart from the Monte Carlo's (spawn keys of one element).
JITTER_STREAM = 7
COLUMNS = ("survives_conventions", "survives_jitters")


def applies(settings: Settings) -> bool:
    """Only ALE with cluster-level FWE has surviving clusters to test, and tools to compare."""
    return (
        settings.method == "ale" and settings.fwe and settings.jitters >= 0 and settings.sensitivity
    )


def convention_sensitivity(
    outcome: Outcome,
    settings: Settings,
    rebuild: Callable[[Convention], CoordinateSet],
    progress: Reporter | None = None,
) -> dict[str, Any]:
    """Rerun under every convention and ``settings.jitters`` jitters; add the survival counts
    to ``outcome.clusters`` (main rows; blank on sub-peaks) and return what analysis.json
    records. ``rebuild`` makes the experiments again under a convention (its Talairach rule)."""
    start = time.perf_counter()
    table = outcome.clusters
    main = ~table["subpeak"].to_numpy(dtype=bool)
    grid = outcome.result.space.grid
    peaks = grid.world_to_voxel(table.loc[main, ["x", "y", "z"]].to_numpy(dtype=float)).reshape(
        -1, 3
    )
    chosen = settings.resolved_convention()

    with _quiet("neuroreview.cbma.ma"):  # off-mask foci were reported by the analysis itself
        by_convention, held = _reruns(outcome, settings, rebuild, progress, peaks, chosen)
    n_conventions = len(by_convention)
    kept = [sum(by_convention[name][c] for name in by_convention) for c in range(len(peaks))]
    conventions_text = [f"{k}/{n_conventions}" for k in kept]
    jitters_text = [f"{h}/{settings.jitters}" for h in held]
    for column, values in zip(COLUMNS, (conventions_text, jitters_text), strict=True):
        filled = np.full(len(table), "", dtype=object)
        filled[main] = values
        table[column] = filled
    clusters = [
        {
            "cluster_id": str(cluster_id),
            "survives_conventions": conventions_text[c],
            "conventions": [name for name in by_convention if by_convention[name][c]],
            "survives_jitters": jitters_text[c],
        }
        for c, cluster_id in enumerate(table.loc[main, "cluster_id"])
    ]
    return {
        "conventions": list(by_convention),
        "analysis_convention": chosen.name,
        "jitters": settings.jitters,
        "jitter_mm": settings.jitter_mm,
        "seed": _seed(settings),
        "rule": "a cluster survives a rerun when a surviving cluster of the rerun covers its "
        "peak voxel; conventions rerun fit and Monte Carlo, jitters the ALE of the moved foci "
        "judged at the analysis's cluster-forming value against its Monte Carlo null of "
        "cluster sizes",
        "clusters": clusters,
        "seconds": round(time.perf_counter() - start, 3),
    }


def _reruns(
    outcome: Outcome,
    settings: Settings,
    rebuild: Callable[[Convention], CoordinateSet],
    progress: Reporter | None,
    peaks: NDArray[np.intp],
    chosen: Convention,
) -> tuple[dict[str, list[bool]], NDArray[np.int_]]:
    """(per convention, whether each peak survived; per peak, how many jitters it survived).

    Reruns under another convention keep the analysed sample sizes (any imputed ones too)."""
    from neuroreview.cbma.inference import NULL_KEYS
    from neuroreview.cbma.sensitivity import jittered, survives, surviving_by_size
    from neuroreview.pipeline.meta_analysis import perform
    from neuroreview.pipeline.settings import Timer

    fitted = outcome.estimator.fitted_coordinates
    sizes = dict(zip(fitted.experiment_ids, fitted.sample_sizes, strict=True))
    by_convention: dict[str, list[bool]] = {}
    held = np.zeros(len(peaks), dtype=int)
    if len(peaks) == 0:  # nothing survived: nothing to test
        return {name: [] for name in CONVENTIONS}, held
    for name, preset in CONVENTIONS.items():
        if preset == chosen:
            by_convention[name] = [True] * len(peaks)
            continue
        coordinates = rebuild(preset)
        coordinates = dataclasses.replace(
            coordinates,
            sample_sizes=np.array([sizes.get(e, np.nan) for e in coordinates.experiment_ids]),
        )
        alternative_settings = dataclasses.replace(
            settings, convention=name, convention_choices={}, subvoxel=False, diagnostics=()
        )
        alternative = perform(coordinates, alternative_settings, Timer(), progress)
        by_convention[name] = survives(peaks, alternative.cluster_ids > 0).tolist()

    null_sizes = outcome.result.null_distributions[NULL_KEYS["max_cluster_size"]]
    threshold = float(outcome.fwe["cluster_forming_stat"]) if outcome.fwe else np.inf
    space = outcome.result.space
    for draw in range(settings.jitters):
        moved = jittered(fitted, settings.jitter_mm, _seed(settings), draw)
        stat = np.zeros(space.grid.shape)
        stat[space.mask] = outcome.estimator.statistic_of(moved)
        surviving = surviving_by_size(
            stat,
            threshold,
            space.mask,
            null_sizes,
            settings.alpha,
            percentile=chosen.cluster_cutoff is ClusterCutoff.PERCENTILE,
        )
        held += survives(peaks, surviving)

    return by_convention, held


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _seed(settings: Settings) -> int:
    return int(
        np.random.SeedSequence(settings.seed or 0, spawn_key=(JITTER_STREAM,)).generate_state(1)[0]
    )


def describe(record: dict[str, Any]) -> str:
    """The methods-text sentence."""
    tools = ", ".join(record["conventions"])
    return (
        f"Convention sensitivity: every surviving cluster was tested by rerunning the analysis "
        f"under each tool's conventions ({tools}; fit and Monte Carlo) and under "
        f"{record['jitters']} seeded jitters of every focus (uniform within "
        f"+-{record['jitter_mm']:g} mm per axis; the ALE of the moved foci judged against the "
        "analysis's Monte Carlo null of cluster sizes); a cluster counted as surviving a rerun "
        "when a surviving cluster covered its peak voxel (clusters.tsv: survives_conventions, "
        "survives_jitters)."
    )
