"""Two groups of experiments compared, as ``neuroreview compare`` takes them.

Each group is files or a selection of the store (population, modality, direction, years,
studies). The domain rules live here: both groups pass the same kind filter and coordinate check
as ``analyze``; an experiment may not sit in both groups (a permutation test needs exchangeable,
separate experiments); the methods are ALE subtraction (label permutation), the conjunction of
two cluster-level FWE-corrected ALE maps, and MKDA chi-square (consistency and specificity).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuroreview.errors import NeuroreviewError
from neuroreview.pipeline import compute
from neuroreview.pipeline.analysis import checked, flag_record, of_kinds, read_files, read_store

if TYPE_CHECKING:
    import pandas as pd

    from neuroreview.cbma.inputs import CoordinateSet
    from neuroreview.cbma.results import CBMAResult
    from neuroreview.pipeline.progress import Reporter
    from neuroreview.pipeline.settings import Timer

COMPARE_METHODS = ("subtraction", "conjunction", "chi2")

#: The record ``compare`` writes beside its maps.
COMPARE_RECORD = "compare.json"

#: Store filters a group can be selected by, as `analyze` names them.
GROUP_FILTERS = (
    "--population",
    "--modality",
    "--direction",
    "--space",
    "--year",
    "--year-from",
    "--year-to",
    "--study",
)


@dataclass
class GroupRequest:
    """One side of a comparison: its name, its files or its store filters."""

    name: str
    files: list[Path] = field(default_factory=list)
    filters: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        if self.files:
            return ", ".join(str(p) for p in self.files)
        chosen = [f"{k.lstrip('-')} {v}" for k, v in self.filters.items() if v is not None]
        return "store: " + (", ".join(chosen) if chosen else "every study")


@dataclass
class CompareRequest:
    method: str
    groups: tuple[GroupRequest, GroupRequest]
    out: Path
    force: bool = False
    iterations: int = 10_000
    seed: int | None = None
    jobs: int = 1
    db: str | None = None
    fmt: str = "auto"
    kinds: list[str] | None = None
    keep_outside_mask: bool = False
    experiment_unit: str = "group"
    voxel_thresh: float = 0.001
    alpha: float = 0.05
    fwhm: float | None = None
    sample_size: float | None = None
    #: Subtraction: judge ties in float32 as NiMARE 0.22.1 does (see :func:`subtraction`).
    nimare_ties: bool = False
    #: A Dask scheduler's address, or a local Dask cluster's worker count (pipeline.compute).
    scheduler: str | None = None
    workers: int | None = None

    def check(self) -> None:
        if self.method not in COMPARE_METHODS:
            raise NeuroreviewError(
                f"unknown method {self.method!r}; choose {', '.join(COMPARE_METHODS)}"
            )
        if self.iterations < 1:
            raise NeuroreviewError(f"--iterations must be at least 1, got {self.iterations}")
        for name, value in (("--voxel-thresh", self.voxel_thresh), ("--alpha", self.alpha)):
            if not 0.0 < value < 1.0:
                raise NeuroreviewError(f"{name} must lie between 0 and 1, got {value:g}")
        a, b = self.groups
        if a.name == b.name:
            raise NeuroreviewError(f"both groups are named {a.name!r}; give them two names")
        if (self.fwhm is not None or self.sample_size is not None) and self.method == "chi2":
            raise NeuroreviewError("--fwhm and --sample-size are ALE options; chi2 uses spheres")
        if self.experiment_unit not in ("group", "analysis"):
            raise NeuroreviewError(
                f"--experiment-unit {self.experiment_unit!r}: choose group or analysis"
            )
        for group in self.groups:
            chosen = [name for name, value in group.filters.items() if value]
            if group.files and chosen:
                raise NeuroreviewError(
                    f"group {group.name!r} is given as a file and as a store selection "
                    f"({chosen[0].lstrip('-')}); give one or the other"
                )


@dataclass
class Group:
    name: str
    coordinates: CoordinateSet
    record: dict[str, Any]


def load_group(group: GroupRequest, request: CompareRequest) -> Group:
    """One group's experiments, checked like ``analyze``'s, with an account of where they came
    from."""
    from neuroreview.cbma.experiments import ExperimentUnit, build_experiments

    if group.files:
        loaded = read_files(group.files, request.fmt, {})
    else:
        if request.db is None:
            raise NeuroreviewError(f"group {group.name!r}: give files or a store (--db)")
        filters = {name: group.filters.get(name) for name in GROUP_FILTERS}
        loaded = read_store(request.db, filters)
    try:
        studies, left_out = of_kinds(loaded.studies, request.kinds)
    except NeuroreviewError as error:
        raise NeuroreviewError(f"group {group.name!r}: {error}") from None
    flags = checked(studies, request.keep_outside_mask)
    coordinates, pooling = build_experiments(studies, ExperimentUnit(request.experiment_unit))
    record = loaded.record | {
        "name": group.name,
        "selection": group.describe(),
        "n_experiments": coordinates.n_experiments,
        "n_foci": coordinates.n_foci,
        "experiment_ids": list(coordinates.experiment_ids),
        "experiments": pooling.to_dict(),
        "not_analysed": left_out,
        "coordinate_flags_kept": [flag_record(f) for f in flags],
    }
    return Group(group.name, coordinates, record)


def refuse_shared_experiments(first: Group, second: Group) -> None:
    """An experiment in both groups breaks the exchangeability the permutation relies on."""
    shared = sorted(set(first.coordinates.experiment_ids) & set(second.coordinates.experiment_ids))
    if shared:
        more = f" and {len(shared) - 1} more" if len(shared) > 1 else ""
        raise NeuroreviewError(
            f"experiment {shared[0]!r}{more} is in both group {first.name!r} and group "
            f"{second.name!r}; each experiment may belong to one group only"
        )


@dataclass
class Comparison:
    """The comparison's maps, its clusters, and what compare.json records."""

    result: CBMAResult
    clusters: pd.DataFrame
    record: dict[str, Any]
    z_map: str


