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


def test_cluster_volume_round_trips_and_other_grids_are_refused(tmp_path):
    import pytest

    from neuroreview.errors import InputError
    from neuroreview.io.maps import read_cluster_volume, write_cluster_volume
    from neuroreview.space import Grid

    volume = np.zeros(MNI152_2MM.shape, dtype=np.int16)
    volume[40:43, 50:52, 30] = 2
    path = write_cluster_volume(volume, MNI152_2MM, tmp_path / "clusters.nii.gz")
    np.testing.assert_array_equal(read_cluster_volume(path), volume)

    moved = MNI152_2MM.affine.copy()
    moved[0, 3] += 1.0  # a grid shifted by 1 mm: the same shape, other voxels
    shifted = Grid(MNI152_2MM.shape, moved)
    other = write_cluster_volume(volume, shifted, tmp_path / "other.nii.gz")
    with pytest.raises(InputError, match="other.nii.gz: the cluster image is"):
        read_cluster_volume(other)
