"""Region decoding: which topics are over-represented among the studies that activate a region.

Neurosynth's discrete decoding (Yarkoni et al. 2011), as NiMARE's ``NeurosynthDecoder`` runs it
on studies chosen with ``Dataset.get_studies_by_mask``: a study is *selected* when at least one
of its foci falls in the region; it is *about* a topic when its weight on the topic is at least
the threshold (0.05, as for the topic maps). For each topic a 2 x 2 table of studies (selected or
not, about the topic or not) then gives

* the **association test** (Neurosynth's "reverse inference" columns): a chi-squared test of
  independence between selection and topic, signed by whether the topic's studies are selected
  more often than the others. This is what ranks the table: topics whose studies activate the
  region more than studies about other things;
* the **posterior probability** P(topic | region activated), by Bayes' rule with a uniform prior
  of 0.5 on the topic, so that rare and common topics are compared on an equal footing;
* the **uniformity test** ("forward inference"): whether the topic is applied to more selected
  studies than the average topic is, and P(region activated | topic) under the same prior. It is
  driven by how common a topic is and is reported for completeness, not for ranking.

p values are Benjamini-Hochberg corrected across topics, as NiMARE does by default. They are
computed as logarithms so that strong associations keep a finite z instead of underflowing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from neuroreview.decode.labels import topic_label
from neuroreview.decode.neurosynth_data import NeurosynthStudies, load_studies
from neuroreview.errors import NeuroreviewError

__all__ = ["RegionDecoding", "RegionDecodingError", "decode_region", "decode_selection"]

#: The table's columns, in order; NiMARE's names in brackets in docs/decode.md.
COLUMNS = (
    "rank",
    "topic",
    "label",
    "kind",
    "z_association",
    "p_association",
    "prob_topic_given_region",
    "z_uniformity",
    "p_uniformity",
    "prob_region_given_topic",
    "n_selected_topic",
    "n_topic",
)
CORRECTIONS = ("bh", "none")


class RegionDecodingError(NeuroreviewError, ValueError):
    """The selection cannot be decoded (no study in the region, or every study in it)."""


@dataclass(frozen=True, eq=False)
class RegionDecoding:
    """The ranked topic table and the selection it came from."""

    table: pd.DataFrame
    n_selected: int
    n_studies: int
    threshold: float
    prior: float


def decode_region(
    mask: NDArray[np.bool_],
    studies: NeurosynthStudies | None = None,
    *,
    threshold: float | None = None,
    prior: float = 0.5,
    correction: str = "bh",
    min_studies: int = 1,
) -> RegionDecoding:
    """Decode a region given as a boolean volume on the MNI152 2 mm grid.

    Studies with at least one focus in ``mask`` are the selection; every other study of the
    database is the comparison set.
    """
    studies = load_studies() if studies is None else studies
    selected = studies.studies_in_mask(np.asarray(mask, dtype=bool))
    return decode_selection(
        selected,
        studies,
        threshold=threshold,
        prior=prior,
        correction=correction,
        min_studies=min_studies,
    )


def decode_selection(
    selected: NDArray[np.bool_],
    studies: NeurosynthStudies | None = None,
    *,
    threshold: float | None = None,
    prior: float = 0.5,
    correction: str = "bh",
    min_studies: int = 1,
) -> RegionDecoding:
    """Decode any selection of studies (one bool per study) against the rest of the database.

    ``min_studies`` drops topics applied to fewer studies than that in the whole database, as
    NiMARE's argument of that name does (the default 1 drops only topics no study is about).
    """
    studies = load_studies() if studies is None else studies
    selected = np.asarray(selected, dtype=bool)
    if selected.shape != (studies.n_studies,):
        raise ValueError(f"give one bool per study ({studies.n_studies}), got {selected.shape}")
    if not 0 < prior < 1:
        raise ValueError(f"the prior must lie strictly between 0 and 1, got {prior:g}")
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {CORRECTIONS}, got {correction!r}")
    n_studies, n_selected = studies.n_studies, int(selected.sum())
    if n_selected == 0:
        raise RegionDecodingError("no Neurosynth study reports a focus in this region")
    if n_selected == n_studies:
        raise RegionDecodingError("every Neurosynth study reports a focus in this region")
    member = studies.membership(threshold)
    n_selected_topic = member[selected].sum(axis=0).astype(np.int64)
    n_topic = member.sum(axis=0).astype(np.int64)
    keep = n_topic >= min_studies
    if not keep.any():
        raise RegionDecodingError(f"no topic is applied to {min_studies} or more studies")
    topics = [t for t, k in zip(studies.topic_ids, keep, strict=True) if k]
    a, n_t = n_selected_topic[keep], n_topic[keep]

    # P(selected | topic) and P(selected | not topic): the two rates the tests compare.
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_topic = a / n_t
        rate_other = (n_selected - a) / (n_studies - n_t)
    log_p_assoc = _adjust(
        _chi2_log_sf(_association_chi2(a, n_t, n_selected, n_studies)), correction
    )
    log_p_unif = _adjust(_chi2_log_sf(_uniformity_chi2(a, n_selected)), correction)
    z_assoc = _two_tailed_z(log_p_assoc) * np.sign(rate_topic - rate_other)
    z_unif = _two_tailed_z(log_p_unif) * np.sign(a - a.mean())
    # Bayes with a uniform prior on the topic: what activation in the region says about it.
    prob_region = prior * rate_topic + (1 - prior) * rate_other
    with np.errstate(divide="ignore", invalid="ignore"):
        prob_topic = rate_topic * prior / prob_region

    labels = [topic_label(t) for t in topics]
    table = pd.DataFrame(
        {
            "topic": topics,
            "label": [label.label for label in labels],
            "kind": [label.kind for label in labels],
            "z_association": z_assoc,
            "p_association": _as_p(log_p_assoc),
            "prob_topic_given_region": prob_topic,
            "z_uniformity": z_unif,
            "p_uniformity": _as_p(log_p_unif),
            "prob_region_given_topic": prob_region,
            "n_selected_topic": a,
            "n_topic": n_t,
        }
    )
    table = table.sort_values(
        ["z_association", "prob_topic_given_region", "topic"],
        ascending=[False, False, True],
        kind="mergesort",
        ignore_index=True,
    )
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return RegionDecoding(
        table=table[list(COLUMNS)],
        n_selected=n_selected,
        n_studies=n_studies,
        threshold=studies.threshold if threshold is None else float(threshold),
        prior=prior,
    )


# --- statistics -----------------------------------------------------------------------------


def _association_chi2(
    a: NDArray[np.int64], n_topic: NDArray[np.int64], n_selected: int, n_studies: int
) -> NDArray[np.float64]:
    """Pearson's chi-squared (no continuity correction) of each topic's 2 x 2 table.

    Cells: a = selected and about the topic, b = not selected and about it; the margins are the
    topic's and the selection's sizes. A topic every study (or no study) is about has no table:
    its chi-squared is 0, as no association can be seen.
    """
    a = a.astype(np.float64)
    b = n_topic - a
    n_unselected = n_studies - n_selected
    denominator = n_topic * (n_studies - n_topic) * float(n_selected) * n_unselected
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = n_studies * (a * n_unselected - b * n_selected) ** 2 / denominator
    return np.where(denominator > 0, chi2, 0.0)


def _uniformity_chi2(a: NDArray[np.int64], n_selected: int) -> NDArray[np.float64]:
    """Each topic's selected count against the mean count over topics (binomial variance)."""
    a = a.astype(np.float64)
    expected = a.mean()
    denominator = expected * (n_selected - expected)
    if denominator <= 0:
        return np.zeros_like(a)
    return (a - expected) ** 2 * n_selected / denominator


