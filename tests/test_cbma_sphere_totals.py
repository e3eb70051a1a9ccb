"""MKDA's streamed sums equal the sums of the (experiments x voxels) matrix, to the last bit."""

from __future__ import annotations

import numpy as np
import pytest

from cbma_data import pain_case
from neuroreview.cbma.base import AnalysisSpace
from neuroreview.cbma.ma import combine_order, sphere_ma, sphere_totals


@pytest.mark.parametrize("radius", [6.0, 10.0])
def test_streamed_sums_equal_the_matrix_sums(radius):
    coordinates = pain_case().coordinates
    space = AnalysisSpace.default()
    order = combine_order(coordinates)
    matrix = sphere_ma(coordinates, space, radius)[order]
    weights = np.random.default_rng(3).uniform(0.5, 30.0, size=order.size)
    total, covered = sphere_totals(coordinates, space, radius, weights)
    expected = np.asarray(matrix.T.dot(weights[:, None]), dtype=np.float64).ravel()
    assert total.tobytes() == expected.tobytes()
    assert np.array_equal(covered, np.asarray(matrix.sum(axis=1)).ravel())
    unweighted, _ = sphere_totals(coordinates, space, radius)
    assert np.array_equal(unweighted, np.asarray(matrix.sum(axis=0), dtype=np.float64).ravel())
    assert unweighted.max() >= 5  # spheres of several experiments overlap: a real test


def test_one_weight_per_experiment():
    coordinates = pain_case().coordinates
    with pytest.raises(ValueError, match="3 weights for 21 experiments"):
        sphere_totals(coordinates, AnalysisSpace.default(), 10.0, np.ones(3))
