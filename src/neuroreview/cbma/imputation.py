"""Sample sizes ALE needs but a paper did not report: imputed openly, and tested for influence.

ALE widens each experiment's Gaussian as its sample size shrinks (Eickhoff et al. 2009), so an
experiment without a sample size cannot be modelled as the authors' data would have it. Leaving
it out throws its foci away; giving it a number is a modelling choice the reader must see. This
module makes the choice explicit: the imputed value, the experiments it was given to, and a
sensitivity analysis that repeats the analysis with the smallest and the largest sample size the
corpus does report. If the surviving clusters hold across that range, the imputation did not
decide the result; if they do not, the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from neuroreview.cbma.inputs import CBMAInputError, CoordinateSet

MEDIAN = "median"


@dataclass(frozen=True)
class Imputation:
    """Which experiments were given which sample size, by which rule."""

    rule: str
    value: float
    experiments: tuple[str, ...]
    known_sizes: tuple[float, ...]

    @property
    def smallest_known(self) -> float | None:
        return min(self.known_sizes) if self.known_sizes else None

    @property
    def largest_known(self) -> float | None:
        return max(self.known_sizes) if self.known_sizes else None

    def scenarios(self) -> list[tuple[str, float]]:
        """The imputed value and the corpus' extremes the sensitivity analysis tries instead."""
        chosen = [("imputed", self.value)]
        if self.smallest_known is not None:
            chosen.append(("smallest known N", self.smallest_known))
            chosen.append(("largest known N", self.largest_known))
        return chosen

    def sentence(self) -> str:
        if not self.experiments:
            return "Every experiment reported its sample size; none was imputed."
        rule = (
            f"the median of the {len(self.known_sizes)} reported sample sizes"
            if self.rule == MEDIAN
            else "a fixed value given by the user"
        )
        known = (
            f" (reported sample sizes range from {self.smallest_known:g} to {self.largest_known:g})"
            if self.known_sizes
            else ""
        )
        return (
            f"{len(self.experiments)} experiment(s) reported no sample size; ALE gave them N = "
            f"{self.value:g}, {rule}{known}."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "value": self.value,
            "n_imputed": len(self.experiments),
            "experiments": list(self.experiments),
            "smallest_known": self.smallest_known,
            "largest_known": self.largest_known,
            "n_known": len(self.known_sizes),
            "description": self.sentence(),
        }


def parse_rule(text: str) -> str | float:
    """``median`` or a positive number, as ``--impute-sample-size`` takes it."""
    cleaned = text.strip().lower()
    if cleaned == MEDIAN:
        return MEDIAN
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"expected 'median' or a sample size, got {text!r}") from None
    if not (np.isfinite(value) and value >= 1):
        raise ValueError(f"an imputed sample size must be at least 1, got {text!r}")
    return value


def impute_sample_sizes(
    coordinates: CoordinateSet, rule: str | float
) -> tuple[CoordinateSet, Imputation]:
    """Fill the missing sample sizes by ``rule``; the reported ones are never changed."""
    sizes = coordinates.sample_sizes
    missing = np.isnan(sizes)
    known = tuple(float(n) for n in sizes[~missing])
    if rule == MEDIAN:
        if not known:
            raise CBMAInputError(
                "no experiment reports a sample size, so there is no median to impute; "
                "give a number instead"
            )
        value = float(np.median(known))
    else:
        value = float(rule)
    imputation = Imputation(
        rule=MEDIAN if rule == MEDIAN else "fixed",
        value=value,
        experiments=tuple(coordinates.experiment_ids[i] for i in np.flatnonzero(missing)),
        known_sizes=known,
    )
    return with_missing_sizes(coordinates, value), imputation


def with_missing_sizes(coordinates: CoordinateSet, value: float) -> CoordinateSet:
    """The same experiments with every missing sample size set to ``value``."""
    sizes = np.where(np.isnan(coordinates.sample_sizes), value, coordinates.sample_sizes)
    return CoordinateSet(
        experiment_ids=coordinates.experiment_ids,
        sample_sizes=sizes,
        xyz=coordinates.xyz,
        experiment_index=coordinates.experiment_index,
    )


def compare_clusters(reference: NDArray[np.integer], other: NDArray[np.integer]) -> dict[str, Any]:
    """How far ``other``'s surviving clusters agree with ``reference``'s (labelled volumes, 0 =
    none): Dice of the surviving voxels, and how many reference clusters ``other`` still has a
    surviving voxel in."""
    ref, alt = np.asarray(reference) > 0, np.asarray(other) > 0
    total = int(ref.sum() + alt.sum())
    dice = 1.0 if total == 0 else 2.0 * int((ref & alt).sum()) / total
    ids = [int(i) for i in np.unique(reference) if i > 0]
    kept = sum(1 for i in ids if bool(alt[np.asarray(reference) == i].any()))
    return {
        "n_clusters": len([i for i in np.unique(other) if i > 0]),
        "n_cluster_voxels": int(alt.sum()),
        "dice_with_imputed": round(dice, 4),
        "imputed_clusters_kept": f"{kept} of {len(ids)}",
        "same_clusters": bool(
            kept == len(ids) and len(np.unique(other)) == len(np.unique(reference))
        ),
    }
