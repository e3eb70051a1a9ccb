"""Conjunction of two meta-analyses: where both survive, the smaller of their values.

GingerALE's conjunction (Eickhoff et al. 2011) is the minimum statistic of Nichols et al.
(2005): a voxel belongs to the conjunction only if it is significant in both analyses, and its
value is the weaker of the two, so the conjunction claims no more than each analysis supports.
Here each map is first thresholded the way neuroreview reports surviving voxels
(:func:`neuroreview.cbma.clusters.surviving_voxels`: the corrected z map above the z of
``alpha``, by default the cluster-size FWE map), then the voxel-wise minimum of the two
thresholded ``value_map`` maps is taken, zero wherever either is zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuroreview.cbma.clusters import CLUSTER_FWE_MAP, surviving_voxels
from neuroreview.cbma.results import CBMAResult


@dataclass(frozen=True)
class Conjunction:
    """Stands in for an estimator in a conjunction's result: it fits nothing."""

    method: str = "conjunction"


def conjunction(
    first: CBMAResult,
    second: CBMAResult,
    *,
    map_name: str = CLUSTER_FWE_MAP,
    alpha: float = 0.05,
    value_map: str = "z",
) -> CBMAResult:
    """The minimum statistic of ``first`` and ``second`` where both survive ``map_name``.

    A voxel survives where ``map_name`` (a z map of corrected p-values) exceeds the z of
    ``alpha``; the result's ``<value_map>_desc-conjunction`` map holds
    min(first's ``value_map``, second's) where both survive and 0 elsewhere. The two results
    must be on the same grid and mask.
    """
    if not _same_space(first, second):
        raise ValueError("a conjunction needs two results on the same grid and mask; these differ")
    kept = surviving_voxels(first, map_name, alpha)[first.space.mask]
    kept &= surviving_voxels(second, map_name, alpha)[second.space.mask]
    values = np.minimum(first.get_map(value_map), second.get_map(value_map))
    out = np.where(kept & (values > 0), values, 0.0)
    name = f"{value_map}_desc-conjunction"
    return CBMAResult(
        estimator=Conjunction(),  # type: ignore[arg-type]
        space=first.space,
        maps={name: out},
        descriptions=(
            "A conjunction was computed as the voxel-wise minimum statistic (Nichols et al., "
            "2005), as in GingerALE (Eickhoff et al., 2011): voxels significant in both "
            f"analyses ({map_name} at p < {alpha:g}) kept the smaller of their two "
            f"{value_map} values.",
        ),
        settings={
            "method": "conjunction",
            "map_name": map_name,
            "alpha": alpha,
            "value_map": value_map,
            "n_voxels": int(np.count_nonzero(out)),
        },
    )


def _same_space(first: CBMAResult, second: CBMAResult) -> bool:
    a, b = first.space, second.space
    if a is b:
        return True
    return (
        tuple(a.grid.shape) == tuple(b.grid.shape)
        and np.array_equal(a.grid.affine, b.grid.affine)
        and np.array_equal(a.mask, b.mask)
    )