def compare_groups(
    first: Group,
    second: Group,
    request: CompareRequest,
    timer: Timer,
    reporter: Reporter | None = None,
) -> Comparison:
    """Run the requested comparison on two loaded groups."""
    if request.method == "subtraction":
        return _subtraction(first, second, request, timer)
    if request.method == "conjunction":
        return _conjunction(first, second, request, timer, reporter)
    return _chi2(first, second, request, timer)


def _subtraction(first: Group, second: Group, request: CompareRequest, timer: Timer) -> Comparison:
    return subtraction(
        first,
        second,
        n_iters=request.iterations,
        seed=request.seed,
        n_jobs=request.jobs,
        voxel_thresh=request.voxel_thresh,
        fwhm=request.fwhm,
        sample_size=request.sample_size,
        nimare_ties=request.nimare_ties,
        timer=timer,
    )


def subtraction(
    first: Group,
    second: Group,
    *,
    n_iters: int,
    seed: int | None,
    n_jobs: int,
    voxel_thresh: float,
    fwhm: float | None = None,
    sample_size: float | None = None,
    nimare_ties: bool = False,
    timer: Timer | None = None,
) -> Comparison:
    """ALE subtraction of two groups and the clusters of its significant voxels.

    Ties between a permutation's difference and the observed one are judged in float64
    (``exact_ties``): NiMARE 0.22.1 compares its float64 null with a float32 observed map, so
    wherever a relabelling reproduces the observed grouping (half of all relabellings at a voxel
    only one experiment reaches) float32 rounding decides the count, and thousands of such
    voxels come out at p <= 0.001. ``nimare_ties`` reproduces NiMARE's numbers instead.
    """
    from neuroreview.cbma.subtraction import ALESubtraction
    from neuroreview.pipeline.settings import Timer

    timer = timer or Timer()
    estimator = ALESubtraction(
        n_iters=n_iters,
        seed=seed,
        n_jobs=n_jobs,
        fwhm=fwhm,
        sample_size=sample_size,
        exact_ties=not nimare_ties,
    )
    with timer.step("fit"):
        result = estimator.fit(
            first.coordinates,
            second.coordinates,
            names=(first.name, second.name),
            executor=compute.executor(n_jobs),
        )
    z_map = "z_desc-group1MinusGroup2"
    p_map = "p_desc-group1MinusGroup2"
    with timer.step("clusters"):
        clusters = signed_clusters(result, z_map, p_map, voxel_thresh, first, second)
    threshold = (
        f"voxels with uncorrected permutation p < {voxel_thresh:g}, clustered by face "
        "connectivity, split by the sign of the difference"
    )
    ties = "float32, as NiMARE 0.22.1" if nimare_ties else "float64 (exact)"
    return Comparison(result, clusters, {"threshold": threshold, "ties": ties}, z_map)


def signed_clusters(
    result: CBMAResult, z_map: str, p_map: str, voxel_thresh: float, first: Group, second: Group
) -> pd.DataFrame:
    """Clusters where the first group converges more, then where the second does."""
    import pandas as pd

    from neuroreview.cbma.clusters import cluster_table

    z = result.volume(z_map)
    significant = (result.volume(p_map) < voxel_thresh) & result.space.mask
    tables = []
    for sign, label in (
        (1.0, f"{first.name} > {second.name}"),
        (-1.0, f"{second.name} > {first.name}"),
    ):
        within = significant & (sign * z > 0)
        table = cluster_table(sign * z, within=within, grid=result.space.grid)
        table.insert(1, "direction", label)
        table["peak_stat"] = sign * table["peak_stat"]
        tables.append(table)
    merged = pd.concat(tables, ignore_index=True)
    # One numbering over both signs, in the order the clusters are listed.
    order = {
        key: n
        for n, key in enumerate(
            dict.fromkeys(zip(merged["direction"], merged["cluster_id"], strict=True)), 1
        )
    }
    merged["cluster_id"] = [
        order[key] for key in zip(merged["direction"], merged["cluster_id"], strict=True)
    ]
    return merged


