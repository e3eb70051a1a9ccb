"""``pyale`` convention against pyALE's own output (fixtures in ``tests/data/pyale``, made by
``tools/make_pyale_fixtures.py`` running pyALE's code on two synthetic sets): the voxel every
focus lands on, and the ALE map. The ``nimare`` convention is the control: it must place many
foci elsewhere, or the comparison would not be testing the placement rules."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neuroreview.cbma.ale import ALE
from neuroreview.cbma.base import AnalysisSpace
from neuroreview.cbma.conventions import NIMARE, PYALE, KernelShape, Placement
from neuroreview.cbma.inputs import CoordinateSet
from neuroreview.cbma.kernels import pyale_kernel
from neuroreview.cbma.ma import placed_voxels

FIXTURES = Path(__file__).parent / "data" / "pyale"
DATASETS = ("mixed", "edges")


def _fixture(name: str) -> tuple[dict, dict]:
    record = json.loads((FIXTURES / f"{name}.json").read_text())
    arrays = dict(np.load(FIXTURES / f"{name}.npz"))
    return record, arrays


def _coordinates(record: dict, convention) -> CoordinateSet:
    rows = record["rows"]
    xyz = np.vstack([convention.to_mni([[r["x"], r["y"], r["z"]]], r["space"]) for r in rows])
    authors = [r["author"] for r in rows]
    sizes = {r["author"]: r["subjects"] for r in rows}
    return CoordinateSet.from_arrays(xyz, authors, sizes)


@pytest.mark.parametrize("name", DATASETS)
def test_foci_land_on_pyales_voxels(name: str) -> None:
    record, _ = _fixture(name)
    theirs = np.array([v for experiment in record["pyale_voxels"] for v in experiment])
    theirs[:, 0] = 90 - theirs[:, 0]  # pyALE's x axis runs right to left, ours left to right
    space = AnalysisSpace.default()
    ours = placed_voxels(_coordinates(record, PYALE), space, Placement.CEIL)
    np.testing.assert_array_equal(ours, theirs)
    nimare = placed_voxels(_coordinates(record, NIMARE), space, Placement.ROUND)
    moved = np.any(nimare != theirs, axis=1)
    assert moved.sum() >= len(theirs) // 4  # NiMARE's rules put many foci elsewhere


@pytest.mark.parametrize("name", DATASETS)
def test_ale_map_equals_pyales(name: str) -> None:
    record, arrays = _fixture(name)
    space = AnalysisSpace.default()
    result = ALE(placement="ceil", kernel="pyale", space=space).fit(_coordinates(record, PYALE))
    ours = result.volume("stat").ravel()
    i, j, k = np.unravel_index(arrays["index"], space.mask.shape)
    index = np.ravel_multi_index((90 - i, j, k), space.mask.shape)  # pyALE's x axis is flipped
    inside = space.mask.ravel()[index]
    assert inside.sum() > 3000
    np.testing.assert_allclose(ours[index[inside]], arrays["ale"][inside], rtol=0, atol=1e-5)
    # The maximum of pyALE's (unmasked) map is reached inside the brain here too.
    assert ours.max() == pytest.approx(record["ale_max"], abs=1e-5)
    # Under NiMARE's convention the map differs by more than the tolerance somewhere.
    nimare = ALE(space=space).fit(_coordinates(record, NIMARE)).volume("stat").ravel()
    assert np.abs(nimare[index[inside]] - arrays["ale"][inside]).max() > 1e-3


def test_pyale_kernel_is_its_gaussian_by_hand() -> None:
    """FWHM 10 mm on 2 mm voxels: sigma 2.1233 voxels, 3.5 sigma -> 8 voxels each side."""
    cube = pyale_kernel(10.0)
    assert cube.shape == (17, 17, 17)
    assert cube.sum() == pytest.approx(1.0, abs=1e-12)
    sigma = 10.0 / 2.0 / np.sqrt(8 * np.log(2))
    steps = np.arange(-8, 9)
    profile = np.exp(-0.5 * steps**2 / sigma**2)
    profile /= profile.sum()
    np.testing.assert_allclose(cube[8, 8], profile * profile[8] ** 2, rtol=1e-12)
    assert KernelShape("pyale") is KernelShape.PYALE


@pytest.mark.parametrize("name", DATASETS)
def test_null_histogram_equals_pyales(name: str) -> None:
    """pyALE's analytic null (its hx_conv, computed over our brain mask) bin for bin."""
    record, arrays = _fixture(name)
    estimator = ALE(placement="ceil", kernel="pyale", histogram="pyale")
    estimator.fit(_coordinates(record, PYALE))
    null = estimator._fitted().null
    theirs = arrays["hx_conv"]
    ours = np.cumsum(null.weights[::-1])[::-1]
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-15)
    # The cluster-forming value: the voxels pyALE would keep (tail below 0.001 at their bin)
    # are exactly those above it.
    cut = estimator.p_to_summarystat(0.001)
    first = int(np.flatnonzero(theirs < 0.001)[0])
    assert cut == pytest.approx((first - 0.5) * 1e-4, abs=1e-15)
    values = np.concatenate([np.linspace(0, 2 * cut, 2001), [(first - 0.5) * 1e-4]])
    theirs_kept = theirs[np.clip(np.rint(values * 10_000).astype(int), 0, theirs.size - 1)] < 0.001
    assert np.array_equal(values > cut, theirs_kept)
    # NiMARE's histogram gives another null (1e-5 bins).
    nimare = ALE(placement="ceil", kernel="pyale").fit(_coordinates(record, PYALE))
    assert nimare.settings["histogram_step"] == 1e-5
