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


def _pyale_null_draws(record: dict, space: AnalysisSpace, coordinates: CoordinateSet) -> np.ndarray:
    """pyALE's null draws (indices into its sample space: its mask's voxels, C order, x axis
    right to left) as indices into our null voxels, one row per null dataset."""
    theirs_grid = np.argwhere(space.mask[::-1])  # pyALE's sample space, over the same mask
    ours_index = {tuple(v): n for n, v in enumerate(space.null_ijk().tolist())}
    rows = []
    for dataset in record["null"]["null_draws"]:
        picked = [theirs_grid[np.asarray(per_experiment, dtype=int)] for per_experiment in dataset]
        voxels = np.vstack(picked)
        voxels[:, 0] = 90 - voxels[:, 0]
        rows.append([ours_index[tuple(v)] for v in voxels.tolist()])
    draws = np.array(rows)
    assert draws.shape[1] == coordinates.n_foci
    return draws


def test_monte_carlo_null_equals_pyales_on_its_own_draws() -> None:
    """Given pyALE's random foci, every null dataset's largest cluster (labelled on the whole
    grid, clusters formed by pyALE's histogram) and largest ALE equal pyALE's."""
    from neuroreview.cbma.montecarlo import run_null

    record, _ = _fixture("converging")
    space = AnalysisSpace.default()
    coordinates = _coordinates(record, PYALE)
    estimator = ALE(placement="ceil", kernel="pyale", histogram="pyale", null_clusters="unmasked")
    estimator.fit(coordinates)
    threshold = estimator.p_to_summarystat(0.001)
    draws = _pyale_null_draws(record, space, coordinates)
    null = run_null(estimator.null_problem(threshold), len(draws), seed=None, draws=draws)
    np.testing.assert_array_equal(null.max_cluster_size, record["null"]["null_max_cluster"])
    np.testing.assert_allclose(null.max_stat, record["null"]["null_max_ale"], rtol=0, atol=1e-6)
    # Within the mask (NiMARE's rule) some null clusters come out smaller.
    masked = ALE(placement="ceil", kernel="pyale", histogram="pyale")
    masked.fit(coordinates)
    inside = run_null(masked.null_problem(threshold), len(draws), seed=None, draws=draws)
    assert np.all(inside.max_cluster_size <= null.max_cluster_size)
    assert np.any(inside.max_cluster_size < null.max_cluster_size)


def test_surviving_clusters_equal_pyales_at_its_null() -> None:
    """pyALE's null (its 40 largest clusters), pyALE's percentile rule: the same voxels survive."""
    from neuroreview.cbma.sensitivity import surviving_by_size

    record, _ = _fixture("converging")
    space = AnalysisSpace.default()
    estimator = ALE(placement="ceil", kernel="pyale", histogram="pyale", null_clusters="unmasked")
    stat = estimator.fit(_coordinates(record, PYALE)).volume("stat")
    kept = surviving_by_size(
        stat,
        estimator.p_to_summarystat(0.001),
        space.mask,
        np.array(record["null"]["null_max_cluster"]),
        0.05,
        percentile=True,
    )
    theirs = np.zeros(space.mask.shape, dtype=bool)
    theirs.flat[record["null"]["surviving_voxels"]] = True
    theirs = theirs[::-1]  # pyALE's x axis runs right to left
    assert theirs.sum() > 100
    assert np.array_equal(kept, theirs)
    # NiMARE's rule (share of the null at least as large, below 0.05) is stricter here by one
    # null value at most: it keeps a subset.
    by_p = surviving_by_size(
        stat,
        estimator.p_to_summarystat(0.001),
        space.mask,
        np.array(record["null"]["null_max_cluster"]),
        0.05,
    )
    assert not np.any(by_p & ~kept)


@pytest.mark.parametrize("name", ["mixed", "converging"])
def test_nimare_convention_equals_nimare_on_the_same_sets(name: str) -> None:
    """The control, convention by convention: the same synthetic sets through NiMARE itself
    (Talairach converted by NiMARE) give our ``nimare`` convention's voxels and map."""
    import warnings

    from cbma_data import CBMACase
    from neuroreview.cbma.experiments import build_experiments
    from neuroreview.model import Analysis, Focus, Space, Study

    record, _ = _fixture(name)
    by_author: dict[str, list[dict]] = {}
    for row in record["rows"]:
        by_author.setdefault(row["author"], []).append(row)
    studies = tuple(
        Study(
            id=author,
            analyses=[
                Analysis(
                    id="a",
                    n_subjects=rows[0]["subjects"],
                    space=Space.TAL if rows[0]["space"] == "TAL" else Space.MNI,
                    foci=[Focus(x=r["x"], y=r["y"], z=r["z"]) for r in rows],
                )
            ],
        )
        for author, rows in by_author.items()
    )
    from nimare.meta.cbma import ALE as NimareALE

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = CBMACase(name, studies).nimare_dataset()
        estimator = NimareALE()
        theirs = estimator.fit(dataset)
    coordinates, _ = build_experiments(studies, "analysis", convention=NIMARE)
    ours = ALE().fit(coordinates)
    table = estimator.inputs_["coordinates"]
    np.testing.assert_array_equal(
        np.sort(placed_voxels(coordinates, ours.space), axis=0),
        np.sort(table[["i", "j", "k"]].to_numpy(), axis=0),
    )
    np.testing.assert_allclose(
        ours.get_map("stat"), theirs.get_map("stat", return_type="array"), rtol=0, atol=1e-5
    )
