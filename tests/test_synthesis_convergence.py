"""The convergence table on a hand-made corpus and a hand-made cluster volume with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from neuroreview.model import EffectSize, RegionFinding, Study
from neuroreview.space import MNI152_2MM
from neuroreview.synthesis.convergence import COLUMNS, collect_effects, convergence_table
from neuroreview.synthesis.effects import pool_effects
from neuroreview.synthesis.regions import region_mask
from neuroreview.synthesis.votes import count_votes


def finding(region, direction, g=None, variance=None, measure="glutamate"):
    effect = None if g is None else EffectSize(kind="g", value=g, variance=variance)
    return RegionFinding(region=region, direction=direction, measure=measure, effect_size=effect)


#: sgACC: 3 decreases (s1-s3), 1 no change (s4); amygdala: 2 increases; hippocampus, caudate: one
#: increase each; insula: one no change. s3 gives two sgACC glutamate effects (BA25 first).
CORPUS = [
    Study(
        id="s1",
        region_findings=[
            finding("sgACC", "decrease", -0.8, 0.10),
            finding("amygdala", "increase"),
            finding("left hippocampus", "increase"),
        ],
    ),
    Study(
        id="s2",
        region_findings=[
            finding("subgenual cingulate", "decrease", -0.5, 0.20),
            finding("amygdala", "increase"),
            finding("caudate", "increase"),
        ],
    ),
    Study(
        id="s3",
        region_findings=[
            finding("BA25", "decrease", -0.3, 0.05),
            finding("sgACC", "decrease", -0.9, 0.10),
        ],
    ),
    Study(
        id="s4",
        region_findings=[finding("sgacc", "no change"), finding("insula", "no change")],
    ),
    Study(
        id="s5",
        region_findings=[finding("mystery region", "increase"), finding("amygdala", "unknown")],
    ),
]


@pytest.fixture(scope="module")
def volume():
    """Cluster 1 is the whole sgACC, 2 the first ten hippocampus voxels, 3 five thalamus voxels;
    cluster 4 fills the caudate but is not in the cluster table, so it did not survive."""
    labelled = np.zeros(MNI152_2MM.shape, dtype=np.int32)
    labelled[region_mask("sgacc")] = 1
    hippocampus = np.argwhere(region_mask("hippocampus"))
    labelled[tuple(hippocampus[:10].T)] = 2
    thalamus = np.argwhere(region_mask("thalamus"))
    labelled[tuple(thalamus[:5].T)] = 3
    labelled[region_mask("caudate")] = 4
    return labelled


CLUSTERS = pd.DataFrame({"cluster_id": [1, 1, 2, 3], "peak_id": ["1", "1a", "2", "3"]})


def row(table, region):
    selected = table[table["region"] == region]
    assert len(selected) == 1
    return selected.iloc[0]


def test_votes_and_the_studies_behind_them():
    table = convergence_table(CORPUS)
    assert tuple(table.columns) == COLUMNS
    sgacc = row(table, "sgacc")
    assert (sgacc["increase"], sgacc["decrease"], sgacc["no_change"]) == (0, 3, 1)
    assert sgacc["n_studies"] == 4
    assert sgacc["decrease_studies"] == ("s1", "s2", "s3")
    assert sgacc["no_change_studies"] == ("s4",)
    assert sgacc["increase_studies"] == ()
    assert sgacc["p_sign"] == pytest.approx(stats.binomtest(0, 3, 0.5).pvalue)
    amygdala = row(table, "amygdala")
    assert amygdala["increase_studies"] == ("s1", "s2")  # s5's unknown direction does not vote
    assert math.isnan(row(table, "insula")["p_sign"])


def test_pooled_effect_equals_pool_effects_on_the_same_numbers():
    sgacc = row(convergence_table(CORPUS), "sgacc")
    expected = pool_effects([("s1", -0.8, 0.10), ("s2", -0.5, 0.20), ("s3", -0.3, 0.05)])
    assert sgacc["measure"] == "glutamate"
    assert sgacc["k"] == 3
    assert sgacc["effect_studies"] == ("s1", "s2", "s3")
    for column, value in (
        ("g", expected.estimate),
        ("ci_low", expected.ci_low),
        ("ci_high", expected.ci_high),
        ("i2", expected.i2),
    ):
        assert sgacc[column] == pytest.approx(value, abs=1e-12)


def test_a_second_effect_of_one_study_is_excluded_with_its_reason():
    evidence = collect_effects(CORPUS)
    assert [e[0] for e in evidence.inputs[("sgacc", "glutamate")]] == ["s1", "s2", "s3"]
    (excluded,) = evidence.exclusions
    assert (excluded.study_id, excluded.region) == ("s3", "sgacc")
    assert "second effect size" in excluded.reason


def test_single_effects_are_not_pooled_and_measures_are_kept_apart():
    corpus = [
        Study(id="a", region_findings=[finding("sgacc", "increase", 0.4, 0.1, measure="bold")]),
        Study(
            id="b",
            region_findings=[
                finding("sgacc", "increase", 0.6, 0.2, measure="bold"),
                finding("sgacc", "increase", 0.2, 0.1, measure="glx"),
            ],
        ),
        Study(id="c", region_findings=[finding("sgacc", "increase", 0.1, 0.1, measure="glx")]),
        Study(id="d", region_findings=[finding("insula", "increase", 0.5, 0.1, measure="bold")]),
    ]
    table = convergence_table(corpus)
    sgacc = table[table["region"] == "sgacc"].sort_values("family")
    # Votes and pools are kept apart by measure family: BOLD is activity, Glx neurochemistry.
    assert list(sgacc["family"]) == ["activity", "neurochemistry"]
    assert list(sgacc["measure"]) == ["bold", "glx"]
    assert list(sgacc["n_studies"]) == [2, 2]
    assert list(sgacc["increase_studies"]) == [("a", "b"), ("b", "c")]
    assert list(sgacc["effect_studies"]) == [("a", "b"), ("b", "c")]
    assert pd.isna(row(table, "insula")["g"])  # one study: nothing to pool
    only_glx = convergence_table(corpus, measure="glx")
    pooled = only_glx[(only_glx["region"] == "sgacc") & only_glx["measure"].notna()]
    assert list(pooled["measure"]) == ["glx"]


def test_coordinate_overlap_from_a_labelled_volume(volume):
    table = convergence_table(CORPUS, clusters=CLUSTERS, cluster_volume=volume)
    sgacc = row(table, "sgacc")
    assert (sgacc["clusters"], sgacc["cluster_ids"]) == (1, (1,))
    assert sgacc["cluster_voxels"] == region_mask("sgacc").sum()
    assert sgacc["cluster_percent"] == pytest.approx(100.0)
    hippocampus = row(table, "hippocampus")
    assert hippocampus["cluster_voxels"] == 10
    assert hippocampus["cluster_percent"] == pytest.approx(
        1000.0 / region_mask("hippocampus").sum()
    )
    caudate = row(table, "caudate")  # cluster 4 is not in the table: it did not survive
    assert (caudate["clusters"], caudate["cluster_voxels"]) == (0, 0)
    thalamus = row(table, "thalamus")  # no votes, but a surviving cluster: still a row
    assert (thalamus["clusters"], thalamus["n_studies"]) == (1, 0)
    assert "acc" not in set(table["region"])  # parents only repeat their children's overlap


def test_every_id_in_the_volume_survives_without_a_table(volume):
    caudate = row(convergence_table(CORPUS, cluster_volume=volume), "caudate")
    assert (caudate["clusters"], caudate["cluster_ids"]) == (1, (4,))


def test_rows_run_from_strongest_evidence(volume):
    table = convergence_table(CORPUS, clusters=CLUSTERS, cluster_volume=volume)
    # q ties at 1 for the four regions with directional votes; then studies (sgACC 4, amygdala 2);
    # hippocampus before caudate for its surviving cluster; no directional vote (insula) and no
    # votes at all (thalamus) last.
    assert (table["q_bh"].iloc[:4] == 1.0).all()
    assert list(table["region"]) == [
        "sgacc",
        "amygdala",
        "hippocampus",
        "caudate",
        "insula",
        "thalamus",
    ]


def test_q_orders_before_study_counts():
    corpus = [
        Study(id=f"up{i}", region_findings=[finding("insula", "increase")]) for i in range(6)
    ] + [
        Study(id=f"mixed{i}", region_findings=[finding("amygdala", direction)])
        for i, direction in enumerate(["increase", "decrease"] * 4)
    ]
    assert list(convergence_table(corpus)["region"]) == ["insula", "amygdala"]


def test_rolled_up_votes_give_parent_rows():
    table = convergence_table(CORPUS, votes=count_votes(CORPUS, roll_up=True))
    assert row(table, "acc")["decrease_studies"] == ("s1", "s2", "s3")
    assert pd.isna(row(table, "acc")["g"])  # effects stay at the region a finding names


def test_without_coordinates_the_cluster_columns_are_missing():
    table = convergence_table(CORPUS)
    assert table["clusters"].isna().all() and table["cluster_percent"].isna().all()


def test_bad_inputs_are_refused(volume):
    with pytest.raises(ValueError, match="not split by"):
        convergence_table(CORPUS, votes=count_votes(CORPUS, by=["population"]))
    with pytest.raises(ValueError, match="needs its labelled cluster volume"):
        convergence_table(CORPUS, clusters=CLUSTERS)
    with pytest.raises(ValueError, match="not in the volume"):
        convergence_table(CORPUS, clusters=pd.DataFrame({"cluster_id": [9]}), cluster_volume=volume)
    with pytest.raises(ValueError, match="shape"):
        convergence_table(CORPUS, cluster_volume=np.zeros((2, 2, 2), dtype=int))
    with pytest.raises(ValueError, match="integer"):
        convergence_table(CORPUS, cluster_volume=volume.astype(float))


def test_an_empty_corpus_gives_an_empty_table():
    table = convergence_table([])
    assert table.empty and tuple(table.columns) == COLUMNS
