"""Active-learning ranking for title/abstract screening, as ASReview LAB does it.

Every record of the pool is turned into TF-IDF features once (word unigrams and bigrams,
sublinear term frequency, English stop words removed, fitted on the whole pool as ASReview does:
the vocabulary and document frequencies come from every record, decided or not, but no label
is used). After each decision a linear classifier is retrained on the records decided so far and
the undecided records are ranked by its score, most likely relevant first (ASReview's "max"
query strategy). Classes are weighted inversely to their frequency (``class_weight="balanced"``)
because includes are usually few.

Two classifiers are offered (:data:`MODELS`): ``"logistic"`` (``LogisticRegression``, scores
are probabilities) and ``"svm"`` (``LinearSVC``, scores are decision values). Until the
decisions hold at least one include and one exclude no classifier can be trained: the
undecided records then come in a seeded random order with scores 0.0.

The :class:`Ranking` also carries two stopping aids: how many decisions have been made since the
last include, and (logistic only) an estimate of the recall reached so far, found / (found +
expected), where "expected" is the sum of the predicted probabilities of the undecided records.
That estimate leans on the model's calibration, which class weighting and a small, biased
training set (the records screened first are the ones the model liked) both distort: it is an
aid to judgement, not a guarantee that the remaining records hold nothing relevant.

Use :func:`rank` for one ranking; a :class:`Ranker` keeps the features of a pool between calls
(``Ranker(model, seed).fit(texts)`` then ``.rank(decided)`` after each decision), which is what
a simulation or an interactive session should use. scikit-learn is imported only when features
are built, so importing this module is cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: The classifiers :func:`rank` accepts.
MODELS = ("logistic", "svm")

#: Inverse regularisation strength of the logistic model (TF-IDF rows are L2-normalised).
LOGISTIC_C = 5.0


@dataclass(frozen=True)
class Ranking:
    """The undecided records, most likely relevant first, and the stopping aids.

    ``order`` holds indices into the texts given to :func:`rank`; ``scores[k]`` is the model's
    score of ``order[k]`` (a probability for ``"logistic"``, a decision value for ``"svm"``,
    0.0 when untrained). Equal scores are ordered by index.
    """

    order: list[int]
    scores: list[float]
    trained: bool
    since_last_include: int
    expected_remaining: float | None
    estimated_recall: float | None


def since_last_include(decided: Sequence[tuple[int, bool]]) -> int:
    """Decisions made after the most recent include (all of them when there is none)."""
    for back, (_, included) in enumerate(reversed(decided)):
        if included:
            return back
    return len(decided)


class Ranker:
    """Ranks a pool of texts by relevance, retrained on the decisions made so far.

    Parameters follow scikit-learn's convention: they are stored by ``__init__`` and used by
    :meth:`fit`, which vectorises the texts once, and :meth:`rank`, which retrains the
    classifier on ``decided`` and ranks the rest.

    ``model`` is one of :data:`MODELS`; ``seed`` is the classifier's ``random_state`` and seeds
    the random order used before the model can be trained; ``C`` is the inverse regularisation
    strength (``None``: :data:`LOGISTIC_C` for the logistic model, 1.0 for the SVM);
    ``min_df`` is the least number of texts a term must occur in to become a feature (1 is used
    instead when no term of a tiny pool reaches it).
    """

    def __init__(
        self,
        model: str = "logistic",
        seed: int = 0,
        *,
        C: float | None = None,
        min_df: int = 2,
    ) -> None:
        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
        self.model = model
        self.seed = seed
        self.C = C
        self.min_df = min_df

    def fit(self, texts: Sequence[str]) -> Ranker:
        """Build the TF-IDF features of every text (the whole pool); return ``self``."""
        import numpy as np
        import scipy.sparse as sp
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = [t or "" for t in texts]
        features = None
        for min_df in dict.fromkeys((self.min_df, 1)):
            vectorizer = TfidfVectorizer(
                ngram_range=(1, 2), sublinear_tf=True, min_df=min_df, stop_words="english"
            )
            try:
                features = vectorizer.fit_transform(texts)
                break
            except ValueError:  # no term left: an empty or tiny pool
                continue
        if features is None:  # not one word in the pool: every record looks the same
            features = sp.csr_matrix((len(texts), 1))
        self.features_ = features.tocsr()
        self.n_texts_ = len(texts)
        # The order used before a model can be trained: one permutation of the whole pool, so
        # that it stays the same as records get decided.
        self.random_order_ = np.random.default_rng(self.seed).permutation(len(texts))
        return self

    def _classifier(self) -> Any:
        if self.model == "logistic":
            from sklearn.linear_model import LogisticRegression

            return LogisticRegression(
                C=LOGISTIC_C if self.C is None else self.C,
                class_weight="balanced",
                solver="liblinear",
                random_state=self.seed,
            )
        from sklearn.svm import LinearSVC

        return LinearSVC(
            C=1.0 if self.C is None else self.C,
            class_weight="balanced",
            dual="auto",
            random_state=self.seed,
        )

    def _check(self, decided: Sequence[tuple[int, bool]]) -> None:
        if not hasattr(self, "features_"):
            raise RuntimeError("call fit(texts) before rank(decided)")
        seen: set[int] = set()
        for index, _ in decided:
            if not 0 <= index < self.n_texts_:
                raise ValueError(f"decided index {index} is outside 0..{self.n_texts_ - 1}")
            if index in seen:
                raise ValueError(f"record {index} is decided twice; give one decision per record")
            seen.add(index)

    def rank(self, decided: Sequence[tuple[int, bool]]) -> Ranking:
        """Retrain on ``decided`` ((index, included) in decision order) and rank the rest."""
        import numpy as np

        decided = [(int(i), bool(inc)) for i, inc in decided]
        self._check(decided)
        is_decided = np.zeros(self.n_texts_, dtype=bool)
        is_decided[[i for i, _ in decided]] = True
        n_found = sum(inc for _, inc in decided)
        quiet = since_last_include(decided)

        if n_found == 0 or n_found == len(decided):
            order = [int(i) for i in self.random_order_ if not is_decided[i]]
            return Ranking(order, [0.0] * len(order), False, quiet, None, None)

        train = np.array([i for i, _ in decided])
        y = np.array([inc for _, inc in decided], dtype=int)
        undecided = np.flatnonzero(~is_decided)
        classifier = self._classifier().fit(self.features_[train], y)
        if undecided.size == 0:
            scores = np.zeros(0)
        elif self.model == "logistic":
            scores = classifier.predict_proba(self.features_[undecided])[:, 1]
        else:
            scores = classifier.decision_function(self.features_[undecided])
        # Highest score first; equal scores by index (undecided is ascending, lexsort is stable).
        sequence = np.lexsort((undecided, -scores))
        order = undecided[sequence].tolist()
        ranked_scores = scores[sequence].astype(float).tolist()

        expected = recall = None
        if self.model == "logistic":
            expected = float(scores.sum())
            recall = n_found / (n_found + expected)
        return Ranking(order, ranked_scores, True, quiet, expected, recall)


def rank(
    texts: Sequence[str],
    decided: Sequence[tuple[int, bool]],
    *,
    model: str = "logistic",
    seed: int = 0,
) -> Ranking:
    """Rank the undecided ``texts`` by the model trained on ``decided``; see :class:`Ranker`.

    ``decided`` holds (index into ``texts``, included) pairs in the order the decisions were
    made, one per record. The same inputs and seed always give the same ranking.
    """
    return Ranker(model, seed).fit(texts).rank(decided)
