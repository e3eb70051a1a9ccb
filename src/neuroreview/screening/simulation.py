"""Simulated screening: how much work active learning saves on a pool whose labels are known.

:func:`simulate` replays a title/abstract screening as ASReview LAB's simulation mode does: a
few records are given as prior knowledge (``n_prior_included`` random relevant ones and
``n_prior_excluded`` random irrelevant ones, drawn with ``seed``) and screened first; then the
reviewer always screens the record the model (:class:`~neuroreview.screening.ranking.Ranker`)
ranks highest, and the model is retrained on the decisions made. :func:`simulate_random` is the
baseline: the same priors, then the remaining records in a random order.

Metrics (pure functions of a recall curve, the recall after each screened record):

- **WSS@r**, work saved over sampling (Cohen et al. 2006, doi:10.1197/jamia.m1929, as ASReview
  Insights documents it: "the proportion of records a screener does not have to screen compared
  to random reading after providing the prior knowledge", usually at r = 0.95):
  WSS@r = (TN + FN) / N - (1 - r), taken at the first record after which recall >= r, where
  TN + FN = N - n_screened are the records left unscreened. So WSS@r = (N - n_screened) / N -
  (1 - r): random reading reaches recall r after screening a share r of the records on average,
  which scores about 0, and the best order scores nearly r.
- **RRF@x**, relevant records found (ASReview Insights, "Recall"): the recall, as a share of
  all relevant records, after screening a share x of all records, x = 0.10 for RRF@10; the
  number screened is floor(x * N), as ASReview Insights reads its recall curve at the last point
  not beyond x.

Source: ASReview Insights README, "Performance metrics"
(https://github.com/asreview/asreview-insights). As ASReview Insights does by default
(``priors=False``), the prior records do not count: :attr:`Simulation.wss95` and
:attr:`Simulation.rrf10` are computed on the N - n_priors records screened after the priors,
of which n_relevant - n_prior_included are relevant. :attr:`Simulation.recall` and
:meth:`Simulation.found_after` do cover the whole order, priors first.

Retraining schedule (``retrain_every``): ASReview retrains after every decision; that is what
``retrain_every=1`` does. ``None`` (the default) retrains after every decision for pools of up
to :data:`RETRAIN_EVERY_DECISION_UP_TO` records and, above that, after
``max(1, n_decided // 20)`` decisions (every decision for the first 40, then every 5% of what
has been decided): the ranking changes little when one decision is added to hundreds, and an
899-record pool then simulates in about a second instead of about ten. An integer k retrains
every k decisions. Between trainings the reviewer screens the last ranking's next records. Once
every relevant record has been found the rest of the pool is screened in the last ranking's
order without retraining (no metric can change), as ASReview's ``stop_if="min"`` would stop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from neuroreview.screening.ranking import Ranker

#: Pools up to this size are retrained after every decision when ``retrain_every`` is None.
RETRAIN_EVERY_DECISION_UP_TO = 300


def recall_curve(included: Sequence[bool]) -> list[float]:
    """Recall after each record, for records' labels in the order they were screened."""
    n_relevant = sum(bool(v) for v in included)
    if n_relevant == 0:
        raise ValueError("recall is undefined without a relevant record")
    found, curve = 0, []
    for value in included:
        found += bool(value)
        curve.append(found / n_relevant)
    return curve


def wss(recall: Sequence[float], at: float = 0.95) -> float:
    """Work saved over sampling at recall ``at``: (N - n_screened) / N - (1 - at).

    ``recall`` is the recall after each of the N screened records; n_screened is the first
    count at which it reaches ``at`` (Cohen et al. 2006; see the module docstring).
    """
    if not recall:
        raise ValueError("wss needs a non-empty recall curve")
    n = len(recall)
    for position, value in enumerate(recall, start=1):
        if value >= at - 1e-12:
            return (n - position) / n - (1.0 - at)
    raise ValueError(f"the recall curve never reaches {at}")


def rrf(recall: Sequence[float], at: float = 0.10) -> float:
    """Relevant records found after screening floor(``at`` * N) of the N records: the recall."""
    if not recall:
        raise ValueError("rrf needs a non-empty recall curve")
    n_screened = math.floor(at * len(recall) + 1e-9)
    return float(recall[n_screened - 1]) if n_screened >= 1 else 0.0


