"""``neuroreview regions`` on a small store built here: tables, TSV files, exclusions, errors."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from neuroreview.cli import app
from neuroreview.model import EffectSize, RegionFinding, Study
from neuroreview.store import Repository
from neuroreview.synthesis.effects import pool_effects

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["regions", *map(str, args)], env={"COLUMNS": "200"})


def finding(region, direction, g=None, variance=None):
    effect = None if g is None else EffectSize(kind="g", value=g, variance=variance)
    return RegionFinding(region=region, direction=direction, measure="glx", effect_size=effect)


STUDIES = [
    Study(
        id="alpha",
        population="healthy",
        region_findings=[finding("sgACC", "decrease", -0.6, 0.1), finding("amygdala", "increase")],
    ),
    Study(
        id="beta",
        population="mdd",
        region_findings=[
            finding("subgenual ACC", "decrease", -0.2, 0.2),
            finding("BA25", "decrease", -0.4, 0.1),
            finding("mystery region", "increase"),
        ],
    ),
    Study(id="gamma", population="mdd", region_findings=[finding("sgacc", "no change")]),
]


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "store.db"
    with Repository(path) as repository:
        repository.add_studies(STUDIES)
    return path


def read_tsv(path):
    return pd.read_csv(path, sep="\t", keep_default_na=False)


def test_prints_both_tables_and_counts_exclusions(db):
    result = invoke("--db", db)
    assert result.exit_code == 0, result.output
    assert "3 studies from sqlite:///" in result.output
    assert "Votes: studies per region and direction" in result.output
    assert "Convergence: evidence per region and measure family, strongest first" in (result.output)
    assert "sgacc" in result.output and "amygdala" in result.output
    assert "2 excluded (1 effect not pooled, 1 unmapped region); --out DIR lists them" in (
        result.output
    )


def test_out_writes_five_tsv_files(db, tmp_path):
    out = tmp_path / "regions"
    result = invoke("--db", db, "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "convergence.tsv",
        "effects.tsv",
        "exclusions.tsv",
        "label_disagreements.tsv",
        "votes.tsv",
    ]
    effects = read_tsv(out / "effects.tsv")
    assert effects[["region", "measure", "study_id"]].values.tolist() == [
        ["sgacc", "glx", "alpha"],
        ["sgacc", "glx", "beta"],
    ]
    assert effects["g"].astype(float).tolist() == pytest.approx([-0.6, -0.2])
    votes = read_tsv(out / "votes.tsv").set_index("region")
    assert votes.loc["sgacc", ["increase", "decrease", "no_change", "n_studies"]].tolist() == [
        0,
        2,
        1,
        3,
    ]
    convergence = read_tsv(out / "convergence.tsv")
    assert convergence["region"].iloc[0] == "sgacc"
    sgacc = convergence.iloc[0]
    assert sgacc["decrease_studies"] == "alpha;beta"
    assert sgacc["effect_studies"] == "alpha;beta"
    expected = pool_effects([("alpha", -0.6, 0.1), ("beta", -0.2, 0.2)])
    assert float(sgacc["g"]) == pytest.approx(expected.estimate)
    exclusions = read_tsv(out / "exclusions.tsv")
    assert exclusions[["evidence", "study_id", "item"]].values.tolist() == [
        ["vote", "beta", "mystery region"],
        ["effect", "beta", "BA25 (glx)"],
    ]
    assert f"listed in {out / 'exclusions.tsv'}" in result.output
    assert not list(out.glob(".*.tmp"))


def test_by_population_and_roll_up(db, tmp_path):
    out = tmp_path / "split"
    result = invoke("--db", db, "--by", "population", "--roll-up", "--out", out)
    assert result.exit_code == 0, result.output
    votes = read_tsv(out / "votes.tsv")
    assert list(votes.columns[:3]) == ["population", "family", "region"]
    acc = votes[(votes["region"] == "acc") & (votes["population"] == "patients")].iloc[0]
    assert (acc["decrease"], acc["no_change"]) == (1, 1)
    convergence = read_tsv(out / "convergence.tsv")
    assert "population" not in convergence.columns  # one row per region, whatever --by says
    assert "acc" in set(convergence["region"])


def test_empty_store_is_one_line_and_exit_2(tmp_path):
    empty = tmp_path / "empty.db"
    Repository(empty).close()
    result = invoke("--db", empty)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: the store sqlite:///{empty} holds no studies; add some with "
        "`neuroreview import FILE`"
    ]


def test_missing_store_is_an_error_and_not_created(tmp_path):
    missing = tmp_path / "nowhere.db"
    result = invoke("--db", missing)
    assert result.exit_code == 2
    assert f"no store at {missing}" in result.output
    assert not missing.exists()


def test_builtin_without_a_shipped_corpus_says_so(monkeypatch):
    monkeypatch.setattr("neuroreview.io.builtin.load_builtin_corpus", lambda: None)
    result = invoke("--builtin")
    assert result.exit_code == 2
    assert "no built-in corpus ships with this version yet" in result.output


def test_builtin_corpus_is_used_when_shipped(monkeypatch):
    monkeypatch.setattr("neuroreview.io.builtin.load_builtin_corpus", lambda: STUDIES)
    result = invoke("--builtin")
    assert result.exit_code == 0, result.output
    assert "3 studies from the built-in ketamine corpus" in result.output


def test_db_and_builtin_together_are_refused(db):
    result = invoke("--db", db, "--builtin")
    assert result.exit_code == 2
    assert "either --db or --builtin" in result.output


def test_unknown_facet_is_refused(db):
    result = invoke("--db", db, "--by", "dose")
    assert result.exit_code == 2


def test_store_from_the_environment_and_builtin_still_wins(db, monkeypatch):
    result = runner.invoke(app, ["regions"], env={"COLUMNS": "200", "NEUROREVIEW_DB": str(db)})
    assert result.exit_code == 0, result.output
    assert "3 studies from sqlite:///" in result.output
    monkeypatch.setattr("neuroreview.io.builtin.load_builtin_corpus", lambda: STUDIES[:1])
    result = runner.invoke(app, ["regions", "--builtin"], env={"NEUROREVIEW_DB": str(db)})
    assert result.exit_code == 0, result.output
    assert "1 studies from the built-in ketamine corpus" in result.output


def analysis_folder(tmp_path):
    """What `neuroreview analyze` leaves: one cluster filling the subgenual ACC."""
    import numpy as np

    from neuroreview.io.maps import write_cluster_table, write_cluster_volume
    from neuroreview.space import MNI152_2MM
    from neuroreview.synthesis.regions import load_vocabulary, region_mask

    folder = tmp_path / "ale"
    folder.mkdir()
    sgacc = region_mask(load_vocabulary()["sgacc"], MNI152_2MM)
    write_cluster_volume(sgacc.astype(np.int16), MNI152_2MM, folder / "clusters.nii.gz")
    peak = MNI152_2MM.voxel_to_world(np.argwhere(sgacc)[0])
    table = pd.DataFrame(
        {"cluster_id": [1], "subpeak": [False], "x": [peak[0]], "y": [peak[1]], "z": [peak[2]]}
    )
    write_cluster_table(table, folder / "clusters.tsv")
    return folder, int(sgacc.sum())


def test_clusters_from_an_analysis_join_the_convergence_table(db, tmp_path):
    folder, n_voxels = analysis_folder(tmp_path)
    out = tmp_path / "regions"
    result = invoke("--db", db, "--clusters", folder, "--out", out)
    assert result.exit_code == 0, result.output
    sgacc = read_tsv(out / "convergence.tsv").set_index("region").loc["sgacc"]
    assert int(sgacc["clusters"]) == 1
    assert str(sgacc["cluster_ids"]) == "1"
    assert int(sgacc["cluster_voxels"]) == n_voxels
    assert float(sgacc["cluster_percent"]) == pytest.approx(100.0)


def test_clusters_folder_without_analysis_files_is_one_line(db, tmp_path):
    result = invoke("--db", db, "--clusters", tmp_path)
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        f"error: {tmp_path / 'clusters.tsv'}: not found; give a folder written by "
        "`neuroreview analyze`"
    )
