"""Chi-square tests of MKDA (Wager et al. 2007; Neurosynth) from counts of active experiments.

Apart from the estimator so that callers that only need the statistics, such as the decoder
turning shipped topic counts into maps, do not pay for importing the Monte Carlo machinery.
Only numpy is needed.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["one_way_chi2", "two_way_chi2"]


def one_way_chi2(counts: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """Chi-square (1 dof) of each voxel's count against the mean count over the mask.

    0 where the mean is 0 or n: every count then equals the expectation.
    """
    expected = counts.mean()
    denominator = expected * (n - expected)
    if denominator == 0:
        return np.zeros_like(counts)
    return (counts - expected) ** 2 * n / denominator


def two_way_chi2(
    selected: NDArray[np.float64], unselected: NDArray[np.float64], n1: int, n2: int
) -> NDArray[np.float64]:
    """Pearson chi-square of the 2 x 2 table (group x active) at each voxel.

    Where a margin is empty (no experiment, or every experiment, active) the table carries no
    information; Neurosynth, and NiMARE after it, report 2.0 there (each of the two empty
    cells was meant to add p = 1 but adds chi-square 1). Kept so maps equal NiMARE's; the
    sign, hence z, is 0 at those voxels.
    """
    total = n1 + n2
    active = selected + unselected
    numerator = total * (selected * n2 - unselected * n1) ** 2
    denominator = active * (total - active) * n1 * n2
    chi2 = np.full(active.shape, 2.0)
    informative = denominator != 0
    chi2[informative] = numerator[informative] / denominator[informative]
    return chi2
