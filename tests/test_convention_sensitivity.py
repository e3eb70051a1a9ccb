"""Convention sensitivity: the core rules by hand, and ``analyze --sensitivity`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from neuroreview.cbma.inputs import CoordinateSet
from neuroreview.cbma.sensitivity import jittered, survives, surviving_by_size
from neuroreview.cli import app

runner = CliRunner()

#: Eight experiments with foci near both anterior insulae: two clusters that survive.
SLEUTH = """// Reference=MNI
// Alpha et al., 2011
// Subjects=14
38 20 -2
-40 18 0
10 -60 40

// Beta et al., 2012
// Subjects=22
40 22 0
-38 20 -4

// Gamma et al., 2014
// Subjects=18
36 18 2
-42 16 2
-20 -80 -30

// Delta et al., 2015
// Subjects=30
42 20 -4
-38 22 0

// Epsilon et al., 2016
// Subjects=12
38 24 0
50 -40 30

// Zeta et al., 2018
// Subjects=25
40 18 -2
-40 20 -2

// Eta et al., 2019
// Subjects=16
-36 18 0
0 40 -10

// Theta et al., 2020
// Subjects=20
39 21 -1
-37 19 1
"""


def _coordinates() -> CoordinateSet:
    xyz = np.array([[0.0, 0.0, 0.0], [10.0, 20.0, 30.0], [-5.0, 5.0, 5.0]])
    return CoordinateSet.from_arrays(xyz, ["a", "a", "b"], {"a": 10, "b": 20})


def test_jitter_moves_each_focus_within_the_bound_reproducibly() -> None:
    base = _coordinates()
    one = jittered(base, 1.0, seed=3, draw=0)
    assert np.abs(one.xyz - base.xyz).max() <= 1.0
    assert np.abs(one.xyz - base.xyz).min() > 0
    assert np.array_equal(one.xyz, jittered(base, 1.0, seed=3, draw=0).xyz)
    assert not np.array_equal(one.xyz, jittered(base, 1.0, seed=3, draw=1).xyz)
    assert one.experiment_ids == base.experiment_ids
    assert np.array_equal(one.sample_sizes, base.sample_sizes)
    with pytest.raises(ValueError, match="jitter must be a positive number of mm"):
        jittered(base, 0.0, seed=3, draw=0)


def test_clusters_survive_by_their_size_against_the_null() -> None:
    stat = np.zeros((6, 6, 6))
    stat[1, 1, 1:4] = 2.0  # 3 voxels
    stat[4, 4, 4] = 2.0  # 1 voxel
    stat[4, 1, 1] = 0.5  # below the threshold
    mask = np.ones(stat.shape, dtype=bool)
    null = np.array([1.0, 1.0, 2.0, 2.0])  # p(size 3) = 1/4 (clipped), p(size 1) = 1
    kept = surviving_by_size(stat, 1.0, mask, null, alpha=0.3)
    assert kept.sum() == 3 and kept[1, 1, 2] and not kept[4, 4, 4]
    assert not surviving_by_size(stat, 1.0, mask, null, alpha=0.2).any()
    assert not surviving_by_size(
        np.zeros((3, 3, 3)), 1.0, np.ones((3, 3, 3), bool), null, 0.5
    ).any()
    assert survives(np.array([[1, 1, 1], [4, 4, 4]]), kept).tolist() == [True, False]


def _analyze(tmp_path: Path, *args: str) -> tuple[dict, str]:
    sleuth = tmp_path / "foci.txt"
    sleuth.write_text(SLEUTH)
    out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
    result = runner.invoke(
        app,
        ["analyze", str(sleuth), "--iterations", "300", "--seed", "2", "--out", str(out), *args],
    )
    assert result.exit_code == 0, result.output
    return json.loads((out / "analysis.json").read_text()), (out / "clusters.tsv").read_text()


def test_analyze_reports_how_often_each_cluster_survives(tmp_path: Path) -> None:
    record, table = _analyze(tmp_path, "--sensitivity", "--jitters", "5")
    found = record["convention_sensitivity"]
    assert found["conventions"] == ["nimare", "pyale", "gingerale"]
    assert found["jitters"] == 5 and found["jitter_mm"] == 1.0
    assert [c["survives_conventions"] for c in found["clusters"]] == ["3/3", "3/3"]
    assert [c["survives_jitters"] for c in found["clusters"]] == ["5/5", "5/5"]
    header, first, *_ = table.splitlines()
    assert header.split("\t")[-2:] == ["survives_conventions", "survives_jitters"]
    assert first.split("\t")[-2:] == ["3/3", "5/5"]
    assert "Convention sensitivity: every surviving cluster was tested" in record["methods"]
    assert record["timings_s"]["convention_sensitivity"] > 0
    # The same seed gives the same record, the check's own seed included.
    again, _ = _analyze(tmp_path, "--sensitivity", "--jitters", "5")
    assert again["convention_sensitivity"]["clusters"] == found["clusters"]
    assert again["convention_sensitivity"]["seed"] == found["seed"]


def test_jitter_far_beyond_precision_breaks_clusters(tmp_path: Path) -> None:
    """Foci moved by up to 25 mm no longer converge: the counts can fall, so they measure."""
    record, _ = _analyze(tmp_path, "--sensitivity", "--jitters", "4", "--jitter-mm", "25")
    counts = [c["survives_jitters"] for c in record["convention_sensitivity"]["clusters"]]
    assert any(int(c.split("/")[0]) < 4 for c in counts), counts


def test_without_the_option_nothing_is_rerun(tmp_path: Path) -> None:
    record, table = _analyze(tmp_path)
    assert "convention_sensitivity" not in record
    assert "survives_jitters" not in table.splitlines()[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--method", "mkda"), "--sensitivity tests the clusters that survive ALE's"),
        (("--no-fwe",), "needs --method ale and the Monte Carlo (not --no-fwe)"),
        (("--jitters", "-1"), "--jitters must be 0 or more, got -1"),
        (("--jitter-mm", "0"), "--jitter-mm must be positive, got 0"),
    ],
)
def test_impossible_sensitivity_requests_are_refused(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    sleuth = tmp_path / "foci.txt"
    sleuth.write_text(SLEUTH)
    out = tmp_path / "out"
    result = runner.invoke(app, ["analyze", str(sleuth), "--sensitivity", *args, "--out", str(out)])
    assert result.exit_code != 0
    assert message in result.output
    assert not out.exists()


def test_the_statistic_of_moved_foci_is_a_refits() -> None:
    """Jitters read the ALE of moved foci without refitting: the same values as a refit."""
    from cbma_data import pain_case
    from neuroreview.cbma.ale import ALE

    coordinates = pain_case().coordinates
    estimator = ALE()
    fitted = estimator.fit(coordinates)
    assert np.array_equal(estimator.statistic_of(coordinates), fitted.get_map("stat"))
    moved = jittered(coordinates, 1.0, seed=4, draw=0)
    assert np.array_equal(estimator.statistic_of(moved), ALE().fit(moved).get_map("stat"))
    other = CoordinateSet.from_arrays(coordinates.xyz[:3], ["x", "x", "y"], {"x": 10, "y": 10})
    with pytest.raises(ValueError, match="takes the fitted experiments' foci"):
        estimator.statistic_of(other)
