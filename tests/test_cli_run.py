"""``neuroreview run``: the whole review on a small synthetic corpus written here as tables.

The corpus has coordinate studies with foci around one point (so the meta-analyses find
something), studies the exposure selection leaves out for each reason, and region findings for
the region synthesis. Runs use 50 Monte Carlo iterations and one job to stay fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from neuroreview.cli import app
from neuroreview.io.tables import read_tables, write_tables
from neuroreview.model import Analysis, EffectSize, Exposure, Focus, RegionFinding, Study
from neuroreview.store import Repository
from neuroreview.synthesis.selection import select_studies
from report_data import RUN_STEPS

runner = CliRunner()
SLEUTH = Path(__file__).parent / "data" / "cli" / "two_studies.txt"
FAST = ("--iterations", "50", "--jobs", "1", "--no-sensitivity")  # tested in test_conventions
CBMA_FILES = ("analysis.json", "clusters.tsv", "clusters.nii.gz", "stat.nii.gz", "z.nii.gz")
REGION_FILES = ("votes.tsv", "convergence.tsv", "exclusions.tsv")


def invoke(*args):
    return runner.invoke(app, ["run", *map(str, args)], env={"COLUMNS": "200"})


def foci_near(point, seed, n=4):
    """``n`` foci within a few mm of ``point`` (MNI), the same for the same seed."""
    offsets = np.random.default_rng(seed).uniform(-4, 4, size=(n, 3))
    return [Focus(x=x, y=y, z=z) for x, y, z in np.asarray(point) + offsets]


def coordinate_study(i, exposure="single_dose", space="MNI", n_subjects=20, **fields):
    analysis = Analysis(
        id="a1",
        direction="increase",
        space=space,
        foci=foci_near((-4, 44, 2), seed=i),  # medial prefrontal cortex
    )
    return Study(
        id=f"coord{i}",
        population="healthy",
        modality="fmri_task",
        exposure=exposure,
        n_subjects=n_subjects,
        analyses=[analysis],
        **fields,
    )


def finding(region, direction, g=None, variance=None):
    effect = None if g is None else EffectSize(kind="g", value=g, variance=variance)
    return RegionFinding(region=region, direction=direction, measure="glx", effect_size=effect)


STUDIES = [
    *(coordinate_study(i) for i in range(4)),
    coordinate_study(4, exposure="repeated_course"),
    coordinate_study(5, provenance={"foci": "Neurosynth v0.7 (ODbL 1.0)"}),
    coordinate_study(6, exposure="chronic_use"),  # left out: exposure (unless included)
    coordinate_study(7, space="UNKNOWN"),  # left out: unknown space
    coordinate_study(8, exposure="unknown"),  # left out: exposure
    coordinate_study(9, n_subjects=None),  # no sample size: ALE imputes the median (20)
    Study(
        id="mrs1",
        population="mdd",
        modality="mrs",
        exposure="single_dose",
        region_findings=[finding("sgACC", "decrease", -0.6, 0.1), finding("amygdala", "increase")],
    ),
    Study(
        id="mrs2",
        population="mdd",
        modality="mrs",
        exposure="repeated_course",
        region_findings=[finding("subgenual ACC", "decrease", -0.3, 0.2), finding("bogus", "up")],
    ),
    Study(
        id="pet1",
        population="chronic_users",
        modality="pet",
        exposure="chronic_use",
        region_findings=[finding("striatum", "decrease")],
    ),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The corpus as the three TSV tables, written once for the module."""
    folder = tmp_path_factory.mktemp("corpus")
    return sorted(write_tables(STUDIES, folder, fmt="tsv"))


