"""How far independent reviewers agreed, per stage: Cohen's kappa per pair, Fleiss' kappa overall.

Reviewers' verdicts are compared as go/no-go (``maybe`` goes forward like ``include``), the
decision that matters for the flow. Only verdicts still in force count: a withdrawn (undone)
verdict was never the reviewer's final word, so it is left out. Cohen's kappa (1960) is
computed for each pair of reviewers over the records both decided; Fleiss' kappa (1971) over
the records that have exactly the number of reviewers the plan asks for, which allows a pool of
reviewers where each record gets a different pair or trio. Kappa is undefined when every
verdict is the same (the expected agreement is 1); it is then reported as None rather than as a
misleading 0 or 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from neuroreview.model import Record, Stage
from neuroreview.screening.flow import goes_forward, latest_reviews


@dataclass(frozen=True)
class PairAgreement:
    reviewers: tuple[str, str]
    n_records: int
    agreed: int
    kappa: float | None


@dataclass(frozen=True)
class StageAgreement:
    stage: Stage
    n_records: int  # records with two or more reviews
    agreed: int  # of which all reviewers agreed
    pairs: tuple[PairAgreement, ...]
    fleiss_kappa: float | None
    fleiss_records: int  # records entering Fleiss' kappa (exactly `raters` reviews)
    raters: int

    @property
    def percent_agreement(self) -> float | None:
        return 100.0 * self.agreed / self.n_records if self.n_records else None


def cohen_kappa(first: Sequence[bool], second: Sequence[bool]) -> float | None:
    """Cohen's kappa of two raters' binary verdicts on the same items."""
    if len(first) != len(second):
        raise ValueError("both raters must rate the same items")
    n = len(first)
    if n == 0:
        return None
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    p_first, p_second = sum(first) / n, sum(second) / n
    expected = p_first * p_second + (1 - p_first) * (1 - p_second)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def fleiss_kappa(counts: Sequence[tuple[int, int]]) -> float | None:
    """Fleiss' kappa from per-item (forward, no-go) counts, every item rated by the same number."""
    if not counts:
        return None
    raters = sum(counts[0])
    if raters < 2 or any(sum(c) != raters for c in counts):
        raise ValueError("Fleiss' kappa needs the same number (two or more) of ratings per item")
    n = len(counts)
    per_item = [(sum(k * k for k in c) - raters) / (raters * (raters - 1)) for c in counts]
    observed = sum(per_item) / n
    shares = [sum(c[j] for c in counts) / (n * raters) for j in range(2)]
    expected = sum(p * p for p in shares)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def stage_agreement(records: Sequence[Record], stage: Stage, raters: int) -> StageAgreement:
    verdicts: list[dict[str, bool]] = []
    for record in records:
        reviews = latest_reviews(record.decisions, stage)  # withdrawn verdicts left out
        if len(reviews) >= 2:
            verdicts.append({d.reviewer: goes_forward(d.verdict) for d in reviews})
    reviewers = sorted({name for item in verdicts for name in item})
    pairs = []
    for a, b in combinations(reviewers, 2):
        both = [item for item in verdicts if a in item and b in item]
        if not both:
            continue
        first, second = [item[a] for item in both], [item[b] for item in both]
        agreed = sum(x == y for x, y in zip(first, second, strict=True))
        pairs.append(PairAgreement((a, b), len(both), agreed, cohen_kappa(first, second)))
    exact = [item for item in verdicts if len(item) == raters] if raters >= 2 else []
    counts = [(sum(item.values()), len(item) - sum(item.values())) for item in exact]
    return StageAgreement(
        stage=stage,
        n_records=len(verdicts),
        agreed=sum(len(set(item.values())) == 1 for item in verdicts),
        pairs=tuple(pairs),
        fleiss_kappa=fleiss_kappa(counts),
        fleiss_records=len(exact),
        raters=raters,
    )