def _conjunction(
    first: Group,
    second: Group,
    request: CompareRequest,
    timer: Timer,
    reporter: Reporter | None,
) -> Comparison:
    from neuroreview.cbma.clusters import cluster_table
    from neuroreview.cbma.conjunction import conjunction
    from neuroreview.pipeline.meta_analysis import perform
    from neuroreview.pipeline.settings import Settings

    results = []
    for group in (first, second):
        settings = Settings(
            method="ale",
            null_mask="brain",
            fwhm=request.fwhm,
            sample_size=request.sample_size,
            radius=None,
            voxel_exact=False,
            subvoxel=False,
            fwe=True,
            iterations=request.iterations,
            seed=request.seed,
            jobs=request.jobs,
            early_stop=None,
            voxel_thresh=request.voxel_thresh,
            alpha=request.alpha,
        )
        outcome = perform(group.coordinates, settings, timer, reporter)
        results.append(outcome.result)
    with timer.step("conjunction"):
        result = conjunction(results[0], results[1])
    z_map = next(name for name in result.maps if name.startswith("z"))
    clusters = cluster_table(result, z_map, threshold=0.0)
    return Comparison(result, clusters, {"threshold": "both groups' cluster-level FWE maps"}, z_map)


def _chi2(first: Group, second: Group, request: CompareRequest, timer: Timer) -> Comparison:
    """MKDA chi-square: where the first group's experiments report activation more often than
    the second's (the association test), voxel-level FWE by label permutation, and FDR."""
    from neuroreview.cbma.mkda import MKDAChi2

    estimator = MKDAChi2()
    with timer.step("fit"):
        result = estimator.fit(first.coordinates, second.coordinates)
    with timer.step("fwe_montecarlo"):
        result = estimator.correct_fwe_montecarlo(
            result,
            voxel_thresh=request.voxel_thresh,
            n_iters=request.iterations,
            seed=request.seed,
            n_jobs=request.jobs,
            executor=compute.executor(request.jobs),
        )
    with timer.step("fdr"):
        result = estimator.correct_fdr(result)
    z_map = "z_desc-association"
    p_map = "p_desc-association_level-voxel_corr-FWE_method-montecarlo"
    with timer.step("clusters"):
        clusters = signed_clusters(result, z_map, p_map, request.alpha, first, second)
    threshold = (
        f"voxels with voxel-level FWE p < {request.alpha:g} in the association test "
        "(label permutation)"
    )
    return Comparison(result, clusters, {"threshold": threshold}, z_map)


def run_compare(
    request: CompareRequest, reporter: Reporter | None = None
) -> tuple[dict[str, Any], Comparison]:
    """Load both groups, compare them, and write the folder ``request.out`` whole."""
    import secrets

    from neuroreview.pipeline.analysis_folder import publish, writable_target
    from neuroreview.pipeline.settings import Timer

    request.check()
    compute.check_options(request.scheduler, request.workers)
    if request.seed is None:
        request.seed = secrets.randbelow(2**31)
    target = writable_target(request.out, request.force, COMPARE_RECORD)
    timer = Timer()
    with timer.step("read"):
        first, second = (load_group(g, request) for g in request.groups)
        refuse_shared_experiments(first, second)
    with compute.computing(request.scheduler, request.workers):
        comparison = compare_groups(first, second, request, timer, reporter)
        record = comparison_record(
            request.method, (first, second), comparison, request.iterations, request.seed
        )

    def write(folder: Path) -> None:
        from neuroreview.io.run_files import RunFiles

        write_comparison(RunFiles(folder), "", comparison, record, timer)

    publish(target, request.force, write, COMPARE_RECORD)
    return record, comparison


def comparison_record(
    method: str,
    groups: tuple[Group, Group],
    comparison: Comparison,
    iterations: int,
    seed: int | None,
) -> dict[str, Any]:
    """What compare.json holds: both groups' experiments, settings, seed, methods text."""
    from neuroreview.pipeline.meta_analysis import jsonable, versions

    clusters = comparison.clusters
    return (
        {
            "method": method,
            "groups": [g.record for g in groups],
            "settings": jsonable(dict(comparison.result.settings)),
            "seed": seed,
            "iterations": iterations,
            "methods_text": " ".join(comparison.result.descriptions),
            "n_clusters": int((~clusters["subpeak"]).sum()) if len(clusters) else 0,
            "versions": versions(),
        }
        | comparison.record
        | compute.cluster_record()
    )


def write_comparison(
    files: Any, folder: str, comparison: Comparison, record: dict[str, Any], timer: Timer
) -> None:
    """Maps under NiMARE's names, clusters.tsv and compare.json into ``folder`` of a run's files."""
    import json

    from neuroreview.io.layout import CLUSTER_TABLE, map_file, within
    from neuroreview.io.maps import cluster_table_tsv

    with timer.step("write"):
        for name in sorted(comparison.result.maps):
            files.write_image(within(folder, map_file(name)), comparison.result.to_nifti(name))
        files.write_text(within(folder, CLUSTER_TABLE), cluster_table_tsv(comparison.clusters))
    text = json.dumps({**record, "timings_s": timer.seconds}, indent=2, allow_nan=False)
    files.write_text(within(folder, COMPARE_RECORD), text + "\n")
