"""``neuroreview decode``: regions by name, AAL3 label, mask and cluster; maps; the TSV; errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nibabel
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from neuroreview.cli import app
from neuroreview.decode.region import COLUMNS
from neuroreview.io.maps import write_cluster_volume
from neuroreview.space import MNI152_2MM
from neuroreview.synthesis.regions import region_mask

runner = CliRunner()
TOPIC_MAPS = Path(__file__).resolve().parents[1] / "src" / "neuroreview" / "data" / "neurosynth"
TOPIC_MAPS = TOPIC_MAPS / "topic_maps.npz"


def invoke(*args):
    return runner.invoke(app, ["decode", *map(str, args)], env={"COLUMNS": "200"})


def save(volume: np.ndarray, path: Path, affine: np.ndarray = MNI152_2MM.affine) -> Path:
    nibabel.Nifti1Image(volume, affine).to_filename(path)
    return path


def first_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def test_region_by_canonical_name_shows_the_top_topics():
    result = invoke("--region", "ventral striatum", "--top", "3")
    assert result.exit_code == 0, result.output
    assert "Ventral striatum / nucleus accumbens (ventral_striatum, 306 voxels)" in result.output
    assert "of 14,371 Neurosynth studies report a focus in it" in result.output
    assert "7: reward, feedback, motivation" in result.output
    assert result.output.count("│ 4 │") == 0  # --top 3
    assert "Open Database License" in result.output


def test_out_writes_the_full_ranked_table(tmp_path):
    out = tmp_path / "topics.tsv"
    result = invoke("--region", "sgACC", "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, sep="\t")
    assert list(table.columns) == list(COLUMNS)
    assert len(table) == 50 and table["rank"].tolist() == list(range(1, 51))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["topics.tsv"]  # no temporary left


def test_aal3_label_keeps_its_side():
    left = invoke("--region", "Amygdala_L", "--top", "3")
    assert left.exit_code == 0, left.output
    assert "Amygdala_L (AAL3, 220 voxels)" in left.output
    assert "26: emotion" in left.output
    pattern = invoke("--region", "ACC_sub_*", "--top", "1")
    assert "ACC_sub_* (AAL3, 300 voxels)" in pattern.output


def test_mask_image_on_another_grid_is_resampled(tmp_path):
    amygdala = region_mask("amygdala")
    on_grid = save(amygdala.astype(np.uint8), tmp_path / "amygdala.nii.gz")
    direct = invoke("--mask", on_grid, "--top", "3")
    assert direct.exit_code == 0, direct.output
    assert "468 voxels" in direct.output and "26: emotion" in direct.output
    # The same mask at 1 mm (each voxel split in eight) comes back to the same 2 mm voxels.
    fine = np.repeat(np.repeat(np.repeat(amygdala, 2, 0), 2, 1), 2, 2).astype(np.uint8)
    affine = MNI152_2MM.affine.copy()
    affine[:3, :3] = np.eye(3)
    affine[:3, 3] -= 0.5
    resampled = invoke("--mask", save(fine, tmp_path / "fine.nii.gz", affine), "--top", "3")
    assert resampled.exit_code == 0, resampled.output
    assert "468 voxels" in resampled.output


def test_cluster_of_an_analyze_folder(tmp_path):
    volume = np.zeros(MNI152_2MM.shape, dtype=np.int16)
    volume[region_mask("amygdala")] = 1
    volume[region_mask("ventral_striatum")] = 2
    write_cluster_volume(volume, MNI152_2MM, tmp_path / "clusters.nii.gz")
    result = invoke("--clusters", tmp_path, "--cluster", "2", "--top", "1")
    assert result.exit_code == 0, result.output
    assert f"cluster 2 of {tmp_path}" in result.output and "7: reward" in result.output
    line = first_error_line(invoke("--clusters", tmp_path, "--cluster", "3"))
    assert "no cluster 3 (this image has clusters 1, 2)" in line
    line = first_error_line(invoke("--clusters", tmp_path))
    assert "say which cluster with --cluster N" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give exactly one of MAP, --region, --mask or --clusters"),
        (("map.nii.gz", "--region", "amygdala"), "(got MAP and --region)"),
        (("--cluster", "1"), "--cluster needs --clusters DIR"),
        (("--region", "amygdala", "--top", "0"), "--top must be 1 or more"),
        (("--region", "nowhere"), "unknown region 'nowhere'"),
        (("--region", "default mode"), "default_mode) cannot be decoded"),
        (("--mask", "missing.nii.gz"), "missing.nii.gz: no such file"),
        (("--clusters", "."), "clusters.nii.gz: not found"),
        (("missing.nii.gz",), "missing.nii.gz"),
    ],
)
def test_errors_are_one_line_and_exit_2(args, message):
    assert message in first_error_line(invoke(*args))


def test_empty_and_four_d_images_are_refused(tmp_path):
    empty = save(np.zeros(MNI152_2MM.shape, dtype=np.uint8), tmp_path / "empty.nii.gz")
    assert "has no voxels on the MNI152 2 mm grid" in first_error_line(invoke("--mask", empty))
    four = save(np.ones((*MNI152_2MM.shape, 2), dtype=np.uint8), tmp_path / "four.nii.gz")
    line = first_error_line(invoke("--mask", four))
    assert "four.nii.gz: the image is 4-D" in line
    junk = tmp_path / "junk.nii.gz"
    junk.write_bytes(b"not an image")
    assert "junk.nii.gz: cannot read the image" in first_error_line(invoke("--mask", junk))


def test_out_must_not_be_a_folder(tmp_path):
    line = first_error_line(invoke("--region", "amygdala", "--out", tmp_path))
    assert "is a folder" in line


def test_importing_the_cli_loads_no_decoder():
    code = (
        "import sys, neuroreview.cli; "
        "print(sorted(m for m in sys.modules if m.startswith('neuroreview.decode')))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert output.strip() == "[]"


@pytest.mark.skipif(not TOPIC_MAPS.is_file(), reason="topic_maps.npz is not built yet")
def test_map_is_decoded_by_spatial_correlation(tmp_path):
    xyz = MNI152_2MM.voxel_to_world(np.indices(MNI152_2MM.shape).reshape(3, -1).T)
    blob = sum(
        np.exp(-((xyz - np.array(c)) ** 2).sum(axis=1) / 72.0)
        for c in ((-10, 10, -8), (10, 10, -8))
    )
    image = save(blob.reshape(MNI152_2MM.shape).astype(np.float32), tmp_path / "vs.nii.gz")
    out = tmp_path / "map.tsv"
    result = invoke(image, "--top", "3", "--out", out)
    assert result.exit_code == 0, result.output
    assert "Topics whose maps resemble vs.nii.gz" in result.output
    assert "7: reward" in result.output
    table = pd.read_csv(out, sep="\t")
    assert list(table.columns) == ["rank", "topic", "label", "kind", "r"] and len(table) == 50
