"""Contrasts: `neuroreview compare` (subtraction, conjunction, chi-square) and the run's contrasts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from neuroreview.cli import app
from neuroreview.model import Analysis, Focus, Study
from neuroreview.synthesis.contrasts import INCREASES_VS_DECREASES, PATIENTS_VS_HEALTHY, split

runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def sleuth(path: Path, prefix: str, centre: tuple[int, int, int], n: int) -> Path:
    """n experiments, each a focus near ``centre`` and one elsewhere, seeded."""
    rng = np.random.default_rng(len(prefix) + n)
    lines = ["// Reference=MNI"]
    for i in range(n):
        near = [c + int(rng.integers(-3, 4)) for c in centre]
        far = [int(rng.integers(-40, 41)), int(rng.integers(-60, 41)), int(rng.integers(0, 41))]
        lines += [f"// {prefix}{i} et al., {2000 + i}: drug > placebo", f"// Subjects={14 + i}"]
        lines += [" ".join(map(str, near)), " ".join(map(str, far)), ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def two_files(tmp_path: Path) -> tuple[Path, Path]:
    return (
        sleuth(tmp_path / "insula.txt", "Ins", (40, 20, 0), 8),
        sleuth(tmp_path / "parietal.txt", "Par", (-40, -60, 40), 8),
    )


def test_subtraction_writes_nimare_named_maps_clusters_and_its_record(two_files, tmp_path):
    out = tmp_path / "sub"
    result = invoke(
        "compare",
        *two_files,
        "--iterations",
        500,
        "--seed",
        3,
        "--voxel-thresh",
        0.01,
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    assert (
        "subtraction: insula (8 experiments) vs parietal (8 experiments), seed 3" in result.output
    )
    for name in ("stat", "p", "z", "logp"):
        assert (out / f"{name}_desc-group1MinusGroup2.nii.gz").is_file()
    record = json.loads((out / "compare.json").read_text())
    assert [g["name"] for g in record["groups"]] == ["insula", "parietal"]
    assert (
        record["seed"] == 3 and record["iterations"] == 500 and record["ties"] == "float64 (exact)"
    )
    assert "500 permutations, seed 3" in record["methods_text"]
    clusters = pd.read_csv(out / "clusters.tsv", sep="\t")
    peaks = clusters[~clusters["subpeak"]]
    # The insula group converges at (40, 20, 0), the parietal group at (-40, -60, 40).
    first = peaks[peaks["direction"] == "insula > parietal"].iloc[0]
    second = peaks[peaks["direction"] == "parietal > insula"].iloc[0]
    assert abs(first.x - 40) <= 6 and abs(first.y - 20) <= 6 and first.peak_stat > 0
    assert abs(second.x + 40) <= 6 and abs(second.y + 60) <= 6 and second.peak_stat < 0
    assert record["n_clusters"] == len(peaks)


def test_the_same_seed_gives_the_same_maps_and_jobs_do_not_matter(two_files, tmp_path):
    import nibabel

    maps = []
    for jobs, name in ((1, "a"), (2, "b")):
        out = tmp_path / name
        result = invoke(
            "compare", *two_files, "--iterations", 200, "--seed", 5, "--jobs", jobs, "--out", out
        )
        assert result.exit_code == 0, result.output
        maps.append(np.asarray(nibabel.load(out / "z_desc-group1MinusGroup2.nii.gz").dataobj))
    assert np.array_equal(maps[0], maps[1])


def test_conjunction_and_chi_square(two_files, tmp_path):
    conj = invoke(
        "compare",
        *two_files,
        "--method",
        "conjunction",
        "--iterations",
        50,
        "--seed",
        1,
        "--out",
        tmp_path / "c",
    )
    assert conj.exit_code == 0, conj.output
    assert (tmp_path / "c" / "z_desc-conjunction.nii.gz").is_file()
    chi2 = invoke(
        "compare",
        *two_files,
        "--method",
        "chi2",
        "--iterations",
        50,
        "--seed",
        1,
        "--out",
        tmp_path / "k",
    )
    assert chi2.exit_code == 0, chi2.output
    assert (
        tmp_path / "k" / "z_desc-association_level-voxel_corr-FWE_method-montecarlo.nii.gz"
    ).is_file()
    record = json.loads((tmp_path / "k" / "compare.json").read_text())
    assert "label permutation" in record["threshold"]


def test_compare_refusals_name_the_group(two_files, tmp_path):
    one = sleuth(tmp_path / "one.txt", "One", (0, 40, 0), 1)
    small = invoke("compare", two_files[0], one, "--iterations", 10, "--out", tmp_path / "x")
    assert small.exit_code == 2
    assert "group 'one' has 1 experiment" in small.output
    same = invoke(
        "compare", two_files[0], two_files[0], "--b-name", "again", "--out", tmp_path / "y"
    )
    assert same.exit_code == 2
    assert "is in both group 'insula' and group 'again'" in same.output
    named = invoke("compare", two_files[0], two_files[0], "--out", tmp_path / "z")
    assert "both groups are named 'insula'" in named.output
    bad = invoke("compare", *two_files, "--method", "anova", "--out", tmp_path / "w")
    assert "unknown method 'anova'" in bad.output
    assert not any((tmp_path / n).exists() for n in "xyzw")


def study(sid: str, population: str, directions: list[str]) -> Study:
    analyses = [
        Analysis(id=f"a{i}", direction=d, n_subjects=20, foci=[Focus(x=0, y=0, z=0)])
        for i, d in enumerate(directions)
    ]
    return Study(id=sid, population=population, analyses=analyses)


def test_contrast_groups_are_split_as_experiments_and_held_to_the_minimum():
    studies = [
        study("p1", "mdd", ["increase", "decrease"]),
        study("p2", "trd", ["increase"]),
        study("h1", "healthy", ["decrease", "unknown"]),
    ]
    by_direction = split(INCREASES_VS_DECREASES, studies, minimum=2)
    assert [len(e) for e in by_direction.experiments] == [2, 2]
    assert by_direction.status == "run"
    by_population = split(PATIENTS_VS_HEALTHY, studies, minimum=2)
    # Patients: p1's increase and decrease (two experiments), p2's increase; healthy: h1's two.
    assert [len(e) for e in by_population.experiments] == [3, 2]
    strict = split(PATIENTS_VS_HEALTHY, studies, minimum=3)
    assert strict.status == "too few (patients 3, healthy volunteers 2; each group needs 3)"


@pytest.mark.slow
def test_a_run_whose_groups_are_large_enough_runs_its_contrasts(tmp_path):
    out = tmp_path / "run"
    result = invoke("run", "--out", out, "--min-experiments", 4, "--iterations", 100, "--seed", 2)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "contrasts" / "contrasts.tsv", sep="\t", keep_default_na=False)
    assert table["status"].tolist() == ["run", "run"]
    assert table[["k_a", "k_b"]].values.tolist() == [[7, 5], [11, 4]]
    record = json.loads((out / "contrasts" / "increases_vs_decreases" / "compare.json").read_text())
    assert record["seed"] == 2 and record["iterations"] == 100
    imputed = [g["sample_size_imputed"] for g in record["groups"]]
    assert any(i and i["experiments"] for i in imputed)  # a missing N got the pooled median
    html = (out / "report.html").read_text(encoding="utf-8")
    section = re.search(r'<section id="contrasts">.*?</section>', html, re.S).group(0)
    assert "2 of 2 did" in section
    assert section.count('data-source="contrasts/') == 3  # the table and two cluster tables


def test_groups_selected_in_the_store_by_population(tmp_path):
    from neuroreview.store import Repository

    rng = np.random.default_rng(4)

    def stored(sid: str, population: str, centre: tuple[int, int, int]) -> Study:
        foci = [Focus(x=c + int(rng.integers(-3, 4)), y=0, z=0) for c in (centre[0],)]
        foci[0] = Focus(x=foci[0].x, y=centre[1], z=centre[2])
        analysis = Analysis(id="a", direction="increase", n_subjects=20, foci=foci)
        return Study(id=sid, population=population, analyses=[analysis])

    studies = [stored(f"mdd{i}", "mdd", (40, 20, 0)) for i in range(4)]
    studies += [stored(f"hv{i}", "healthy", (-40, -60, 40)) for i in range(3)]
    db = tmp_path / "review.db"
    with Repository(db) as repository:
        repository.add_studies(studies)
    out = tmp_path / "sel"
    result = invoke(
        "compare", "--a-population", "mdd", "--b-population", "healthy", "--db", db,
        "--iterations", 100, "--seed", 1, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "subtraction: mdd (4 experiments) vs healthy (3 experiments), seed 1" in result.output
    record = json.loads((out / "compare.json").read_text())
    assert record["groups"][0]["selection"] == "store: population mdd"
    assert record["groups"][1]["study_ids"] == ["hv0", "hv1", "hv2"]


def test_a_group_is_a_file_or_a_selection_not_both(two_files, tmp_path):
    result = invoke("compare", *two_files, "--a-population", "mdd", "--out", tmp_path / "x")
    assert result.exit_code == 2
    assert (
        "group 'insula' is given as a file and as a store selection (population)" in result.output
    )
    unit = invoke("compare", *two_files, "--experiment-unit", "study", "--out", tmp_path / "y")
    assert "--experiment-unit 'study': choose group or analysis" in unit.output