@pytest.fixture(scope="module")
def default_run(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    result = invoke(*(a for p in corpus for a in ("--corpus", p)), "--out", out, *FAST)
    assert result.exit_code == 0, result.output
    return out, result.output


def corpus_args(corpus):
    return [a for p in corpus for a in ("--corpus", p)]


def test_the_tables_read_back_as_the_corpus(corpus):
    assert read_tables(corpus) == STUDIES


def test_selection_leaves_out_each_study_with_its_reason():
    selection = select_studies(STUDIES, (Exposure.SINGLE_DOSE, Exposure.REPEATED_COURSE))
    reasons = {e["study_id"]: (e["reason"], e["detail"]) for e in selection.left_out}
    assert reasons == {
        "coord6": ("exposure", "chronic_use"),
        "coord7": ("unknown space", ""),
        "coord8": ("exposure", "unknown"),
        "mrs1": ("no coordinates", ""),
        "mrs2": ("no coordinates", ""),
        "pet1": ("no coordinates", ""),
    }
    assert [s.id for s in selection.coordinate] == [f"coord{i}" for i in (0, 1, 2, 3, 4, 5, 9)]
    # The region synthesis reviews every study of a chosen exposure, coordinates or not.
    assert {s.id for s in selection.reviewed} == {
        *(f"coord{i}" for i in (0, 1, 2, 3, 4, 5, 7, 9)),
        "mrs1",
        "mrs2",
    }


def test_writes_every_step_into_its_folder(default_run):
    out, _ = default_run
    for name in ("summary.json", "studies_by_modality_population.tsv", "neuroreview.db"):
        assert (out / name).is_file(), name
    for method in ("ale", "mkda"):
        for name in CBMA_FILES:
            assert (out / method / name).is_file(), f"{method}/{name}"
    for name in REGION_FILES:
        assert (out / "regions" / name).is_file(), name
    assert sorted(p.name for p in (out / "corpus").iterdir()) == [
        "foci.tsv",
        "region_findings.tsv",
        "studies.tsv",
    ]
    assert not list(out.glob(".*partial"))


def test_summary_records_steps_counts_seeds_and_timings(default_run):
    out, _ = default_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_studies"] == len(STUDIES)
    assert summary["settings"] == {
        "exposures": ["single_dose", "repeated_course", "unknown"],
        "iterations": 50,
        "seed": 0,
        "jobs": 1,
        "methods": ["ale", "mkda"],
        "min_experiments": 17,
    }
    steps = summary["steps"]
    assert list(steps) == RUN_STEPS
    assert all(step["status"] == "run" for step in steps.values())
    select = steps["select"]
    # A user's corpus reviews unknown exposure too (coord8): only chronic use is left out.
    assert select["left_out_by_reason"] == {
        "no coordinates": 3,
        "exposure": 1,
        "not a drug effect": 0,
        "unknown space": 1,
        "failed the coordinate check": 0,
    }
    assert select["n_coordinate_studies"] == 8 and select["n_experiments"] == 8
    assert select["n_foci"] == 32
    ale, mkda = steps["ale"], steps["mkda"]
    assert ale["n_experiments"] == 8 and ale["n_experiments_imputed"] == 1
    imputation = ale["sample_size_imputation"]
    assert imputation["experiments"] == ["coord9-a1"] and imputation["value"] == 20.0
    assert imputation["rule"] == "median" and imputation["n_known"] == 7
    # Every reported N is 20, so the smallest and largest known N change nothing.
    assert [
        (r["scenario"], r["imputed_n"], r["same_clusters"]) for r in imputation["sensitivity"]
    ] == [
        ("imputed", 20.0, True),
        ("smallest known N", 20.0, True),
        ("largest known N", 20.0, True),
    ]
    assert mkda["n_experiments"] == 8 and mkda["n_experiments_imputed"] == 0
    assert mkda["sample_size_imputation"] is None
    for step in (ale, mkda):
        assert step["seed"] == 0 and step["iterations"] == 50 and step["n_iters_run"] == 50
        assert step["seconds"] > 0 and "fwe_montecarlo" in step["timings_s"]
    regions = steps["regions"]
    assert regions["clusters_from"] == "ale" and regions["n_studies"] == 11
    assert regions["n_exclusions"] >= 1  # "bogus" is no region
    assert set(summary["timings_s"]) == set(steps)
    # One study's foci came from Neurosynth: its ODbL notice goes wherever they are used.
    assert "ODbL" in summary["attribution"]
    for method in ("ale", "mkda"):
        analysis = json.loads((out / method / "analysis.json").read_text())
        assert "ODbL" in analysis["attribution"]
        assert analysis["fwe"]["seed"] == 0 and analysis["fwe"]["n_iters_requested"] == 50
        assert analysis["n_experiments"] == steps[method]["n_experiments"]


def test_region_synthesis_joins_the_ale_clusters(default_run):
    out, _ = default_run
    convergence = pd.read_csv(out / "regions" / "convergence.tsv", sep="\t")
    votes = pd.read_csv(out / "regions" / "votes.tsv", sep="\t")
    assert "sgacc" in set(votes["region"])
    ale_clusters = pd.read_csv(out / "ale" / "clusters.tsv", sep="\t")
    # The clusters column is filled once a cluster volume is joined, empty otherwise.
    if len(ale_clusters):
        assert convergence["clusters"].notna().any()
    exclusions = pd.read_csv(out / "regions" / "exclusions.tsv", sep="\t")
    assert "bogus" in set(exclusions["item"].astype(str)) | set(exclusions["region"].astype(str))
    # Chronic use is not reviewed by default: its study's striatum vote is not counted.
    assert "pet1" not in ";".join(votes.astype(str).to_numpy().ravel())


def test_prints_crosstab_step_lines_and_where(default_run):
    out, output = default_run
    assert "Studies by modality x population:" in output
    assert "selection: 8 coordinate studies (8 experiments, 32 foci)" in output
    assert "of exposure single_dose or repeated_course or unknown" in output
    assert "5 left out (3 no coordinates, 1 exposure, 1 unknown space)" in output
    assert "ALE: 8 experiments (32 foci), 50 Monte Carlo iterations (seed 0)" in output
    assert (
        "1 experiment(s) without a sample size given the median N = 20, clusters unchanged at "
        "the smallest and largest reported N"
    ) in " ".join(output.split())
    assert "MKDA density: 8 experiments (32 foci)" in output
    assert "regions: 11 studies" in output
    assert "ODbL" in output
    assert f"results written to {out}/" in output


def test_same_seed_same_results_and_include_exposure(corpus, default_run, tmp_path):
    out, _ = default_run
    again = tmp_path / "again"
    result = invoke(
        *corpus_args(corpus), "--out", again, *FAST, "--include-exposure", "chronic_use"
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((again / "summary.json").read_text())
    select = summary["steps"]["select"]
    assert select["exposures"] == ["single_dose", "repeated_course", "unknown", "chronic_use"]
    assert select["left_out_by_reason"] == {
        "no coordinates": 3,
        "exposure": 0,
        "not a drug effect": 0,
        "unknown space": 1,
        "failed the coordinate check": 0,
    }
    assert summary["steps"]["mkda"]["n_experiments"] == 9
    assert summary["steps"]["regions"]["n_studies"] == 13
    # ALE's experiments are the same as the default run's except the chronic user study, so
    # compare a run with the same exposure: the same seed gives the same maps and clusters.
    same = tmp_path / "same"
    assert invoke(*corpus_args(corpus), "--out", same, *FAST).exit_code == 0
    for method in ("ale", "mkda"):
        first = (out / method / "clusters.tsv").read_text()
        assert (same / method / "clusters.tsv").read_text() == first
        assert (same / method / "z_level-voxel_corr-FWE_method-montecarlo.nii.gz").read_bytes() == (
            out / method / "z_level-voxel_corr-FWE_method-montecarlo.nii.gz"
        ).read_bytes()
    assert (same / "regions" / "convergence.tsv").read_text() == (
        out / "regions" / "convergence.tsv"
    ).read_text()


def test_too_few_experiments_skips_the_meta_analyses_with_a_reason(tmp_path):
    one = tmp_path / "one.txt"
    one.write_text("// Reference=MNI\n// Solo et al., 2020: task\n// Subjects=12\n1 2 3\n")
    out = tmp_path / "o"
    result = invoke("--corpus", one, "--out", out, *FAST)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    ale = summary["steps"]["ale"]
    assert ale["status"] == "skipped"
    assert ale["reason"] == "1 experiment(s) to meta-analyse, at least 2 are needed"
    assert summary["steps"]["mkda"]["status"] == "skipped"
    assert "ALE: skipped:" in result.output
    assert not (out / "ale").exists()
    assert summary["steps"]["regions"]["clusters_from"] is None
    assert "attribution" not in summary


def test_a_sleuth_corpus_is_analysed_although_it_records_no_exposure(tmp_path):
    """Sleuth has no exposure field: a user's studies of unknown exposure are reviewed."""
    out = tmp_path / "o"
    result = invoke("--corpus", SLEUTH, "--out", out, *FAST)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    select = summary["steps"]["select"]
    assert select["exposures"] == ["single_dose", "repeated_course", "unknown"]
    assert select["n_coordinate_studies"] == 2 and select["n_left_out"] == 0
    assert summary["steps"]["ale"]["status"] == "run"
    # the two experiments of one study (one subject group, no direction) pool into one
    assert summary["steps"]["ale"]["n_experiments"] == 2
    assert summary["steps"]["mkda"]["n_foci"] == 4
    assert "selection: 2 coordinate studies (3 experiments, 4 foci) of exposure " in result.output
    assert "single_dose or repeated_course or unknown" in result.output


def test_the_builtin_corpus_keeps_its_exposure_selection():
    from neuroreview.pipeline.config import review_exposures

    assert review_exposures((), own_corpus=False) == (
        Exposure.SINGLE_DOSE,
        Exposure.REPEATED_COURSE,
    )
    assert review_exposures((Exposure.CHRONIC_USE,), own_corpus=True) == (
        Exposure.SINGLE_DOSE,
        Exposure.REPEATED_COURSE,
        Exposure.UNKNOWN,
        Exposure.CHRONIC_USE,
    )


# --- carried over from test_cli.py: loading and the corpus summary -------------------------


def test_run_on_own_corpus_writes_summary(tmp_path):
    out = tmp_path / "out"
    result = invoke("--corpus", SLEUTH, "--out", out, *FAST)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_studies"] == 2 and summary["n_analyses"] == 3 and summary["n_foci"] == 4
    crosstab = (out / "studies_by_modality_population.tsv").read_text().splitlines()
    assert crosstab == ["modality\tunknown\ttotal", "unknown\t2\t2", "total\t2\t2"]
    with Repository(out / "neuroreview.db") as repo:
        assert repo.counts().studies == 2
        stored = repo.list_studies()
    # The corpus as loaded is written beside the results, as tables that read back whole.
    assert read_tables(sorted((out / "corpus").iterdir())) == stored
    assert "Studies by modality x population:" in result.output
    # A second run into an earlier run's folder needs --force, then starts from a fresh store
    # rather than failing on the studies already there.
    again = invoke("--corpus", SLEUTH, "--out", out, *FAST)
    assert again.exit_code == 2 and "holds an earlier run; use --force" in again.output
    assert invoke("--corpus", SLEUTH, "--out", out, *FAST, "--force").exit_code == 0
    with Repository(out / "neuroreview.db") as repo:
        assert repo.counts().studies == 2


def test_run_on_existing_store(tmp_path):
    db = tmp_path / "review.db"
    assert runner.invoke(app, ["import", str(SLEUTH), "--db", str(db)]).exit_code == 0
    result = invoke("--db", db, "--out", tmp_path / "o", *FAST)
    assert result.exit_code == 0, result.output
    assert "(studies_by_modality_population.tsv" in result.output
    assert not (tmp_path / "o" / "neuroreview.db").exists()
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["n_foci"] == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--db", "x.db", "--corpus", SLEUTH), "either --corpus files or --db"),
        (("--corpus", SLEUTH, "--iterations", "0"), "--iterations must be at least 1"),
        (("--corpus", SLEUTH, "--jobs", "0"), "Invalid value for '--jobs'"),
        (("--corpus", SLEUTH, "--seed", "-1"), "Invalid value for '--seed'"),
        (("--corpus", SLEUTH, "--sed", "1"), "No such option: --sed"),
        (("--corpus", SLEUTH, "--include-exposure", "weekly"), "--include-exposure: unknown"),
        (("--db", "missing.db"), "no store at missing.db"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args, "--out", tmp_path / "o")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not (tmp_path / "missing.db").exists()


def test_an_output_folder_that_is_not_a_run_is_refused(tmp_path):
    (tmp_path / "o" / "ale").mkdir(parents=True)
    (tmp_path / "o" / "ale" / "mine.txt").write_text("keep me")
    for extra in ((), ("--force",)):
        result = invoke("--corpus", SLEUTH, "--out", tmp_path / "o", *FAST, *extra)
        assert result.exit_code == 2
        assert "holds files that `neuroreview run` did not write (ale)" in result.output
        assert (tmp_path / "o" / "ale" / "mine.txt").read_text() == "keep me"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]