def _chi2_log_sf(chi2: NDArray[np.float64]) -> NDArray[np.float64]:
    """log P(X >= chi2) for one degree of freedom: log of the two-tailed normal tail at sqrt."""
    return np.minimum(np.log(2.0) + special.log_ndtr(-np.sqrt(chi2)), 0.0)


def _adjust(log_p: NDArray[np.float64], correction: str) -> NDArray[np.float64]:
    """Benjamini-Hochberg adjusted log p values (step-up, capped at log 1), or unchanged."""
    if correction == "none":
        return log_p
    m = log_p.size
    order = np.argsort(log_p, kind="mergesort")
    scaled = log_p[order] + np.log(m / np.arange(1, m + 1))
    # The adjusted p of rank i is the smallest scaled p at rank i or above.
    stepped = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty_like(log_p)
    adjusted[order] = np.minimum(stepped, 0.0)
    return adjusted


def _two_tailed_z(log_p: NDArray[np.float64]) -> NDArray[np.float64]:
    """|z| whose two-tailed p is exp(log_p), without leaving log space."""
    return -special.ndtri_exp(log_p - np.log(2.0)) + 0.0


def _as_p(log_p: NDArray[np.float64]) -> NDArray[np.float64]:
    """p values, floored at the smallest positive double so none prints as exactly 0."""
    return np.clip(np.exp(log_p), np.finfo(np.float64).tiny, 1.0)
