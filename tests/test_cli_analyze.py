"""``neuroreview analyze``: a whole meta-analysis from a Sleuth file or the store to a folder."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import nibabel
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from neuroreview.cli import app
from neuroreview.space import MNI152_2MM

runner = CliRunner()

#: Eight experiments; most report a focus near the right or left anterior insula, so ALE finds
#: two clusters that survive even 50 Monte Carlo iterations.
SLEUTH = """// Reference=MNI
// Alpha et al., 2011: drug > placebo
// Subjects=14
38 20 -2
-40 18 0
10 -60 40

// Beta et al., 2012: drug > placebo
// Subjects=22
40 22 0
-38 20 -4

// Gamma et al., 2014: drug > placebo
// Subjects=18
36 18 2
-42 16 2
-20 -80 -30

// Delta et al., 2015: drug > placebo
// Subjects=30
42 20 -4
-38 22 0

// Epsilon et al., 2016: drug > placebo
// Subjects=12
38 24 0
50 -40 30

// Zeta et al., 2018: drug > placebo
// Subjects=25
40 18 -2
-40 20 -2

// Eta et al., 2019: drug > placebo
// Subjects=16
-36 18 0
0 40 -10

// Theta et al., 2021: drug > placebo
// Subjects=20
38 20 4
-40 24 2
"""

NIMARE_MAPS = {
    "stat.nii.gz",
    "z.nii.gz",
    "p.nii.gz",
    "z_desc-size_level-cluster_corr-FWE_method-montecarlo.nii.gz",
    "z_level-voxel_corr-FWE_method-montecarlo.nii.gz",
}


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def left_over(folder: Path) -> list[str]:
    """Hidden staging folders an analysis could leave beside its output."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture(scope="module")
def sleuth_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("input") / "insula.txt"
    path.write_text(SLEUTH)
    return path


