"""A meta-analysis result: named maps on the analysis mask, null distributions, and provenance.

Maps are held as 1-D arrays over the mask's voxels (C order), as NiMARE holds them, so results
from both can be compared element by element; they become 3-D volumes or NIfTI images only on
the way out. Map names follow NiMARE's (``stat``, ``p``, ``z``,
``z_desc-size_level-cluster_corr-FWE_method-montecarlo``, ...) so users find the files they
expect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from neuroreview.cbma.base import AnalysisSpace

if TYPE_CHECKING:
    import nibabel

    from neuroreview.cbma.base import CBMAEstimator


@dataclass(frozen=True, eq=False)
class CBMAResult:
    """What a fit (and any corrections applied to it) produced.

    Frozen: a correction returns a new result carrying the old maps plus its own, so the
    uncorrected result stays valid. ``estimator`` is the fitted estimator the maps came from;
    inference asks it for thresholds and its Monte Carlo problem.
    """

    estimator: CBMAEstimator
    space: AnalysisSpace
    maps: Mapping[str, NDArray[np.float64]]
    null_distributions: Mapping[str, NDArray[np.float64]] = field(default_factory=dict)
    descriptions: tuple[str, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.space.n_voxels
        for name, values in self.maps.items():
            if np.shape(values) != (n,):
                raise ValueError(f"map {name!r} has shape {np.shape(values)}, expected ({n},)")

    def get_map(self, name: str) -> NDArray[np.float64]:
        try:
            return self.maps[name]
        except KeyError:
            known = ", ".join(sorted(self.maps))
            raise KeyError(f"no map {name!r}; this result has: {known}") from None

    def volume(self, name: str) -> NDArray[np.float64]:
        """The map as a 3-D array on the grid, zero outside the mask."""
        out = np.zeros(self.space.grid.shape, dtype=np.float64)
        out[self.space.mask] = self.get_map(name)
        return out

    def to_nifti(self, name: str) -> nibabel.Nifti1Image:
        """The map as a float32 NIfTI image (the precision NiMARE writes)."""
        import nibabel

        image = nibabel.Nifti1Image(
            self.volume(name).astype(np.float32), self.space.grid.affine.copy()
        )
        image.header.set_xyzt_units("mm")
        return image

    def with_maps(
        self,
        maps: Mapping[str, NDArray[np.float64]],
        null_distributions: Mapping[str, NDArray[np.float64]] | None = None,
        description: str | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> CBMAResult:
        """A new result with ``maps`` (and nulls, description, settings) added to these."""
        return replace(
            self,
            maps={**self.maps, **maps},
            null_distributions={**self.null_distributions, **(null_distributions or {})},
            descriptions=self.descriptions + ((description,) if description else ()),
            settings={**self.settings, **(settings or {})},
        )
