"""Kernels: NiMARE's to the bit by default; right in millimetres with ``voxel_exact``; exact
focus placement with ``subvoxel``."""

from __future__ import annotations

import math

import nibabel as nib
import numpy as np
import pytest
from nimare.meta.utils import get_ale_kernel, sphere_kernel_offsets

from neuroreview.cbma.base import AnalysisSpace
from neuroreview.cbma.inputs import CoordinateSet
from neuroreview.cbma.kernels import (
    ale_fwhm_mm,
    ale_kernel,
    ale_sigma_voxels,
    ale_subvoxel_weights,
    sphere_offsets,
)
from neuroreview.cbma.ma import ale_kernels, ale_ma, subvoxel_cube
from neuroreview.space import MNI152_2MM, Grid, load_brain_mask

SAMPLE_SIZES = [1, 2, 3, 5, 7.5, 8, 10, 12, 13, 16, 20, 25, 32, 50, 100, 1000]
FIXED_FWHMS = [4, 6, 8.0, 10, 10.5, 12.0, 15, 20.0]
FWHM_FACTOR = math.sqrt(8.0 * math.log(2.0))


def nimare_image(voxel_size: float | tuple[float, float, float]) -> nib.Nifti1Image:
    """A tiny image whose header carries ``voxel_size``: all get_ale_kernel reads from it."""
    zooms = np.broadcast_to(np.asarray(voxel_size, dtype=float), (3,))
    return nib.Nifti1Image(np.zeros((2, 2, 2), dtype=np.uint8), np.diag([*zooms, 1.0]))


@pytest.mark.parametrize("n", SAMPLE_SIZES)
def test_sample_size_kernel_is_nimares_to_the_bit(n: float) -> None:
    _, theirs = get_ale_kernel(load_brain_mask(), sample_size=n)
    ours = ale_kernel(ale_fwhm_mm(n), MNI152_2MM.voxel_size)
    assert ours.shape == theirs.shape
    assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("fwhm", FIXED_FWHMS)
@pytest.mark.parametrize("voxel", [2.0, 1.0, 3.0, (2.0, 2.0, 3.0)])
def test_fixed_fwhm_kernel_is_nimares_to_the_bit(fwhm: float, voxel) -> None:
    _, theirs = get_ale_kernel(nimare_image(voxel), fwhm=fwhm)
    ours = ale_kernel(fwhm, np.broadcast_to(np.asarray(voxel, dtype=float), (3,)))
    assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("radius", [2.0, 4.0, 6.0, 8.0, 10.0, 12.5, 15.0])
@pytest.mark.parametrize(
    "voxel", [(2.0, 2.0, 2.0), (1.0, 1.0, 1.0), (3.0, 3.0, 3.0), (2.0, 2.0, 3.0)]
)
def test_sphere_offsets_are_nimares(radius: float, voxel) -> None:
    theirs = sphere_kernel_offsets(radius, voxel)
    ours = sphere_offsets(radius, voxel)
    assert sorted(map(tuple, ours.tolist())) == sorted(map(tuple, theirs.tolist()))


def test_default_sphere_has_the_expected_voxel_count() -> None:
    # Voxel centres within 10 mm on a 2 mm grid: integer points with i^2+j^2+k^2 <= 25.
    expected = sum(
        1
        for i in range(-5, 6)
        for j in range(-5, 6)
        for k in range(-5, 6)
        if i * i + j * j + k * k <= 25
    )
    assert expected == 515
    assert sphere_offsets(10.0, (2.0, 2.0, 2.0)).shape == (expected, 3)


def measured_fwhm_mm(kernel: np.ndarray, voxel_size: float) -> list[float]:
    """FWHM along each axis from the second moment of the kernel's 1-D marginal profile.

    A sampled Gaussian's discrete variance equals sigma^2 to ~exp(-2 pi^2 sigma^2) (negligible
    for sigma > 0.7 voxel); the 4-sigma truncation lowers it by 0.1 %.
    """
    widths = []
    for axis in range(3):
        profile = kernel.sum(axis=tuple(a for a in range(3) if a != axis))
        steps = np.arange(profile.size) - profile.size // 2
        variance = float((steps**2 * profile).sum() / profile.sum())
        widths.append(FWHM_FACTOR * math.sqrt(variance) * voxel_size)
    return widths


@pytest.mark.parametrize(("voxel", "fwhm"), [(1.0, 6.0), (1.0, 10.0), (2.0, 10.0), (3.0, 6.0)])
def test_voxel_exact_kernel_has_the_requested_fwhm(voxel: float, fwhm: float) -> None:
    kernel = ale_kernel(fwhm, (voxel,) * 3, voxel_exact=True)
    assert measured_fwhm_mm(kernel, voxel) == pytest.approx([fwhm] * 3, rel=0.01)


