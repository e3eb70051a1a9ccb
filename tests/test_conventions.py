"""Conventions as a user meets them: the presets, single choices, ``analyze --convention``,
``--mask FILE``, ``run --convention`` / ``review.toml``, and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel
import numpy as np
import pytest
from typer.testing import CliRunner

from neuroreview.cbma.conventions import GINGERALE, NIMARE, PYALE, Placement, convention
from neuroreview.cli import app
from neuroreview.errors import NeuroreviewError
from neuroreview.io.masks import read_mask
from neuroreview.pipeline.config import ReviewConfig
from neuroreview.space import MNI152_2MM
from neuroreview.space.transforms import TransformMethod

runner = CliRunner()

SLEUTH = """// Reference=Talairach
// Alpha et al., 2011
// Subjects=14
37 21 -3
-41 17 1

// Beta et al., 2012
// Subjects=22
41 23 1
-39 19 -5
"""


def test_presets_hold_each_tools_choices() -> None:
    assert (NIMARE.talairach, NIMARE.talairach_round_mm, NIMARE.placement, NIMARE.kernel) == (
        TransformMethod.LANCASTER_POOLED,
        False,
        Placement.ROUND,
        "nimare",
    )
    assert (PYALE.talairach, PYALE.talairach_round_mm, PYALE.placement, PYALE.kernel) == (
        TransformMethod.LANCASTER_SPM,
        True,
        Placement.CEIL,
        "pyale",
    )
    assert GINGERALE.placement is Placement.EXACT
    assert convention("pyale") is PYALE
    with pytest.raises(ValueError, match="unknown convention 'fsl'; choose nimare, pyale"):
        convention("fsl")


def test_a_single_choice_overrides_and_renames() -> None:
    changed = PYALE.with_choices(placement="round")
    assert changed.name == "pyale+custom" and changed.placement is Placement.ROUND
    assert changed.talairach is TransformMethod.LANCASTER_SPM
    assert PYALE.with_choices(placement="ceil") is PYALE  # nothing changed, name kept
    with pytest.raises(ValueError, match="placement cannot be 'up'; choose 'round', 'ceil'"):
        PYALE.with_choices(placement="up")
    with pytest.raises(ValueError, match="talairach_round_mm must be true or false"):
        PYALE.with_choices(talairach_round_mm="yes")
    assert "with choices changed from them" in changed.describe()


def test_talairach_foci_are_rounded_only_under_pyale() -> None:
    tal = [[37.0, 21.0, -3.0]]
    rounded = PYALE.to_mni(tal, "TAL")
    assert np.array_equal(rounded, np.round(rounded))
    exact = PYALE.with_choices(talairach_round_mm=False).to_mni(tal, "TAL")
    assert np.abs(exact - rounded).max() <= 0.5 and not np.array_equal(exact, rounded)
    # pyALE's SPM matrix and NiMARE's pooled one put the focus about 0.5 mm apart here.
    assert np.linalg.norm(NIMARE.to_mni(tal, "TAL") - exact) > 0.3
    assert np.array_equal(PYALE.to_mni([[37.5, 1.0, 2.0]], "MNI"), [[37.5, 1.0, 2.0]])


def _mask_file(tmp_path: Path, data: np.ndarray, affine: np.ndarray, name: str = "m.nii") -> Path:
    path = tmp_path / name
    nibabel.save(nibabel.Nifti1Image(data, affine), path)
    return path


def test_masks_on_either_x_direction_are_read_the_same_way(tmp_path: Path) -> None:
    data = np.zeros(MNI152_2MM.shape, dtype=np.float32)
    data[10, 50, 40] = 0.5  # left hemisphere on our grid (x = -70)
    data[20, 50, 40] = 0.05
    ours = read_mask(_mask_file(tmp_path, data, MNI152_2MM.affine), 0.1)
    assert ours.sum() == 1 and ours[10, 50, 40]
    flipped_affine = MNI152_2MM.affine.copy()
    flipped_affine[0] = [-2.0, 0.0, 0.0, 90.0]
    # The same world voxel stored on pyALE's right-to-left grid sits at i = 90 - 10.
    flipped = np.zeros_like(data)
    flipped[80, 50, 40] = 0.5
    assert np.array_equal(
        read_mask(_mask_file(tmp_path, flipped, flipped_affine, "f.nii"), 0.1), ours
    )
    assert read_mask(_mask_file(tmp_path, data, MNI152_2MM.affine), 0.0).sum() == 2


def test_bad_masks_are_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(NeuroreviewError, match="nope.nii: no such mask file"):
        read_mask(tmp_path / "nope.nii")
    small = _mask_file(tmp_path, np.ones((10, 10, 10), dtype=np.float32), np.eye(4), "s.nii")
    with pytest.raises(
        NeuroreviewError,
        match=r"s.nii: the mask is 10x10x10 voxels; it must be on the MNI152 2 mm grid \(91x109x91\)",
    ):
        read_mask(small)
    shifted = MNI152_2MM.affine.copy()
    shifted[0, 3] += 4
    wrong = _mask_file(tmp_path, np.ones(MNI152_2MM.shape, dtype=np.float32), shifted, "w.nii")
    with pytest.raises(
        NeuroreviewError, match="w.nii: the mask's affine is not the MNI152 2 mm grid's"
    ):
        read_mask(wrong)
    empty = _mask_file(
        tmp_path, np.zeros(MNI152_2MM.shape, dtype=np.float32), MNI152_2MM.affine, "e.nii"
    )
    with pytest.raises(NeuroreviewError, match="e.nii: no voxel of the mask is above 0"):
        read_mask(empty)
    text = tmp_path / "t.nii"
    text.write_text("not an image")
    with pytest.raises(NeuroreviewError, match="t.nii: not a NIfTI image"):
        read_mask(text)


def _analyze(tmp_path: Path, *args: str):
    sleuth = tmp_path / "foci.txt"
    sleuth.write_text(SLEUTH)
    out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
    result = runner.invoke(app, ["analyze", str(sleuth), "--no-fwe", "--out", str(out), *args])
    return result, out


def test_analyze_records_and_describes_the_convention(tmp_path: Path) -> None:
    result, out = _analyze(tmp_path, "--convention", "pyale")
    assert result.exit_code == 0, result.output
    record = json.loads((out / "analysis.json").read_text())
    assert record["convention"] == {
        "name": "pyale",
        "talairach": "lancaster_spm",
        "talairach_round_mm": True,
        "placement": "ceil",
        "kernel": "pyale",
        "histogram": "pyale",
        "null_clusters": "unmasked",
        "cluster_cutoff": "percentile",
        "cluster_centre": "median",
    }
    assert record["estimator"]["placement"] == "ceil"
    assert "followed pyALE's conventions (neuroreview convention 'pyale')" in record["methods"]
    assert "rounded to whole millimetres" in record["methods"]
    result, out = _analyze(
        tmp_path, "--convention", "pyale", "--no-talairach-round-mm", "--placement", "round"
    )
    record = json.loads((out / "analysis.json").read_text())
    assert record["convention"]["name"] == "pyale+custom"
    assert record["convention"]["placement"] == "round"
    result, out = _analyze(tmp_path)
    record = json.loads((out / "analysis.json").read_text())
    assert record["convention"]["name"] == "nimare"
    assert "followed NiMARE's conventions" in record["methods"]


def test_pyale_convention_changes_the_map_of_talairach_foci(tmp_path: Path) -> None:
    _, nimare = _analyze(tmp_path)
    _, pyale = _analyze(tmp_path, "--convention", "pyale")
    a = np.asanyarray(nibabel.load(nimare / "stat.nii.gz").dataobj)
    b = np.asanyarray(nibabel.load(pyale / "stat.nii.gz").dataobj)
    peak_a = np.unravel_index(np.argmax(a), a.shape)
    peak_b = np.unravel_index(np.argmax(b), b.shape)
    assert peak_a != peak_b or not np.allclose(a, b, atol=1e-4)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--convention", "fsl"), "unknown convention 'fsl'; choose nimare, pyale, gingerale"),
        (("--placement", "up"), "--placement cannot be 'up'; choose 'round', 'ceil', 'exact'"),
        (("--ale-kernel", "big"), "--ale-kernel cannot be 'big'; choose 'nimare', 'pyale'"),
        (
            ("--cluster-cutoff", "half"),
            "--cluster-cutoff cannot be 'half'; choose 'p_value', 'percentile'",
        ),
        (("--method", "kda", "--cluster-centre", "median"), "--cluster-centre applies to ALE only"),
        (("--method", "mkda", "--convention", "pyale"), "--convention pyale applies to ALE only"),
        (
            ("--subvoxel", "--placement", "ceil"),
            "--subvoxel is placement 'exact'; give one of them",
        ),
        (
            ("--ale-kernel", "pyale", "--voxel-exact"),
            "--voxel-exact does not apply to pyALE's kernel",
        ),
    ],
)
def test_bad_convention_options_are_refused_before_any_work(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result, out = _analyze(tmp_path, *args)
    assert result.exit_code != 0
    assert message in result.output
    assert not out.exists()


def test_analyze_with_a_mask_file_records_it(tmp_path: Path) -> None:
    from neuroreview.space.grid import brain_mask_array

    brain = brain_mask_array()
    data = np.zeros(MNI152_2MM.shape, dtype=np.float32)
    data[brain] = 0.5
    data[: MNI152_2MM.shape[0] // 2] = 0.0  # left half only: 0.05 or 0
    mask = _mask_file(tmp_path, data, MNI152_2MM.affine)
    result, out = _analyze(tmp_path, "--mask", str(mask), "--mask-threshold", "0.1")
    assert result.exit_code == 0, result.output
    record = json.loads((out / "analysis.json").read_text())
    expected = int((data > 0.1).sum())
    assert record["inputs"]["mask"]["n_voxels"] == expected
    assert record["inputs"]["mask"]["threshold"] == 0.1
    assert len(record["inputs"]["mask"]["sha256"]) == 64
    assert record["n_null_voxels"] == expected
    stat = np.asanyarray(nibabel.load(out / "stat.nii.gz").dataobj)
    assert not stat[: MNI152_2MM.shape[0] // 2].any()


def test_review_config_keeps_the_convention(tmp_path: Path) -> None:
    config = ReviewConfig(convention="pyale")
    assert 'convention = "pyale"' in config.to_toml()
    path = tmp_path / "review.toml"
    path.write_text(config.to_toml())
    assert ReviewConfig.from_toml(path).convention == "pyale"
    from neuroreview.pipeline.config import meta_analysis_settings

    assert meta_analysis_settings("ale", config).resolved_convention() is PYALE
    assert meta_analysis_settings("mkda", config).resolved_convention() is NIMARE
    with pytest.raises(
        NeuroreviewError, match="--convention: Input should be 'nimare', 'pyale' or 'gingerale'"
    ):
        ReviewConfig.from_options(None, {"convention": "spm"})


def test_pyale_cluster_rules_in_the_table(tmp_path: Path) -> None:
    """Percentile cutoff and median centres under --convention pyale, by hand from the files."""
    sleuth = tmp_path / "foci.txt"
    sleuth.write_text(CONVERGING)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "analyze",
            str(sleuth),
            "--convention",
            "pyale",
            "--iterations",
            "200",
            "--seed",
            "3",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    record = json.loads((out / "analysis.json").read_text())
    assert "95th percentile of the null's largest clusters" in record["clusters"]["selection"]
    import pandas as pd

    table = pd.read_csv(out / "clusters.tsv", sep="\t")
    main = table[~table["subpeak"]]
    assert len(main) >= 1
    ids = np.asanyarray(nibabel.load(out / "clusters.nii.gz").dataobj)
    for row in main.itertuples():
        voxels = np.argwhere(ids == row.cluster_id)
        mm = voxels @ MNI152_2MM.affine[:3, :3].T + MNI152_2MM.affine[:3, 3]
        assert [row.centre_x, row.centre_y, row.centre_z] == list(np.trunc(np.median(mm, axis=0)))
    # (The percentile rule itself is pinned to pyALE's in test_conventions_pyale.py.)


CONVERGING = """// Reference=MNI
// A
// Subjects=14
38 20 -2
-40 18 0

