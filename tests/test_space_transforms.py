"""MNI <-> Talairach transforms: exact inverses, NiMARE agreement and hand-computed points."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from nimare.utils import mni2tal as nimare_mni2tal
from nimare.utils import tal2mni as nimare_tal2mni

from neuroreview.model.enums import Space
from neuroreview.space import (
    DEFAULT_METHOD,
    TransformMethod,
    convert,
    mni_to_tal,
    tal_to_mni,
)

ALL_METHODS = [m.value for m in TransformMethod]
COS, SIN = np.cos(0.05), np.sin(0.05)

points_in_box = arrays(
    np.float64,
    shape=st.tuples(st.integers(1, 25), st.just(3)),
    elements=st.floats(-100, 100, allow_nan=False, allow_infinity=False),
)


# --- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ALL_METHODS)
@settings(max_examples=200, deadline=None)
@given(points=points_in_box)
def test_mni_tal_mni_round_trip_is_exact(method: str, points: np.ndarray) -> None:
    back = tal_to_mni(mni_to_tal(points, method), method)
    np.testing.assert_allclose(back, points, rtol=0, atol=1e-6)


@pytest.mark.parametrize("method", ALL_METHODS)
@settings(max_examples=200, deadline=None)
@given(points=points_in_box)
def test_tal_mni_tal_round_trip_is_exact(method: str, points: np.ndarray) -> None:
    back = mni_to_tal(tal_to_mni(points, method), method)
    np.testing.assert_allclose(back, points, rtol=0, atol=1e-6)


# --- agreement with NiMARE (pooled Lancaster) ----------------------------------------------


def test_pooled_matches_nimare_mni2tal_on_random_points() -> None:
    points = np.random.default_rng(7).uniform(-100, 100, size=(500, 3))
    # NiMARE takes and returns (N, 3) rows when N != 3 (it transposes internally).
    np.testing.assert_allclose(
        mni_to_tal(points, "lancaster_pooled"), nimare_mni2tal(points), rtol=0, atol=1e-6
    )


def test_pooled_matches_nimare_tal2mni_on_random_points() -> None:
    points = np.random.default_rng(8).uniform(-100, 100, size=(500, 3))
    np.testing.assert_allclose(
        tal_to_mni(points, "lancaster_pooled"), nimare_tal2mni(points), rtol=0, atol=1e-6
    )


def test_pooled_matches_nimare_on_an_ambiguous_three_by_three_block() -> None:
    # NiMARE reads a 3 x 3 input as three row points, as we do.
    points = np.array([[-40.0, -60.0, -20.0], [10.0, 20.0, 30.0], [0.0, 52.0, -8.0]])
    np.testing.assert_allclose(mni_to_tal(points), nimare_mni2tal(points), rtol=0, atol=1e-6)
    np.testing.assert_allclose(tal_to_mni(points), nimare_tal2mni(points), rtol=0, atol=1e-6)


def test_default_method_is_pooled_lancaster() -> None:
    assert DEFAULT_METHOD == "lancaster_pooled"
    point = [10.0, 20.0, 30.0]
    np.testing.assert_array_equal(mni_to_tal(point), mni_to_tal(point, "lancaster_pooled"))


# --- hand-computed Lancaster points ---------------------------------------------------------
# Expected values worked out by hand from the BrainMap matrices (icbm_*2tal.m, 3/14/07): the
# origin maps to the translation column; (10, 20, 30) and (-40, -60, -20) row by row.

LANCASTER_CASES = [
    ("lancaster_pooled", [0, 0, 0], [-1.0423, -1.3940, 3.6475]),
    ("lancaster_pooled", [10, 20, 30], [8.1567, 15.1550, 32.1555]),
    ("lancaster_pooled", [-40, -60, -20], [-38.5003, -56.0580, -19.2105]),
    ("lancaster_spm", [0, 0, 0], [-1.0207, -1.7667, 4.0926]),
    ("lancaster_spm", [10, 20, 30], [7.9273, 14.2043, 32.7826]),
    ("lancaster_spm", [-40, -60, -20], [-37.9447, -55.7287, -19.6614]),
    ("lancaster_fsl", [0, 0, 0], [-1.0680, -1.0239, 3.1883]),
    ("lancaster_fsl", [10, 20, 30], [8.3860, 16.1111, 31.5053]),
    ("lancaster_fsl", [-40, -60, -20], [-39.0760, -56.4059, -18.7457]),
]


@pytest.mark.parametrize(("method", "mni", "tal"), LANCASTER_CASES)
def test_lancaster_hand_computed_points(method: str, mni: list, tal: list) -> None:
    np.testing.assert_allclose(mni_to_tal(mni, method), tal, rtol=0, atol=1e-9)
    np.testing.assert_allclose(tal_to_mni(tal, method), mni, rtol=0, atol=1e-9)


def test_lancaster_variants_differ_by_millimetres_at_the_cortex() -> None:
    # A prefrontal focus: the SPM and FSL fits put it about 2.3 mm apart in both y and z
    # (by hand: SPM -> (-1.1127, 52.3873, 27.2386), FSL -> (-0.9160, 54.6901, 24.9103)).
    point = [0.0, 60.0, 20.0]
    spm, fsl = mni_to_tal(point, "lancaster_spm"), mni_to_tal(point, "lancaster_fsl")
    np.testing.assert_allclose(spm, [-1.1127, 52.3873, 27.2386], rtol=0, atol=1e-9)
    np.testing.assert_allclose(fsl - spm, [0.1967, 2.3028, -2.3283], rtol=0, atol=1e-9)


# --- Brett ---------------------------------------------------------------------------------


def test_brett_maps_origin_to_origin() -> None:
    np.testing.assert_array_equal(mni_to_tal([0.0, 0.0, 0.0], "brett"), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(tal_to_mni([0.0, 0.0, 0.0], "brett"), [0.0, 0.0, 0.0])


def test_brett_above_ac_hand_computed() -> None:
    # Zoom (0.99, 0.97, 0.92), then pitch 0.05 rad: y' = c*0.97y + s*0.92z, z' = -s*0.97y + c*0.92z
    expected = [9.9, COS * 19.4 + SIN * 27.6, -SIN * 19.4 + COS * 27.6]
    np.testing.assert_allclose(expected, [9.9, 20.75518012, 26.59591130], atol=1e-8)
    np.testing.assert_allclose(mni_to_tal([10, 20, 30], "brett"), expected, rtol=0, atol=1e-12)


def test_brett_below_ac_hand_computed() -> None:
    # Below the AC the z zoom is 0.84 instead of 0.92.
    expected = [-39.6, COS * -58.2 + SIN * -16.8, -SIN * -58.2 + COS * -16.8]
    np.testing.assert_allclose(expected, [-39.6, -58.96691520, -13.87021672], atol=1e-8)
    np.testing.assert_allclose(mni_to_tal([-40, -60, -20], "brett"), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("mni", "upper"),
    [([10.0, 20.0, 30.0], True), ([-40.0, -60.0, -20.0], False), ([25.0, -80.0, 45.0], True)],
)
def test_brett_matches_the_published_four_decimal_equations(mni: list, upper: bool) -> None:
    # Brett's "MNI brain and Talairach atlas" page: above the AC y' = 0.9688y + 0.0460z,
    # z' = -0.0485y + 0.9189z; below, 0.0420z and 0.8390z. Rounding to 4 decimals costs < 0.01 mm.
    x, y, z = mni
    a, b = (0.0460, 0.9189) if upper else (0.0420, 0.8390)
    published = [0.99 * x, 0.9688 * y + a * z, -0.0485 * y + b * z]
    np.testing.assert_allclose(mni_to_tal(mni, "brett"), published, rtol=0, atol=0.01)


def test_brett_inverse_uses_the_mni_side_of_the_ac_not_the_talairach_side() -> None:
    # This frontal MNI point lies above the AC, but the pitch carries it below z = 0 in
    # Talairach. Choosing the inverse piece by the Talairach z sign would return z = 1.0759.
    tal = mni_to_tal([0.0, 100.0, 1.0], "brett")
    assert tal[2] == pytest.approx(-3.929129, abs=1e-6)
    np.testing.assert_allclose(tal_to_mni(tal, "brett"), [0.0, 100.0, 1.0], rtol=0, atol=1e-12)


def test_brett_is_continuous_across_the_ac_plane() -> None:
    above = mni_to_tal([5.0, 30.0, 1e-9], "brett")
    below = mni_to_tal([5.0, 30.0, -1e-9], "brett")
    np.testing.assert_allclose(above, below, rtol=0, atol=1e-8)


# --- shapes, inputs and errors -------------------------------------------------------------


@pytest.mark.parametrize("method", ALL_METHODS)
def test_single_point_keeps_its_shape_and_matches_the_batch(method: str) -> None:
    batch = np.array([[10.0, 20.0, 30.0], [-40.0, -60.0, -20.0]])
    single = mni_to_tal(batch[1], method)
    assert single.shape == (3,)
    np.testing.assert_allclose(single, mni_to_tal(batch, method)[1], rtol=0, atol=1e-12)
    assert tal_to_mni(batch[0], method).shape == (3,)


def test_inputs_are_never_modified_and_integers_are_accepted() -> None:
    points = np.array([[10, 20, 30], [-40, -60, -20]])
    result = mni_to_tal(points, "brett")
    np.testing.assert_array_equal(points, [[10, 20, 30], [-40, -60, -20]])
    assert result.dtype == np.float64
    np.testing.assert_allclose(result[0], [9.9, 20.75518012, 26.5959113], atol=1e-8)


def test_empty_batch_returns_empty_batch() -> None:
    assert mni_to_tal(np.empty((0, 3))).shape == (0, 3)
    assert tal_to_mni(np.empty((0, 3)), "brett").shape == (0, 3)


@pytest.mark.parametrize("bad", [[1.0, 2.0], np.zeros((4, 2)), np.zeros((2, 3, 3))])
def test_badly_shaped_coordinates_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        mni_to_tal(bad)


def test_unknown_method_lists_the_options() -> None:
    with pytest.raises(ValueError, match="lancaster_spm.*lancaster_fsl.*lancaster_pooled.*brett"):
        mni_to_tal([0.0, 0.0, 0.0], "icbm2tal")
    with pytest.raises(ValueError, match="unknown transform method"):
        tal_to_mni([0.0, 0.0, 0.0], "talairach")


def test_enum_and_string_methods_are_interchangeable() -> None:
    point = [12.0, -34.0, 56.0]
    np.testing.assert_array_equal(
        mni_to_tal(point, TransformMethod.LANCASTER_FSL), mni_to_tal(point, "lancaster_fsl")
    )


# --- convert -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ALL_METHODS)
def test_convert_dispatches_on_direction(method: str) -> None:
    points = np.array([[10.0, 20.0, 30.0], [-40.0, -60.0, -20.0]])
    np.testing.assert_array_equal(
        convert(points, Space.MNI, Space.TAL, method), mni_to_tal(points, method)
    )
    np.testing.assert_array_equal(
        convert(points, Space.TAL, Space.MNI, method), tal_to_mni(points, method)
    )


def test_convert_same_space_returns_an_equal_copy() -> None:
    points = np.array([[10.0, 20.0, 30.0]])
    result = convert(points, Space.TAL, Space.TAL)
    np.testing.assert_array_equal(result, points)
    result[0, 0] = 99.0
    assert points[0, 0] == 10.0


def test_convert_accepts_space_spellings() -> None:
    np.testing.assert_allclose(
        convert([10, 20, 30], "mni152", "Talairach"), [8.1567, 15.155, 32.1555], atol=1e-9
    )


@pytest.mark.parametrize(
    ("source", "target"),
    [(Space.UNKNOWN, Space.MNI), (Space.TAL, Space.UNKNOWN), (Space.UNKNOWN, Space.UNKNOWN)],
)
def test_convert_refuses_unknown_space(source: Space, target: Space) -> None:
    with pytest.raises(ValueError, match="UNKNOWN space.*MNI or Talairach"):
        convert([0.0, 0.0, 0.0], source, target)


def test_convert_checks_the_method_even_for_a_same_space_copy() -> None:
    with pytest.raises(ValueError, match="unknown transform method"):
        convert([0.0, 0.0, 0.0], Space.MNI, Space.MNI, "spm")