@pytest.mark.parametrize(("voxel", "ratio"), [(1.0, math.sqrt(2.0)), (3.0, math.sqrt(2.0 / 3.0))])
def test_nimares_rule_is_wrong_away_from_2mm(voxel: float, ratio: float) -> None:
    """NiMARE's kernel is sqrt(2) = 41 % too wide at 1 mm and sqrt(2/3) = 18 % too narrow at 3 mm.

    6 mm is small enough that NiMARE's 1 mm kernel is not clipped by its 31-voxel cube.
    """
    _, theirs = get_ale_kernel(nimare_image(voxel), fwhm=6.0)
    measured = measured_fwhm_mm(theirs, voxel)
    assert measured == pytest.approx([6.0 * ratio] * 3, rel=0.01)
    assert abs(measured[0] / 6.0 - 1.0) > 0.17


def test_voxel_exact_changes_nothing_at_2mm() -> None:
    """Equal up to NiMARE's float32 voxel size (sigma off by 2e-8, ~1e-6 in the far tails)."""
    for n in (2, 10, 30):
        exact = ale_kernel(ale_fwhm_mm(n), (2.0,) * 3, voxel_exact=True)
        default = ale_kernel(ale_fwhm_mm(n), (2.0,) * 3)
        assert exact.shape == default.shape
        np.testing.assert_allclose(exact, default, rtol=1e-5, atol=0)


def test_voxel_exact_is_anisotropic_where_voxels_are() -> None:
    sigma = ale_sigma_voxels(10.0, (2.0, 2.0, 4.0), voxel_exact=True)
    np.testing.assert_allclose(sigma, 10.0 / FWHM_FACTOR / np.array([2.0, 2.0, 4.0]))
    kernel = ale_kernel(10.0, (2.0, 2.0, 4.0), voxel_exact=True)
    assert kernel.shape[2] < kernel.shape[0]


@pytest.mark.parametrize("n", [2, 9, 25])
def test_subvoxel_cube_on_a_voxel_centre_is_the_voxel_centred_kernel(n: int) -> None:
    sigma = ale_sigma_voxels(ale_fwhm_mm(n), (2.0,) * 3, voxel_exact=True)
    cube = subvoxel_cube(np.zeros(3), sigma)
    expected = ale_kernel(ale_fwhm_mm(n), (2.0,) * 3, voxel_exact=True)
    assert cube.shape == expected.shape
    np.testing.assert_allclose(cube, expected, rtol=1e-12, atol=1e-18)


def test_subvoxel_weights_are_normalised_and_centred() -> None:
    """Six sigma of support, so truncation cannot bias the mean (4 sigma moves it 1e-4)."""
    offset = np.array([0.3, -0.45, 0.1])
    sigma = np.array([2.0, 2.0, 2.0])
    for axis, weights in enumerate(ale_subvoxel_weights(offset, sigma, 12)):
        steps = np.arange(-12, 13)
        assert weights.sum() == pytest.approx(1.0, abs=1e-15)
        assert (steps * weights).sum() == pytest.approx(offset[axis], abs=1e-6)


FULL_SPACE = AnalysisSpace(
    MNI152_2MM, np.ones(MNI152_2MM.shape, bool), np.ones(MNI152_2MM.shape, bool)
)


def single_focus_ma(xyz, *, subvoxel: bool, grid: Grid = MNI152_2MM) -> np.ndarray:
    coordinates = CoordinateSet.from_arrays([xyz], ["e1"], {"e1": 12})
    kernels = ale_kernels(coordinates, grid.voxel_size, voxel_exact=True)
    ma = ale_ma(coordinates, FULL_SPACE, kernels, subvoxel=subvoxel)
    return ma.toarray().reshape(grid.shape)


def test_subvoxel_ma_on_a_voxel_centre_equals_voxel_centred_ma() -> None:
    centre = MNI152_2MM.voxel_to_world([40, 60, 40])
    on_centre = single_focus_ma(centre, subvoxel=True)
    centred = single_focus_ma(centre, subvoxel=False)
    np.testing.assert_allclose(on_centre, centred, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("xyz", [(1.3, -20.7, 10.9), (-30.5, 15.01, -3.99), (0.99, 0.0, 31.0)])
def test_subvoxel_ma_centre_of_mass_is_the_reported_focus(xyz) -> None:
    ma = single_focus_ma(xyz, subvoxel=True)
    voxels = np.argwhere(ma > 0)
    mass = ma[tuple(voxels.T)].astype(float)
    centre = (voxels * mass[:, None]).sum(axis=0) / mass.sum()
    np.testing.assert_allclose(centre, MNI152_2MM.world_to_voxel_float(xyz), atol=0.01)
    snapped = single_focus_ma(xyz, subvoxel=False)
    voxels = np.argwhere(snapped > 0)
    mass = snapped[tuple(voxels.T)].astype(float)
    snapped_centre = (voxels * mass[:, None]).sum(axis=0) / mass.sum()
    assert np.abs(snapped_centre - MNI152_2MM.world_to_voxel_float(xyz)).max() > 0.1