// B
// Subjects=22
40 22 0
-38 20 -4

// C
// Subjects=18
36 18 2
-42 16 2

// D
// Subjects=30
42 20 -4
-38 22 0

// E
// Subjects=12
38 24 0

// F
// Subjects=25
40 18 -2
-40 20 -2
"""


def test_failsafe_refuses_pyales_histogram(tmp_path: Path) -> None:
    sleuth = tmp_path / "foci.txt"
    sleuth.write_text(SLEUTH)
    out = tmp_path / "out"
    args = ["analyze", str(sleuth), "--iterations", "10", "--out", str(out)]
    result = runner.invoke(app, [*args, "--convention", "pyale", "--diagnostics", "failsafe"])
    assert result.exit_code != 0
    assert "--diagnostics failsafe recomputes NiMARE's null histogram" in result.output
    assert not out.exists()


def test_mkda_methods_name_only_the_choices_that_apply_to_spheres(tmp_path: Path) -> None:
    result, out = _analyze(tmp_path, "--method", "mkda")
    assert result.exit_code == 0, result.output
    methods = json.loads((out / "analysis.json").read_text())["methods"]
    assert "followed NiMARE's conventions (neuroreview convention 'nimare')" in methods
    assert "kernels were centred on the nearest voxel (half-way points to even)." in methods
    assert "ALE Gaussians" not in methods and "1e-5" not in methods