@pytest.fixture(scope="module")
def first_run(sleuth_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "ale"
    result = invoke("analyze", sleuth_file, "--iterations", 50, "--seed", 11, "--out", out)
    assert result.exit_code == 0, result.output
    return out


def outputs(folder: Path) -> dict[str, bytes]:
    """Every output file's bytes, analysis.json without its timings."""
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    record = json.loads(files.pop("analysis.json"))
    record.pop("timings_s")
    files["analysis.json"] = json.dumps(record, sort_keys=True).encode()
    return files


# --- a whole run ---------------------------------------------------------------------------


def test_writes_nimare_named_maps_on_the_grid(first_run) -> None:
    names = {p.name for p in first_run.iterdir()}
    assert names >= NIMARE_MAPS | {"clusters.tsv", "clusters.nii.gz", "analysis.json"}
    assert not left_over(first_run.parent)
    for name in names - {"clusters.tsv", "clusters.nii.gz", "analysis.json"}:
        image = nibabel.Nifti1Image.from_bytes(gzip.decompress((first_run / name).read_bytes()))
        assert image.shape == MNI152_2MM.shape, name
        np.testing.assert_array_equal(image.affine, MNI152_2MM.affine)
        assert image.get_data_dtype() == np.float32


def test_clusters_are_the_surviving_insula_clusters(first_run) -> None:
    table = pd.read_csv(first_run / "clusters.tsv", sep="\t", keep_default_na=False)
    main = table[~table.subpeak]
    assert list(main.cluster_id) == [1, 2]
    assert sorted(np.sign(main.x)) == [-1, 1]
    assert (main.p_corrected < 0.05).all()
    z = nibabel.load(first_run / "z.nii.gz").get_fdata()
    for row in main.itertuples():
        i, j, k = MNI152_2MM.world_to_voxel([row.x, row.y, row.z])
        assert z[i, j, k] == pytest.approx(row.peak_stat, rel=1e-5)
    # Every peak carries its AAL3 label, the one label_point gives at that coordinate.
    from neuroreview.space.atlas import label_point

    for row in table.itertuples():
        assert row.label == label_point([row.x, row.y, row.z]).text
    assert any(label.startswith("Insula") for label in main.label)
    # clusters.nii.gz holds each listed cluster's voxels under its id, sized as the table says.
    ids = np.asarray(nibabel.load(first_run / "clusters.nii.gz").dataobj)
    assert ids.dtype == np.int16
    assert sorted(np.unique(ids)) == [0, *main.cluster_id]
    for row in main.itertuples():
        assert int((ids == row.cluster_id).sum()) == row.size_voxels
        i, j, k = MNI152_2MM.world_to_voxel([row.x, row.y, row.z])
        assert ids[i, j, k] == row.cluster_id


def test_analysis_json_records_inputs_settings_versions_and_timings(first_run, sleuth_file):
    record = json.loads((first_run / "analysis.json").read_text())
    digest = hashlib.sha256(sleuth_file.read_bytes()).hexdigest()
    assert record["inputs"]["files"] == [
        {"path": str(sleuth_file), "sha256": digest, "bytes": sleuth_file.stat().st_size}
    ]
    assert (record["n_studies"], record["n_experiments"], record["n_foci"]) == (8, 8, 18)
    assert record["experiments"][0] == {
        "id": "Alpha et al., 2011-drug > placebo",
        "n_foci": 3,
        "sample_size": 14.0,
    }
    assert record["method"] == "ale"
    assert record["estimator"]["fwhm_rule"] == "experiment_sample_size"
    assert len(record["estimator"]["kernel_fwhm_mm"]) == 8
    assert record["null_mask"] == "brain"
    fwe = record["fwe"]
    # Two Monte Carlo threads by default.
    assert (fwe["seed"], fwe["n_iters_requested"], fwe["n_jobs"]) == (11, 50, 2)
    assert 1 <= fwe["n_iters_run"] <= 50
    assert fwe["voxel_thresh"] == 0.001
    assert record["clusters"]["n_clusters"] == 2
    assert "cluster-level" in record["clusters"]["selection"]
    assert set(record["maps"]) >= NIMARE_MAPS
    assert set(record["versions"]) >= {"neuroreview", "numpy", "scipy", "numba", "python"}
    assert set(record["timings_s"]) == {
        "read",
        "fit",
        "fwe_montecarlo",
        "fdr",
        "clusters",
        "write",
    }
    assert record["methods"].startswith("An activation likelihood estimation (ALE)")


def test_same_seed_gives_identical_files(first_run, sleuth_file, tmp_path) -> None:
    again = tmp_path / "again"
    result = invoke("analyze", sleuth_file, "--iterations", 50, "--seed", 11, "--out", again)
    assert result.exit_code == 0, result.output
    assert outputs(again) == outputs(first_run)


def test_two_jobs_give_the_same_files_as_one(first_run, sleuth_file, tmp_path) -> None:
    out = tmp_path / "two"
    args = ("--iterations", 50, "--seed", 11, "--jobs", 2, "--out", out)
    result = invoke("analyze", sleuth_file, *args)
    assert result.exit_code == 0, result.output
    mine, reference = outputs(out), outputs(first_run)
    assert mine.keys() == reference.keys()
    for name in mine.keys() - {"analysis.json"}:
        assert mine[name] == reference[name], name
    assert json.loads(mine["analysis.json"])["fwe"]["n_jobs"] == 2


def test_summary_names_clusters_peaks_and_folder(sleuth_file, tmp_path) -> None:
    out = tmp_path / "summary"
    result = invoke("analyze", sleuth_file, "--no-fwe", "--out", out)
    assert result.exit_code == 0, result.output
    assert "ALE on 8 experiments (18 foci), no FWE" in result.output
    assert "clusters at the uncorrected cluster-forming threshold" in result.output
    assert f"results written to {out}/" in result.output


def test_without_fwe_clusters_are_uncorrected_and_say_so(sleuth_file, tmp_path) -> None:
    out = tmp_path / "nofwe"
    result = invoke("analyze", sleuth_file, "--no-fwe", "--method", "mkda", "--out", out)
    assert result.exit_code == 0, result.output
    record = json.loads((out / "analysis.json").read_text())
    assert record["fwe"] is None
    assert record["clusters"]["selection"].startswith("uncorrected")
    assert not any("montecarlo" in name for name in record["maps"])
    table = pd.read_csv(out / "clusters.tsv", sep="\t", keep_default_na=False)
    assert "p_corrected" not in table.columns
    assert len(table) >= 1


def test_store_input_with_a_study_filter(sleuth_file, tmp_path) -> None:
    db = tmp_path / "review.db"
    assert invoke("import", sleuth_file, "--db", db).exit_code == 0
    out = tmp_path / "store"
    args = ("--study", "Alpha et al., 2011", "--study", "Beta et al., 2012", "--no-fwe")
    result = invoke("analyze", "--db", db, *args, "--method", "kda", "--out", out)
    assert result.exit_code == 0, result.output
    record = json.loads((out / "analysis.json").read_text())
    assert record["inputs"]["study_ids"] == ["Alpha et al., 2011", "Beta et al., 2012"]
    assert record["inputs"]["store"].endswith("review.db")
    assert (record["n_experiments"], record["n_foci"]) == (2, 5)


def test_store_direction_keeps_only_analyses_in_that_direction(tmp_path) -> None:
    tables = Path(__file__).parent / "data" / "tables"
    db = tmp_path / "review.db"
    assert invoke("import", *sorted(tables.glob("*.csv")), "--db", db).exit_code == 0
    out = tmp_path / "increase"
    args = ("--direction", "increase", "--method", "kda", "--no-fwe", "--out", out)
    result = invoke("analyze", "--db", db, *args)
    assert result.exit_code == 0, result.output
    record = json.loads((out / "analysis.json").read_text())
    assert [e["id"] for e in record["experiments"]] == ["example-2012-a1", "example-2019-main"]
    assert record["inputs"]["filters"] == {"direction": "increase"}


# --- the output folder ---------------------------------------------------------------------


def test_existing_folder_needs_force_and_force_replaces_it(first_run, sleuth_file, tmp_path):
    out = tmp_path / "twice"
    assert invoke("analyze", sleuth_file, "--no-fwe", "--out", out).exit_code == 0
    line = one_line_error(invoke("analyze", sleuth_file, "--no-fwe", "--out", out))
    assert line == f"error: {out} already exists; use --force to replace it"
    result = invoke("analyze", sleuth_file, "--no-fwe", "--method", "kda", "--out", out, "--force")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "analysis.json").read_text())["method"] == "kda"
    assert not left_over(tmp_path)


