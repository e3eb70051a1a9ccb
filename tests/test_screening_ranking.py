"""Active-learning ranking and simulated screening (neuroreview.screening).

The metrics are checked by hand on tiny recall curves; the ranking on a toy corpus; one real
simulation runs on the shared labelled set of 899 neuroimaging meta-analyses.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from neuroreview.screening.ranking import MODELS, Ranker, Ranking, rank, since_last_include
from neuroreview.screening.simulation import (
    Simulation,
    recall_curve,
    rrf,
    simulate,
    simulate_random,
    wss,
)

SCREENING_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "screening"

KETAMINE = [
    "Ketamine fMRI study of antidepressant response in the prefrontal cortex",
    "Resting-state fMRI connectivity after a single ketamine infusion in depression",
    "Ketamine alters BOLD fMRI activation of the anterior cingulate",
    "Subanaesthetic ketamine and fMRI reward processing in healthy volunteers",
    "fMRI of the default mode network under ketamine: a placebo-controlled study",
]
CARDIOLOGY = [
    "Cardiology outcomes of statin therapy in coronary artery disease",
    "Atrial fibrillation and anticoagulation: a cardiology registry",
    "Heart failure hospitalisation after myocardial infarction in cardiology practice",
    "Blood pressure control and cardiology follow-up in hypertension",
    "Echocardiography of the left ventricle in cardiology clinics",
    "Coronary stents and cardiology guidelines for antiplatelet therapy",
]
TOY = KETAMINE + CARDIOLOGY  # indices 0-4 ketamine fMRI, 5-10 cardiology


# --- metrics by hand -------------------------------------------------------------------------


def test_recall_curve_counts_relevant_records_in_screening_order() -> None:
    assert recall_curve([False, True, False, True]) == [0.0, 0.5, 0.5, 1.0]
    with pytest.raises(ValueError, match="relevant"):
        recall_curve([False, False])


def test_wss_and_rrf_of_the_perfect_order() -> None:
    # 10 records, 2 relevant, screened first: recall 0.95 is reached after 2 records.
    curve = recall_curve([True, True] + [False] * 8)
    assert wss(curve, 0.95) == pytest.approx((10 - 2) / 10 - 0.05)  # 0.75
    assert wss(curve, 1.0) == pytest.approx(0.8)
    # floor(0.10 * 10) = 1 record screened: 1 of 2 relevant found.
    assert rrf(curve, 0.10) == pytest.approx(0.5)
    assert rrf(curve, 0.20) == pytest.approx(1.0)


def test_wss_and_rrf_of_the_worst_order() -> None:
    curve = recall_curve([False] * 8 + [True, True])
    assert wss(curve, 0.95) == pytest.approx(0.0 - 0.05)
    assert rrf(curve, 0.10) == 0.0
    assert rrf(curve, 0.80) == 0.0
    assert rrf(curve, 0.90) == pytest.approx(0.5)


def test_wss_and_rrf_of_a_mixed_order() -> None:
    # 20 records, 4 relevant, found at positions 1, 3, 6 and 12.
    labels = [False] * 20
    for position in (1, 3, 6, 12):
        labels[position - 1] = True
    curve = recall_curve(labels)
    # Recall 0.95 needs all 4 (3/4 = 0.75 < 0.95): 12 screened.
    assert wss(curve, 0.95) == pytest.approx((20 - 12) / 20 - 0.05)  # 0.35
    # Recall 0.75 is reached at the third relevant record, after 6.
    assert wss(curve, 0.75) == pytest.approx((20 - 6) / 20 - 0.25)  # 0.45
    # floor(0.10 * 20) = 2 screened: 1 of 4 found.
    assert rrf(curve, 0.10) == pytest.approx(0.25)
    assert rrf(curve, 0.05) == pytest.approx(0.25)  # 1 screened
    assert rrf(curve, 0.30) == pytest.approx(0.75)  # 6 screened
    with pytest.raises(ValueError):
        wss([], 0.95)


def test_simulation_metrics_leave_the_priors_out() -> None:
    # Two relevant and two irrelevant records, priors one of each: after them 2 records remain,
    # 1 relevant. Whatever the order, recall after the priors is [x, 1.0].
    labels = [True, False, True, False]
    sim = simulate_random(labels, seed=3)
    assert sim.n_priors == 2
    assert sim.n_relevant == 2
    assert [labels[i] for i in sim.order[:2]] == [True, False]
    after = recall_curve([labels[i] for i in sim.order[2:]])
    assert sim.wss95 == pytest.approx(wss(after))
    assert sim.rrf10 == 0.0  # floor(0.1 * 2) = 0 records screened
    assert sim.recall[0] == pytest.approx(0.5)
    assert sim.recall[-1] == 1.0
    assert sim.found_after(1) == 1
    assert sim.found_after(4) == 2
    assert sim.found_after(0) == 0


# --- ranking ---------------------------------------------------------------------------------


def test_ranking_puts_the_obvious_include_first() -> None:
    decided = [(0, True), (5, False)]
    for model in MODELS:
        ranking = rank(TOY, decided, model=model)
        assert ranking.trained
        assert sorted(ranking.order) == [i for i in range(len(TOY)) if i not in (0, 5)]
        assert len(ranking.scores) == len(ranking.order)
        assert ranking.scores == sorted(ranking.scores, reverse=True)
        # the four other ketamine fMRI texts come before every cardiology text
        assert set(ranking.order[:4]) == {1, 2, 3, 4}, model
    logistic = rank(TOY, decided, model="logistic")
    assert all(0.0 < s < 1.0 for s in logistic.scores)
    assert logistic.scores[0] > 0.5 > logistic.scores[-1]


def test_ties_are_broken_by_index() -> None:
    # Texts 2, 3 and 4 are identical, so their scores are equal: they come by index.
    texts = ["ketamine fMRI", "cardiology heart", "memory task", "memory task", "memory task"]
    ranking = rank(texts, [(0, True), (1, False)])
    tied = [i for i in ranking.order if i in (2, 3, 4)]
    assert tied == [2, 3, 4]
    assert ranking.scores[0] == ranking.scores[1] == ranking.scores[2]


def test_same_seed_same_ranking_and_different_seeds_differ_when_random() -> None:
    decided = [(0, True), (5, False), (6, False)]
    assert rank(TOY, decided, seed=7) == rank(TOY, decided, seed=7)
    assert rank(TOY, decided, model="svm", seed=7) == rank(TOY, decided, model="svm", seed=7)
    untrained = [rank(TOY, [(5, False)], seed=s).order for s in range(4)]
    assert untrained[0] == rank(TOY, [(5, False)], seed=0).order
    assert len({tuple(o) for o in untrained}) > 1
    # random baseline of a simulation: same seed, same order; different seeds differ
    labels = [i < 5 for i in range(len(TOY))]
    assert simulate_random(labels, seed=1) == simulate_random(labels, seed=1)
    assert simulate_random(labels, seed=1).order != simulate_random(labels, seed=2).order
    assert simulate(labels, TOY, seed=1) == simulate(labels, TOY, seed=1)


def test_untrained_fallback_is_a_seeded_permutation_with_zero_scores() -> None:
    for decided in ([], [(5, False), (6, False)], [(0, True)]):
        ranking = rank(TOY, decided, seed=3)
        assert ranking.trained is False
        assert sorted(ranking.order) == sorted(set(range(len(TOY))) - {i for i, _ in decided})
        assert ranking.scores == [0.0] * len(ranking.order)
        assert ranking.expected_remaining is None
        assert ranking.estimated_recall is None
    # one permutation of the pool: deciding a record removes it and keeps the others' order
    before = rank(TOY, [], seed=3).order
    after = rank(TOY, [(before[0], False)], seed=3).order
    assert after == before[1:]


def test_since_last_include_counts_decisions_after_the_last_include() -> None:
    assert since_last_include([]) == 0
    assert since_last_include([(5, False), (6, False)]) == 2
    assert since_last_include([(0, True)]) == 0
    assert since_last_include([(0, True), (5, False), (1, True), (6, False), (7, False)]) == 2
    ranking = rank(TOY, [(0, True), (5, False), (1, True), (6, False), (7, False)])
    assert ranking.since_last_include == 2
    assert rank(TOY, [(5, False), (6, False), (7, False)]).since_last_include == 3


def test_estimated_recall_is_found_over_found_plus_expected() -> None:
    decided = [(0, True), (1, True), (5, False), (6, False)]
    ranking = rank(TOY, decided)
    assert ranking.expected_remaining == pytest.approx(sum(ranking.scores))
    assert 0.0 < ranking.expected_remaining < len(ranking.order)
    assert ranking.estimated_recall == pytest.approx(2 / (2 + ranking.expected_remaining))
    assert 0.0 < ranking.estimated_recall <= 1.0
    # everything decided: nothing expected, recall estimate 1
    done = rank(TOY, [(i, i < 5) for i in range(len(TOY))])
    assert done.order == [] and done.expected_remaining == 0.0 and done.estimated_recall == 1.0
    # the SVM gives no probabilities, so no estimate
    svm = rank(TOY, decided, model="svm")
    assert svm.expected_remaining is None and svm.estimated_recall is None


def test_ranker_reuses_its_features_and_matches_rank() -> None:
    ranker = Ranker("logistic", seed=0).fit(TOY)
    decided = [(0, True), (5, False)]
    assert ranker.rank(decided) == rank(TOY, decided)
    assert isinstance(ranker.rank(decided), Ranking)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown model"):
        rank(TOY, [], model="naive_bayes")
    with pytest.raises(ValueError, match="outside"):
        rank(TOY, [(len(TOY), True)])
    with pytest.raises(ValueError, match="twice"):
        rank(TOY, [(0, True), (0, False)])
    with pytest.raises(RuntimeError, match="fit"):
        Ranker().rank([])
    with pytest.raises(ValueError, match="remain"):
        simulate_random([True, False, False])  # the only relevant record would be a prior
    with pytest.raises(ValueError, match="labels"):
        simulate([True, False], ["a"])


def test_importing_the_ranking_module_does_not_import_scikit_learn() -> None:
    code = (
        "import sys, neuroreview.screening.ranking, neuroreview.screening.simulation;"
        "print('sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_simulation_on_the_toy_corpus_finds_the_ketamine_texts_first() -> None:
    labels = [i < 5 for i in range(len(TOY))]
    sim = simulate(labels, TOY, seed=0)
    assert isinstance(sim, Simulation)
    assert sorted(sim.order) == list(range(len(TOY)))
    assert len(sim.recall) == len(TOY)
    # after the 2 priors the 4 remaining ketamine texts come first: recall 1 after 4 of 9
    assert all(labels[i] for i in sim.order[2:6])
    assert sim.wss95 == pytest.approx((9 - 4) / 9 - 0.05)
    assert sim.found_after(6) == 5


# --- a real simulation -----------------------------------------------------------------------


def _shared_set() -> tuple[list[str], list[list[str]]]:
    path = SCREENING_DATA / "neuro_meta_analyses.jsonl"
    if not path.is_file():
        pytest.skip(f"the shared screening set {path} is absent")
    texts, labels = [], []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            paper = json.loads(line)
            keywords = " ".join((paper.get("keywords") or "").split("\n"))
            parts = (paper.get("title"), paper.get("abstract"), keywords)
            texts.append(" ".join(p for p in parts if p))
            labels.append(paper["labels"])
    return texts, labels


def test_active_learning_beats_random_on_an_easy_label_of_the_shared_set() -> None:
    texts, paper_labels = _shared_set()
    assert len(texts) == 899
    labels = [any(lab == "algorithm-MKDA" for lab in labs) for labs in paper_labels]
    assert sum(labels) == 29
    model = simulate(labels, texts, seed=0)
    baseline = simulate_random(labels, seed=0)
    assert model.order[:2] == baseline.order[:2]  # same priors
    assert model.n_relevant == baseline.n_relevant == 29
    assert len(model.recall) == 899 and model.recall[-1] == 1.0
    # MKDA ("multilevel kernel density analysis") is named in 90% of its abstracts: the model
    # finds 95% of the 28 non-prior relevant records within the first fifth of the pool.
    assert model.wss95 > 0.6
    assert model.wss95 > baseline.wss95 + 0.4
    assert model.rrf10 > 0.6 > baseline.rrf10
