"""Issue 13, deliverables 5, 7 and 8: imputed sample sizes with their sensitivity analysis, the
review's two questions asked separately, its claims set against the data, and what the corpus
is made of."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from neuroreview.cbma.imputation import (
    compare_clusters,
    impute_sample_sizes,
    parse_rule,
    with_missing_sizes,
)
from neuroreview.cbma.inputs import CBMAInputError, CoordinateSet
from neuroreview.cli import app
from neuroreview.io.tables import write_tables
from neuroreview.model import Analysis, Focus, RegionFinding, Study
from neuroreview.synthesis.claims import REVIEW_CLAIMS, claims_table
from neuroreview.synthesis.questions import DEPRESSED_AFTER, HEALTHY_ACUTE, ask
from neuroreview.synthesis.sources import describe_sources

runner = CliRunner()
FAST = ("--iterations", "50", "--seed", "0", "--jobs", "1")


def foci_near(point, seed, n=4):
    offsets = np.random.default_rng(seed).uniform(-4, 4, size=(n, 3))
    return [Focus(x=x, y=y, z=z) for x, y, z in np.asarray(point) + offsets]


def analysis(aid, direction, seed, n=None, group=None, point=(-4, 44, 2)):
    return Analysis(
        id=aid,
        direction=direction,
        n_subjects=n,
        subject_group=group,
        foci=foci_near(point, seed),
    )


def study(sid, population, timing, analyses=(), findings=(), n=20, **fields):
    return Study(
        id=sid,
        population=population,
        timing=timing,
        exposure=fields.pop("exposure", "single_dose"),
        modality=fields.pop("modality", "fmri_task"),
        n_subjects=n,
        analyses=list(analyses),
        region_findings=list(findings),
        **fields,
    )


# --- imputation ------------------------------------------------------------------------------


def sized_set(sizes):
    ids = [f"e{i}" for i in range(len(sizes))]
    xyz = np.array([[0.0, 0.0, 0.0]] * len(sizes))
    return CoordinateSet.from_arrays(xyz, ids, dict(zip(ids, sizes, strict=True)))


def test_median_imputation_fills_only_the_missing_sizes():
    coordinates = sized_set([10, None, 30, 20])
    imputed, imputation = impute_sample_sizes(coordinates, "median")
    assert imputed.sample_sizes.tolist() == [10.0, 20.0, 30.0, 20.0]
    assert imputation.experiments == ("e1",) and imputation.value == 20.0
    assert (imputation.smallest_known, imputation.largest_known) == (10.0, 30.0)
    assert imputation.scenarios() == [
        ("imputed", 20.0),
        ("smallest known N", 10.0),
        ("largest known N", 30.0),
    ]
    assert imputation.sentence() == (
        "1 experiment(s) reported no sample size; ALE gave them N = 20, the median of the 3 "
        "reported sample sizes (reported sample sizes range from 10 to 30)."
    )
    fixed, record = impute_sample_sizes(coordinates, 12.0)
    assert fixed.sample_sizes.tolist() == [10.0, 12.0, 30.0, 20.0] and record.rule == "fixed"
    assert with_missing_sizes(coordinates, 35).sample_sizes.tolist() == [10.0, 35.0, 30.0, 20.0]


def test_median_of_nothing_and_bad_rules_are_refused():
    with pytest.raises(CBMAInputError, match="no experiment reports a sample size"):
        impute_sample_sizes(sized_set([None, None]), "median")
    assert parse_rule(" Median ") == "median" and parse_rule("12") == 12.0
    for bad, message in (("0", "at least 1"), ("twelve", "expected 'median'"), ("nan", "at least")):
        with pytest.raises(ValueError, match=message):
            parse_rule(bad)


def test_cluster_comparison_by_hand():
    reference = np.array([0, 1, 1, 2, 0])
    other = np.array([0, 1, 0, 0, 3])
    # Surviving voxels 3 and 2, one shared: Dice 2 * 1 / 5; cluster 1 kept, cluster 2 lost.
    assert compare_clusters(reference, other) == {
        "n_clusters": 2,
        "n_cluster_voxels": 2,
        "dice_with_imputed": 0.4,
        "imputed_clusters_kept": "1 of 2",
        "same_clusters": False,
    }
    assert compare_clusters(reference, reference)["same_clusters"] is True
    assert compare_clusters(np.zeros(3, int), np.zeros(3, int))["dice_with_imputed"] == 1.0


@pytest.fixture(scope="module")
def sized_corpus(tmp_path_factory):
    """Six mPFC increases, N 12 to 40, and two without a sample size."""
    studies = [
        study(f"s{i}", "healthy", "during", [analysis("a1", "increase", i, n=n)], n=n)
        for i, n in enumerate([12, 16, 20, 24, 30, 40])
    ]
    studies += [
        study(f"u{i}", "healthy", "during", [analysis("a1", "increase", 10 + i)], n=None)
        for i in range(2)
    ]
    folder = tmp_path_factory.mktemp("sized")
    return sorted(write_tables(studies, folder, fmt="tsv"))


def analyze(*args):
    return runner.invoke(app, ["analyze", *map(str, args)], env={"COLUMNS": "200"})


def test_analyze_imputes_marks_and_tests_the_imputation(sized_corpus, tmp_path):
    out = tmp_path / "ale"
    result = analyze(*sized_corpus, "--impute-sample-size", "median", "--out", out, *FAST)
    assert result.exit_code == 0, result.output
    record = json.loads((out / "analysis.json").read_text())
    imputed = [e["id"] for e in record["experiments"] if e.get("sample_size_imputed")]
    assert imputed == ["u0-a1", "u1-a1"]
    sizes = {e["id"]: e["sample_size"] for e in record["experiments"]}
    assert sizes["u0-a1"] == sizes["u1-a1"] == 22.0 and sizes["s0-a1"] == 12.0
    imputation = record["sample_size_imputation"]
    assert (imputation["rule"], imputation["value"], imputation["n_known"]) == ("median", 22.0, 6)
    assert "2 experiment(s) reported no sample size; ALE gave them N = 22" in record["methods"]
    table = pd.read_csv(out / "imputation_sensitivity.tsv", sep="\t")
    assert table["scenario"].tolist() == ["imputed", "smallest known N", "largest known N"]
    assert table["imputed_n"].tolist() == [22.0, 12.0, 40.0]
    assert table["n_experiments_imputed"].tolist() == [2, 2, 2]
    assert table.loc[0, "dice_with_imputed"] == 1.0 and bool(table.loc[0, "same_clusters"])
    # analysis.json holds the same table as the file.
    assert [
        (r["scenario"], r["imputed_n"], r["n_clusters"]) for r in imputation["sensitivity"]
    ] == [(s, n, c) for s, n, c in table[["scenario", "imputed_n", "n_clusters"]].to_numpy()]
    assert imputation["sensitivity_file"] == "imputation_sensitivity.tsv"
    assert "2 experiment(s) reported no sample size; ALE gave them N = 22" in result.output
    assert "N = 12 (smallest known N):" in result.output


def test_analyze_without_imputation_still_refuses_missing_sizes(sized_corpus, tmp_path):
    result = analyze(*sized_corpus, "--out", tmp_path / "x", *FAST)
    assert result.exit_code == 2
    assert "2 experiment(s) report none (first: 'u0-a1')" in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--method", "mkda"), "--impute-sample-size applies to ALE only; MKDA needs no"),
        (("--fwhm", "10"), "with --fwhm or --sample-size every experiment already has one"),
        ((), "--impute-sample-size: expected 'median' or a sample size, got 'most'"),
    ],
)
def test_imputation_options_are_checked_first(sized_corpus, tmp_path, extra, message):
    rule = "median" if extra else "most"
    result = analyze(*sized_corpus, "--impute-sample-size", rule, *extra, "--out", tmp_path / "x")
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "x").exists()


# --- the review's questions ------------------------------------------------------------------


def question_corpus():
    return [
        # Healthy, during: two tables of one subject group are one experiment.
        study(
            "h1",
            "healthy",
            "during",
            [analysis("t1", "increase", 1, group="g"), analysis("t2", "increase", 2, group="g")],
        ),
        study("h2", "healthy", "just_after", [analysis("a1", "increase", 3)]),
        study("h3", "healthy", "during", [analysis("a1", "decrease", 4, point=(4, 20, -8))]),
        study("h4", "healthy", "during", [analysis("a1", "unknown", 5)]),
        study("h5", "healthy", "days", [analysis("a1", "increase", 6)]),
        study("d1", "trd", "days", [analysis("a1", "decrease", 7, point=(4, 20, -8))]),
        study("d2", "bipolar", "hours", [analysis("a1", "decrease", 8, point=(4, 20, -8))]),
        study("d3", "mdd", "unknown", [analysis("a1", "decrease", 9)]),
        study(
            "r1",
            "mdd",
            "days",
            findings=[RegionFinding(region="sgACC", direction="decrease", measure="bold")],
        ),
    ]


def test_each_question_splits_by_direction_and_counts_pooled_experiments():
    studies = question_corpus()
    coordinate = [s for s in studies if s.analyses]
    healthy = ask(HEALTHY_ACUTE, studies, coordinate, minimum=2)
    increase, decrease = healthy.parts
    assert increase.experiments == ["h1-t1+t2", "h2-a1"] and increase.status == "run"
    assert decrease.experiments == ["h3-a1"] and decrease.status == "too few (1)"
    assert {
        "study_id": "h4",
        "analysis_id": "a1",
        "reason": "direction unknown",
    } in healthy.left_out
    assert {"study_id": "h5", "reason": "timing days"} in healthy.left_out
    assert {"study_id": "d1", "reason": "population trd"} in healthy.left_out
    depressed = ask(DEPRESSED_AFTER, studies, coordinate, minimum=2)
    assert [p.k for p in depressed.parts] == [0, 2]
    assert depressed.parts[1].experiments == ["d1-a1", "d2-a1"]
    assert {"study_id": "d3", "reason": "timing unknown"} in depressed.left_out
    assert [s.id for s in depressed.region_studies] == ["r1"]
    assert ask(DEPRESSED_AFTER, studies, coordinate).parts[1].status == "too few (2)"
    with pytest.raises(ValueError, match="at least 2 experiments"):
        ask(HEALTHY_ACUTE, studies, coordinate, minimum=1)


@pytest.fixture(scope="module")
def question_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("questions")
    files = sorted(write_tables(question_corpus(), folder, fmt="tsv"))
    out = tmp_path_factory.mktemp("run") / "out"
    args = [a for p in files for a in ("--corpus", str(p))]
    result = runner.invoke(
        app,
        ["run", *args, "--out", str(out), "--min-experiments", "2", *FAST],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    return out, result.output


def test_run_meta_analyses_a_question_only_with_enough_experiments(question_run):
    out, output = question_run
    table = pd.read_csv(out / "questions" / "questions.tsv", sep="\t", keep_default_na=False)
    rows = table.set_index(["question", "direction"])
    assert rows.loc[("healthy_acute", "increase"), "status"] == "run"
    assert rows.loc[("healthy_acute", "increase"), "experiments"] == "h1-t1+t2;h2-a1"
    assert rows.loc[("healthy_acute", "decrease"), "status"] == "too few (1)"
    assert rows.loc[("healthy_acute", "decrease"), "experiments"] == "h3-a1"
    assert rows.loc[("depressed_after", "decrease"), "status"] == "run"
    assert rows.loc[("depressed_after", "increase"), "status"] == "too few (0)"
    left_out = rows.loc[("depressed_after", "decrease"), "coordinate_studies_left_out"]
    assert "d3 (timing unknown)" in left_out.split(";")
    for part in ("healthy_acute-increase", "depressed_after-decrease"):
        for method in ("ale", "mkda"):
            record = json.loads((out / "questions" / part / method / "analysis.json").read_text())
            assert record["inputs"]["direction"] == part
            assert record["n_experiments"] == 2
    assert not (out / "questions" / "healthy_acute-decrease").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"]["questions"]["minimum"] == 2
    assert summary["settings"]["min_experiments"] == 2
    assert "question Healthy volunteers, during or just after a single dose: increase: run" in (
        " ".join(output.split())
    )
    votes = pd.read_csv(out / "questions" / "depressed_after_votes.tsv", sep="\t")
    assert set(votes["region"]) >= {"sgacc"}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="table-questions"' in html and "too few (1)" in html
    assert 'id="table-claims"' in html


def test_min_experiments_below_two_is_refused(tmp_path):
    result = runner.invoke(app, ["run", "--out", str(tmp_path / "o"), "--min-experiments", "1"])
    assert result.exit_code == 2
    assert "--min-experiments" in result.output
    assert not (tmp_path / "o").exists()


# --- the review's claims ---------------------------------------------------------------------


def finding(region, direction, kind="drug_effect", measure="bold"):
    return RegionFinding(region=region, direction=direction, kind=kind, measure=measure)


def test_claims_count_studies_for_against_and_unknown_by_id():
    studies = [
        study("for1", "healthy", "during", findings=[finding("sgACC", "decrease")]),
        study(
            "for2",
            "mdd",
            "days",
            findings=[finding("subgenual ACC", "decrease", measure="functional_connectivity")],
        ),
        study("against1", "mdd", "days", findings=[finding("sgACC", "increase")]),
        study("flat1", "healthy", "during", findings=[finding("sgACC", "no_change")]),
        study("unknown1", "healthy", "during", findings=[finding("sgACC", "unknown")]),
        study("corr1", "mdd", "days", findings=[finding("sgACC", "decrease", "correlation")]),
        study("rew1", "mdd", "days", findings=[finding("caudate", "increase")]),
    ]
    table = claims_table(studies).set_index("claim")
    assert list(table.index) == [c.number for c in REVIEW_CLAIMS] == ["1", "2", "3a", "3b"]
    sgacc = table.loc["1"]
    assert (sgacc["n_for"], sgacc["n_against"], sgacc["n_unknown"]) == (2, 2, 1)
    assert sgacc["for"] == (
        "for1 (healthy: activity sgacc decrease); for2 (patients: connectivity sgacc decrease)"
    )
    assert sgacc["against"] == (
        "against1 (patients: activity sgacc increase); flat1 (healthy: activity sgacc no_change)"
    )
    assert sgacc["unknown"] == "unknown1 (healthy: sgacc)"
    assert sgacc["not_drug_effects"] == "corr1 (correlation sgacc)"
    reward = table.loc["3b"]
    assert (reward["n_for"], reward["n_against"], reward["for"]) == (
        1,
        0,
        "rew1 (patients: activity caudate increase)",
    )
    assert table.loc["2", "n_for"] == 0 and table.loc["2", "for"] == ""


def test_builtin_corpus_claims_name_the_sgacc_studies():
    from neuroreview.io.builtin import load_builtin_corpus

    table = claims_table(load_builtin_corpus()).set_index("claim")
    sgacc = table.loc["1"]
    for_ids = [item.split(" (")[0] for item in sgacc["for"].split("; ")]
    assert for_ids == ["deakin2008", "hoflich2017", "nugent2016", "scheidegger2012"]
    assert sgacc["against"].startswith("downey-lanicemine (patients: activity sgacc increase)")
    # Correlations (Lally, Li 2017) never count for or against.
    assert "li2017" in sgacc["not_drug_effects"] and "li2017" not in sgacc["for"]


# --- what the corpus is made of --------------------------------------------------------------


def test_sources_say_how_much_rests_on_abstracts_alone():
    studies = [
        study("a", "healthy", "during", provenance={"n_subjects": "abstract page https://x"}),
        study(
            "b",
            "healthy",
            "during",
            [analysis("a1", "increase", 1).model_copy(update={"notes": "Neurosynth v0.7 table"})],
            provenance={"title": "abstract page https://y"},
        ),
        study("c", "mdd", "days", provenance={"design": "table page PMC1 (https://z/table/t1)"}),
        study("d", "mdd", "days"),
    ]
    sources = describe_sources(studies)
    assert sources.abstract_only == ("a",) and sources.unsourced == ("d",)
    assert sources.to_dict()["n_by_source"] == {
        "neurosynth": 1,
        "published meta-analysis input": 0,
        "full-text table": 1,
        "abstract": 2,
    }
    assert sources.share_abstract_only == 0.25