def test_force_never_replaces_a_folder_that_is_not_an_analysis(sleuth_file, tmp_path) -> None:
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.tex").write_text("years of work")
    line = one_line_error(invoke("analyze", sleuth_file, "--out", precious, "--force"))
    assert "holds no analysis.json" in line
    assert (precious / "chapter1.tex").read_text() == "years of work"


def test_a_failure_while_writing_leaves_no_folder(sleuth_file, tmp_path, monkeypatch) -> None:
    import neuroreview.io.maps as maps

    def broken(table):
        raise OSError("disk full")

    monkeypatch.setattr(maps, "cluster_table_tsv", broken)
    out = tmp_path / "broken"
    line = one_line_error(invoke("analyze", sleuth_file, "--no-fwe", "--out", out))
    assert line == "error: OSError: disk full (run with --debug for details)"
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        ("// Reference=MNI\n", (), "input.txt: holds no studies"),
        (None, ("--method", "sdm"), "unknown method 'sdm'; choose ale, mkda or kda"),
        (None, ("--null-mask", "wm"), "unknown null mask 'wm'"),
        (None, ("--radius", "8"), "--radius applies to MKDA density and KDA only, not ALE"),
        (None, ("--method", "kda", "--fwhm", "10"), "--fwhm applies to ALE only, not KDA"),
        (
            None,
            ("--method", "mkda", "--subvoxel"),
            "--subvoxel applies to ALE only, not MKDA density",
        ),
        (None, ("--fwhm", "10", "--sample-size", "20"), "give --fwhm or --sample-size, not both"),
        (None, ("--alpha", "5"), "--alpha must lie between 0 and 1"),
        (None, ("--iterations", "0"), "--iterations must be at least 1"),
        (None, ("--population", "healthy"), "--population selects studies in the store"),
        (None, ("--study", "Alpha et al., 2011"), "--study selects studies in the store"),
    ],
)
def test_bad_input_is_one_line_and_leaves_no_folder(content, options, message, tmp_path):
    source = tmp_path / "input.txt"
    source.write_text(SLEUTH if content is None else content)
    out = tmp_path / "out"
    line = one_line_error(invoke("analyze", source, *options, "--out", out))
    assert line.startswith("error: ") and message in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.txt"]


