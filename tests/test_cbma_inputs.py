"""CoordinateSet: the one input of every estimator, and the errors it gives for bad data."""

from __future__ import annotations

import numpy as np
import pytest

from neuroreview.cbma.inputs import CBMAInputError, CoordinateSet
from neuroreview.model import Analysis, Focus, Space, Study
from neuroreview.space import MNI152_2MM, mni_to_tal


def _study(study_id: str, *analyses: Analysis, n: int | None = None) -> Study:
    return Study(id=study_id, n_subjects=n, analyses=list(analyses))


def _analysis(analysis_id: str, points, space=Space.MNI, n=None) -> Analysis:
    foci = [Focus(x=x, y=y, z=z) for x, y, z in points]
    return Analysis(id=analysis_id, space=space, n_subjects=n, foci=foci)


def test_from_studies_one_experiment_per_analysis_with_nimare_ids():
    studies = [
        _study("s1", _analysis("a", [(0, 0, 0), (10, 0, 0)], n=12), _analysis("b", [(2, 2, 2)])),
        _study("s2", _analysis("c", [(-4, 8, 16)]), n=30),
    ]
    coords = CoordinateSet.from_studies(studies)
    assert coords.experiment_ids == ("s1-a", "s1-b", "s2-c")
    # The analysis's own n wins, then the study's; none at all is NaN, never a guess.
    np.testing.assert_array_equal(coords.sample_sizes, [12.0, np.nan, 30.0])
    assert coords.missing_sample_sizes() == ["s1-b"]
    np.testing.assert_array_equal(coords.experiment_index, [0, 0, 1, 2])
    np.testing.assert_array_equal(coords.experiment_starts, [0, 2, 3, 4])
    np.testing.assert_array_equal(coords.foci_of(0), [[0, 0, 0], [10, 0, 0]])


def test_talairach_foci_are_converted_with_the_pooled_transform():
    mni = np.array([[30.0, -20.0, 50.0], [-40.0, 10.0, -10.0]])
    tal = mni_to_tal(mni)
    coords = CoordinateSet.from_studies([_study("t", _analysis("a", tal, space=Space.TAL))])
    np.testing.assert_allclose(coords.xyz, mni, atol=1e-9)


def test_unknown_space_is_refused_by_name():
    study = _study("u1", _analysis("a", [(0, 0, 0)], space=Space.UNKNOWN))
    with pytest.raises(CBMAInputError, match=r"study 'u1', analysis 'a'.*space is unknown"):
        CoordinateSet.from_studies([study])


def test_empty_inputs_are_refused():
    with pytest.raises(CBMAInputError, match="empty"):
        CoordinateSet.from_studies([])
    with pytest.raises(CBMAInputError, match="empty"):
        CoordinateSet.from_studies([Study(id="no-foci")])


def test_from_arrays_groups_foci_and_keeps_their_order():
    coords = CoordinateSet.from_arrays(
        [[0, 0, 0], [9, 9, 9], [1, 1, 1], [2, 2, 2]], ["a", "b", "a", "a"], {"a": 10, "b": None}
    )
    assert coords.experiment_ids == ("a", "b")
    np.testing.assert_array_equal(coords.xyz[:, 0], [0, 1, 2, 9])
    np.testing.assert_array_equal(coords.sample_sizes, [10.0, np.nan])
    assert coords.n_foci == 4 and coords.n_experiments == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"experiment_index": [0, 0]}, "experiment 'b' has no foci"),
        ({"experiment_index": [1, 0]}, "grouped by experiment"),
        ({"xyz": [[0, 0, np.nan], [1, 1, 1]]}, "experiment 'a' has a non-finite coordinate"),
        ({"sample_sizes": [10.0, -3.0]}, "experiment 'b' has sample size -3"),
        ({"sample_sizes": [10.0]}, "2 experiments but 1 sample sizes"),
        ({"experiment_ids": ("a", "a")}, "experiment id 'a' appears twice"),
        ({"experiment_index": [0, 2]}, "points at no experiment"),
    ],
)
def test_bad_arrays_name_the_problem(kwargs, message):
    fields = {
        "experiment_ids": ("a", "b"),
        "sample_sizes": [10.0, 20.0],
        "xyz": [[0, 0, 0], [1, 1, 1]],
        "experiment_index": [0, 1],
    }
    fields.update(kwargs)
    with pytest.raises(CBMAInputError, match=message):
        CoordinateSet(**fields)


def test_subset_keeps_order_and_refuses_unknown_ids():
    coords = CoordinateSet.from_arrays(
        [[0, 0, 0], [1, 1, 1], [2, 2, 2]], ["a", "b", "c"], {"a": 5, "b": 6, "c": 7}
    )
    part = coords.subset(["c", "a"])
    assert part.experiment_ids == ("a", "c")
    np.testing.assert_array_equal(part.sample_sizes, [5.0, 7.0])
    np.testing.assert_array_equal(part.xyz[:, 0], [0, 2])
    np.testing.assert_array_equal(part.experiment_index, [0, 1])
    with pytest.raises(CBMAInputError, match="no experiment 'z'"):
        coords.subset(["z"])


def test_arrays_are_read_only_and_ijk_uses_the_grid():
    coords = CoordinateSet.from_arrays([[-90, -126, -72], [1, 1, 1]], ["a", "a"])
    with pytest.raises(ValueError):
        coords.xyz[0, 0] = 5
    np.testing.assert_array_equal(coords.ijk(MNI152_2MM), [[0, 0, 0], [46, 64, 36]])