@dataclass(frozen=True)
class Simulation:
    """One simulated screening: the order, the recall curve and the ASReview metrics.

    ``order`` holds every index in the order it was screened, the ``n_priors`` prior records
    first; ``recall[k]`` is the share of all ``n_relevant`` relevant records found after
    screening k + 1 records (priors included). ``wss95`` and ``rrf10`` leave the priors out,
    as ASReview Insights does (see the module docstring).
    """

    order: list[int]
    recall: list[float]
    n_relevant: int
    wss95: float
    rrf10: float
    n_priors: int = 0

    def found_after(self, n_screened: int) -> int:
        """Relevant records found among the first ``n_screened`` of ``order`` (priors count)."""
        if n_screened <= 0:
            return 0
        return round(self.recall[min(n_screened, len(self.recall)) - 1] * self.n_relevant)


def _priors(
    labels: Sequence[bool], seed: int, n_prior_included: int, n_prior_excluded: int
) -> tuple[list[int], Any]:
    """The prior records (relevant ones first) and the generator, ready for what follows."""
    import numpy as np

    relevant = [i for i, v in enumerate(labels) if v]
    irrelevant = [i for i, v in enumerate(labels) if not v]
    if n_prior_included < 0 or n_prior_excluded < 0:
        raise ValueError("the numbers of prior records cannot be negative")
    if n_prior_included >= len(relevant):
        raise ValueError(
            f"{len(relevant)} relevant record(s): at least one must remain after "
            f"{n_prior_included} prior include(s)"
        )
    if n_prior_excluded > len(irrelevant):
        raise ValueError(f"only {len(irrelevant)} irrelevant record(s) to draw priors from")
    rng = np.random.default_rng(seed)
    included = rng.choice(relevant, size=n_prior_included, replace=False).tolist()
    excluded = rng.choice(irrelevant, size=n_prior_excluded, replace=False).tolist()
    return [int(i) for i in included + excluded], rng


def _finish(labels: Sequence[bool], order: list[int], n_priors: int) -> Simulation:
    if sorted(order) != list(range(len(labels))):
        raise AssertionError("the simulated order is not a permutation of the pool")
    screened = [bool(labels[i]) for i in order]
    after_priors = recall_curve(screened[n_priors:])
    return Simulation(
        order=order,
        recall=recall_curve(screened),
        n_relevant=sum(screened),
        wss95=wss(after_priors, 0.95),
        rrf10=rrf(after_priors, 0.10),
        n_priors=n_priors,
    )


def simulate(
    labels: Sequence[bool],
    texts: Sequence[str],
    *,
    model: str = "logistic",
    seed: int = 0,
    n_prior_included: int = 1,
    n_prior_excluded: int = 1,
    retrain_every: int | None = None,
) -> Simulation:
    """Screen ``texts`` in the order the model ranks them, retraining as decisions come.

    ``labels[i]`` says whether text i is relevant. ``seed`` draws the priors and seeds the
    classifier; see the module docstring for the retraining schedule and the metrics.
    """
    if len(labels) != len(texts):
        raise ValueError(f"{len(labels)} labels for {len(texts)} texts")
    if retrain_every is not None and retrain_every < 1:
        raise ValueError("retrain_every must be at least 1")
    labels = [bool(v) for v in labels]
    priors, _ = _priors(labels, seed, n_prior_included, n_prior_excluded)
    ranker = Ranker(model, seed).fit(texts)
    decided = [(i, labels[i]) for i in priors]
    order = list(priors)
    n_relevant, found = sum(labels), sum(labels[i] for i in priors)
    while len(order) < len(labels):
        ranking = ranker.rank(decided)
        if found == n_relevant:
            step = len(ranking.order)
        elif retrain_every is not None:
            step = retrain_every
        elif len(labels) <= RETRAIN_EVERY_DECISION_UP_TO:
            step = 1
        else:
            step = max(1, len(decided) // 20)
        for index in ranking.order[:step]:
            decided.append((index, labels[index]))
            order.append(index)
            found += labels[index]
    return _finish(labels, order, len(priors))


def simulate_random(
    labels: Sequence[bool],
    *,
    seed: int = 0,
    n_prior_included: int = 1,
    n_prior_excluded: int = 1,
) -> Simulation:
    """The baseline: the priors :func:`simulate` draws with ``seed``, then a random order."""
    labels = [bool(v) for v in labels]
    priors, rng = _priors(labels, seed, n_prior_included, n_prior_excluded)
    chosen = set(priors)
    rest = [i for i in range(len(labels)) if i not in chosen]
    order = priors + [rest[k] for k in rng.permutation(len(rest))]
    return _finish(labels, order, len(priors))