def test_ale_without_sample_sizes_names_the_options(tmp_path) -> None:
    foci = tmp_path / "foci.csv"
    foci.write_text("study_id,analysis_id,x,y,z,space\ns1,a,40,20,0,MNI\ns2,a,-40,20,0,MNI\n")
    line = one_line_error(invoke("analyze", foci, "--out", tmp_path / "out"))
    assert "2 experiment(s) report none (first: 's1-a')" in line
    assert "--sample-size N or --fwhm MM" in line
    assert not (tmp_path / "out").exists()
    fixed = invoke("analyze", foci, "--sample-size", 20, "--no-fwe", "--out", tmp_path / "out")
    assert fixed.exit_code == 0, fixed.output


def test_no_store_and_no_files_is_one_line(tmp_path) -> None:
    missing = tmp_path / "none.db"
    line = one_line_error(invoke("analyze", "--db", missing, "--out", tmp_path / "out"))
    assert line.startswith(f"error: no store at {missing}; give INPUT files")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_diagnostics_are_written_beside_the_clusters(sleuth_file, tmp_path) -> None:
    from neuroreview.cbma.diagnostics import contributions, focus_counter, jackknife
    from neuroreview.pipeline.analysis import read_files
    from neuroreview.pipeline.meta_analysis import perform
    from neuroreview.pipeline.settings import Settings, Timer

    out = tmp_path / "diag"
    asked = "jackknife,focus-counter,contribution,failsafe"
    result = invoke(
        "analyze",
        sleuth_file,
        "--iterations",
        50,
        "--seed",
        11,
        "--diagnostics",
        asked,
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    record = json.loads((out / "analysis.json").read_text())
    assert record["diagnostics"]["names"] == [
        "jackknife",
        "focus-counter",
        "contribution",
        "failsafe",
    ]
    assert record["diagnostics"]["failsafe"]["seed"] == 11
    clusters = pd.read_csv(out / "clusters.tsv", sep="\t")
    n_clusters = int((~clusters["subpeak"]).sum())
    focus = pd.read_csv(out / "focus_counter.tsv", sep="\t")
    assert list(focus.columns) == ["id"] + [f"PositiveTail {k}" for k in range(1, n_clusters + 1)]
    # The same tables as the core computes for the same fit and the analysis's cluster image.
    from neuroreview.cbma.experiments import build_experiments

    studies = read_files([sleuth_file], "auto", {}).studies
    coordinates, _ = build_experiments(studies)
    settings = Settings(
        "ale", "brain", None, None, None, False, False, True, 50, 11, 1, None, 0.001, 0.05
    )
    outcome = perform(coordinates, settings, Timer())
    expected = jackknife(outcome.result, outcome.cluster_ids).reset_index()
    written = pd.read_csv(out / "jackknife.tsv", sep="\t")
    assert written["id"].tolist() == expected["id"].tolist()
    np.testing.assert_allclose(written.iloc[:, 1:].to_numpy(), expected.iloc[:, 1:].to_numpy())
    counts = focus_counter(outcome.result, outcome.cluster_ids).reset_index()
    assert focus.iloc[:, 1:].to_numpy().tolist() == counts.iloc[:, 1:].to_numpy().tolist()
    shares = pd.read_csv(out / "contributions.tsv", sep="\t")
    assert (
        shares.groupby("cluster_id")["contribution_pct"].sum().round(6).tolist()
        == [100.0] * n_clusters
    )
    assert len(shares) == len(contributions(outcome.result, outcome.cluster_ids))
    failsafe = pd.read_csv(out / "failsafe.tsv", sep="\t")
    assert failsafe["seed"].tolist() == [11] * n_clusters


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--diagnostics", "bogus"), "--diagnostics: unknown 'bogus'"),
        (("--diagnostics", "failsafe", "--no-fwe"), "needs the Monte Carlo: drop --no-fwe"),
        (("--diagnostics", "failsafe", "--method", "mkda"), "fail-safe N is defined for ALE only"),
    ],
)
def test_diagnostics_refused_with_one_line(sleuth_file, tmp_path, options, message) -> None:
    result = invoke("analyze", sleuth_file, *options, "--out", tmp_path / "x")
    assert message in one_line_error(result)
    assert not (tmp_path / "x").exists()
