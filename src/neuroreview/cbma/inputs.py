"""Foci grouped into experiments: the one input every CBMA estimator takes.

A plain bundle of arrays rather than our corpus models, so the statistical core can be fed from
a Sleuth file, a NiMARE JSON file, the store or a test's synthetic generator alike. One
experiment is one analysis (one contrast of one study), as in NiMARE and GingerALE, and its id is
``"<study id>-<analysis id>"``, the id NiMARE's Dataset gives it, so maps and logs line up.
Talairach foci are brought to MNI here, once, with the pooled Lancaster transform NiMARE uses.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neuroreview.errors import NeuroreviewError
from neuroreview.model import Space, Study
from neuroreview.model.study import first_repeated
from neuroreview.space import DEFAULT_METHOD, Grid, TransformMethod, convert

LOG = logging.getLogger(__name__)


class CBMAInputError(NeuroreviewError, ValueError):
    """The coordinates cannot be meta-analysed as given; the message names the experiment."""


@dataclass(frozen=True, eq=False)
class CoordinateSet:
    """Foci in MNI mm, each tagged with the experiment it belongs to.

    ``experiment_index`` is sorted, so each experiment's foci are one contiguous slice (the
    Monte Carlo kernels rely on that); constructors sort stably, keeping the reported order of
    foci within an experiment. ``sample_sizes`` holds NaN where an experiment reports none:
    only ALE without a fixed kernel needs it, and it says so when it is missing.
    """

    experiment_ids: tuple[str, ...]
    sample_sizes: NDArray[np.float64]
    xyz: NDArray[np.float64]
    experiment_index: NDArray[np.intp]
    _starts: NDArray[np.intp] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ids = tuple(str(i) for i in self.experiment_ids)
        sizes = np.asarray(self.sample_sizes, dtype=np.float64).reshape(-1)
        xyz = np.asarray(self.xyz, dtype=np.float64)
        index = np.asarray(self.experiment_index, dtype=np.intp).reshape(-1)
        if not ids:
            raise CBMAInputError("the dataset is empty: a meta-analysis needs experiments")
        repeated = first_repeated(ids)
        if repeated is not None:
            raise CBMAInputError(f"experiment id {repeated!r} appears twice")
        if sizes.shape != (len(ids),):
            raise CBMAInputError(
                f"{len(ids)} experiments but {sizes.shape[0]} sample sizes were given"
            )
        if xyz.ndim != 2 or xyz.shape[1] != 3:
            raise CBMAInputError(f"coordinates must be an (n, 3) array, got shape {xyz.shape}")
        if index.shape != (xyz.shape[0],):
            raise CBMAInputError("every focus needs exactly one experiment index")
        if index.size and (index.min() < 0 or index.max() >= len(ids)):
            raise CBMAInputError("an experiment index points at no experiment")
        if np.any(np.diff(index) < 0):
            raise CBMAInputError("foci must be grouped by experiment (sorted experiment_index)")
        bad_rows = np.flatnonzero(~np.all(np.isfinite(xyz), axis=1))
        if bad_rows.size:
            experiment = ids[index[bad_rows[0]]]
            raise CBMAInputError(f"experiment {experiment!r} has a non-finite coordinate")
        counts = np.bincount(index, minlength=len(ids))
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            raise CBMAInputError(f"experiment {ids[empty[0]]!r} has no foci")
        bad_sizes = np.flatnonzero(~np.isnan(sizes) & ~(sizes > 0))
        if bad_sizes.size:
            raise CBMAInputError(
                f"experiment {ids[bad_sizes[0]]!r} has sample size {sizes[bad_sizes[0]]:g}; "
                "it must be positive"
            )
        for array in (sizes, xyz, index):
            array.setflags(write=False)
        starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.intp)
        starts.setflags(write=False)
        object.__setattr__(self, "experiment_ids", ids)
        object.__setattr__(self, "sample_sizes", sizes)
        object.__setattr__(self, "xyz", xyz)
        object.__setattr__(self, "experiment_index", index)
        object.__setattr__(self, "_starts", starts)

    @property
    def n_experiments(self) -> int:
        return len(self.experiment_ids)

    @property
    def n_foci(self) -> int:
        return int(self.xyz.shape[0])

    @property
    def experiment_starts(self) -> NDArray[np.intp]:
        """Offsets into the focus arrays: experiment e owns foci ``starts[e]:starts[e + 1]``."""
        return self._starts

    def foci_of(self, experiment: int) -> NDArray[np.float64]:
        return self.xyz[self._starts[experiment] : self._starts[experiment + 1]]

    def ijk(self, grid: Grid) -> NDArray[np.intp]:
        """Nearest voxel of every focus on ``grid`` (NiMARE's rounding)."""
        return grid.world_to_voxel(self.xyz)

    def missing_sample_sizes(self) -> list[str]:
        return [self.experiment_ids[i] for i in np.flatnonzero(np.isnan(self.sample_sizes))]

    def subset(self, experiment_ids: Iterable[str]) -> CoordinateSet:
        """The experiments named, in this set's order; an unknown id is an error, not a skip."""
        wanted = list(experiment_ids)
        position = {e: i for i, e in enumerate(self.experiment_ids)}
        unknown = [e for e in wanted if e not in position]
        if unknown:
            raise CBMAInputError(f"no experiment {unknown[0]!r} in this dataset")
        keep = sorted({position[e] for e in wanted})
        remap = np.full(self.n_experiments, -1, dtype=np.intp)
        remap[keep] = np.arange(len(keep))
        rows = np.isin(self.experiment_index, keep)
        return CoordinateSet(
            experiment_ids=tuple(self.experiment_ids[i] for i in keep),
            sample_sizes=self.sample_sizes[keep],
            xyz=self.xyz[rows],
            experiment_index=remap[self.experiment_index[rows]],
        )

    @classmethod
    def from_arrays(
        cls,
        xyz: ArrayLike,
        experiment_of_focus: Sequence[str],
        sample_sizes: Mapping[str, float | None] | None = None,
    ) -> CoordinateSet:
        """Build from MNI foci and the experiment id of each; experiments keep first-seen order."""
        points = np.asarray(xyz, dtype=np.float64)
        labels = [str(label) for label in experiment_of_focus]
        if points.ndim != 2 or points.shape[0] != len(labels):
            raise CBMAInputError("give one experiment id per focus")
        order: dict[str, int] = {}
        for label in labels:
            order.setdefault(label, len(order))
        index = np.array([order[label] for label in labels], dtype=np.intp)
        sort = np.argsort(index, kind="stable")
        sizes_by_id = dict(sample_sizes or {})
        sizes = np.array(
            [
                np.nan if sizes_by_id.get(e) is None else float(sizes_by_id[e])  # type: ignore[arg-type]
                for e in order
            ],
            dtype=np.float64,
        )
        return cls(tuple(order), sizes, points[sort], index[sort])

    @classmethod
    def from_studies(
        cls,
        studies: Iterable[Study],
        *,
        method: TransformMethod | str = DEFAULT_METHOD,
    ) -> CoordinateSet:
        """One experiment per analysis; Talairach foci converted to MNI with ``method``.

        The sample size is the analysis's, else the study's. Analyses in an unknown space are
        refused by name: guessing shifts foci by up to a centimetre.
        """
        ids: list[str] = []
        sizes: list[float] = []
        blocks: list[NDArray[np.float64]] = []
        for study in studies:
            for analysis in study.analyses:
                experiment = f"{study.id}-{analysis.id}"
                points = np.array([[f.x, f.y, f.z] for f in analysis.foci], dtype=np.float64)
                if analysis.space is Space.UNKNOWN:
                    raise CBMAInputError(
                        f"study {study.id!r}, analysis {analysis.id!r}: the coordinate space is "
                        "unknown; record MNI or Talairach before meta-analysing it"
                    )
                if analysis.space is not Space.MNI:
                    points = convert(points, analysis.space, Space.MNI, method=method)
                n = analysis.n_subjects or study.n_subjects
                ids.append(experiment)
                sizes.append(np.nan if n is None else float(n))
                blocks.append(points)
        if not ids:
            raise CBMAInputError("the dataset is empty: no study has an analysis with foci")
        index = np.repeat(np.arange(len(ids)), [len(b) for b in blocks])
        return cls(tuple(ids), np.array(sizes), np.vstack(blocks), index)
