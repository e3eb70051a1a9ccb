"""Writing results: NIfTI maps on the MNI152 2 mm grid, byte-identical on rerun."""

from __future__ import annotations

import nibabel
import numpy as np

from neuroreview.cbma.base import AnalysisSpace
from neuroreview.cbma.results import CBMAResult
from neuroreview.io.maps import write_maps
from neuroreview.space import MNI152_2MM


def _result() -> CBMAResult:
    space = AnalysisSpace.default()
    values = np.linspace(0.0, 1.0, space.n_voxels)
    return CBMAResult(estimator=None, space=space, maps={"stat": values, "z": 2 * values})  # type: ignore[arg-type]


def test_maps_are_written_on_the_grid_and_read_back(tmp_path):
    result = _result()
    paths = write_maps(result, tmp_path / "out")
    assert [p.name for p in paths] == ["stat.nii.gz", "z.nii.gz"]
    image = nibabel.load(paths[1])
    assert image.shape == MNI152_2MM.shape
    np.testing.assert_array_equal(image.affine, MNI152_2MM.affine)
    data = np.asarray(image.dataobj)
    assert data.dtype == np.float32
    np.testing.assert_allclose(data[result.space.mask], result.get_map("z"), rtol=1e-7)
    assert np.all(data[~result.space.mask] == 0)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["stat.nii.gz", "z.nii.gz"]


def test_the_same_result_gives_the_same_bytes(tmp_path):
    first = write_maps(_result(), tmp_path / "a", names=["z"])[0].read_bytes()
    second = write_maps(_result(), tmp_path / "b", names=["z"])[0].read_bytes()
    assert first == second
