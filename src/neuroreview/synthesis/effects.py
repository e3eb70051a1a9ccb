"""Per-study effect sizes on one scale (Hedges' g), and their random-effects pooling.

Region-level findings (PET binding, MRS glutamate, ROI activation) report their results in
whatever form the paper chose: group means and SDs, a t statistic, Cohen's d. Pooling needs one
scale with a sampling variance, so every form is converted to Hedges' g first, with the formulas of
Borenstein, Hedges, Higgins & Rothstein (2009), *Introduction to Meta-Analysis*, ch. 4 and 7, and
the small-sample correction of Hedges (1981).

Estimation of tau^2 and the pooled effect is PyMARE's (DerSimonian-Laird or REML); this module
adds what a review reports around it: I^2, the prediction interval, Egger's test, leave-one-out.
Inference uses the normal (Wald) reference, as metafor's ``rma`` does by default, so results can be
checked against its published examples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pymare
from pymare.estimators import DerSimonianLaird, VarianceBasedLikelihoodEstimator
from scipy import stats

from neuroreview.errors import InputError
from neuroreview.model import EffectKind, EffectSize

Method = Literal["REML", "DL"]
#: (study id, Hedges' g, sampling variance of g)
EffectInput = tuple[str, float, float]


@dataclass(frozen=True)
class HedgesG:
    """A standardised mean difference corrected for small-sample bias, with its variance."""

    value: float
    variance: float

    @property
    def se(self) -> float:
        return math.sqrt(self.variance)


# --- conversions -----------------------------------------------------------------------------


def _fail(study: str, message: str) -> InputError:
    return InputError(f"study {study!r}: {message}")


def _check_finite(study: str, **values: float) -> None:
    for name, value in values.items():
        if value is None or not math.isfinite(value):
            raise _fail(study, f"{name} is missing or not a finite number")


def _check_n(study: str, **counts: int) -> None:
    for name, n in counts.items():
        if n is None or n < 2:
            raise _fail(study, f"{name} must be at least 2, got {n}")


def _check_sd(study: str, **sds: float | None) -> None:
    for name, sd in sds.items():
        if sd is None or not math.isfinite(sd):
            raise _fail(study, f"{name} is missing; a standardised effect needs both SDs")
        if sd <= 0:
            raise _fail(study, f"{name} must be positive, got {sd:g}")


def _check_r(study: str, r: float | None) -> None:
    if r is None or not math.isfinite(r) or abs(r) >= 1:
        raise _fail(study, f"the pre/post correlation r must lie strictly in (-1, 1), got {r}")


def small_sample_correction(df: float) -> float:
    """Hedges' (1981) J = 1 - 3 / (4 df - 1): d overestimates the population effect in small
    samples, by about 4% at df = 20 (Borenstein et al. 2009, eq. 4.22)."""
    return 1.0 - 3.0 / (4.0 * df - 1.0)


def _independent_g(d: float, n1: int, n2: int) -> HedgesG:
    # Borenstein et al. 2009, eqs. 4.20 (variance of d), 4.22-4.24 (J, g, variance of g).
    var_d = (n1 + n2) / (n1 * n2) + d * d / (2.0 * (n1 + n2))
    j = small_sample_correction(n1 + n2 - 2)
    return HedgesG(j * d, j * j * var_d)


def g_from_means(
    mean1: float,
    sd1: float | None,
    n1: int,
    mean2: float,
    sd2: float | None,
    n2: int,
    *,
    study: str,
) -> HedgesG:
    """Hedges' g of group 1 minus group 2 (independent groups) from means, SDs and sizes.

    d is standardised by the pooled within-group SD (Borenstein et al. 2009, eqs. 4.18-4.20), then
    corrected by J with df = n1 + n2 - 2 (Hedges 1981).
    """
    _check_finite(study, mean1=mean1, mean2=mean2)
    _check_sd(study, sd1=sd1, sd2=sd2)
    _check_n(study, n1=n1, n2=n2)
    pooled_sd = math.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))
    return _independent_g((mean1 - mean2) / pooled_sd, n1, n2)


def g_from_independent_t(t: float, n1: int, n2: int, *, study: str) -> HedgesG:
    """Hedges' g from an independent-samples t with group sizes n1, n2.

    d = t * sqrt((n1 + n2) / (n1 n2)) (Borenstein et al. 2009, eq. 4.21 rearranged); the sign of
    t carries the direction.
    """
    _check_finite(study, t=t)
    _check_n(study, n1=n1, n2=n2)
    return _independent_g(t * math.sqrt((n1 + n2) / (n1 * n2)), n1, n2)


def g_from_d(d: float, n1: int, n2: int, *, study: str) -> HedgesG:
    """Hedges' g from a reported Cohen's d of two independent groups of sizes n1 and n2."""
    _check_finite(study, d=d)
    _check_n(study, n1=n1, n2=n2)
    return _independent_g(d, n1, n2)


def g_from_one_sample_t(t: float, n: int, *, study: str) -> HedgesG:
    """Hedges' g (standardised by the SD of the scores or differences) from a one-sample t.

    d = t / sqrt(n), variance 1/n + d^2 / (2n), J with df = n - 1 (Borenstein et al. 2009, ch. 4).
    For a paired t this is d_z, standardised by the SD of the differences: use
    :func:`g_from_paired_t` instead when the pre/post correlation is known, so that paired and
    independent-group studies share one metric.
    """
    _check_finite(study, t=t)
    _check_n(study, n=n)
    d = t / math.sqrt(n)
    j = small_sample_correction(n - 1)
    return HedgesG(j * d, j * j * (1.0 / n + d * d / (2.0 * n)))


def _paired_g(d: float, n: int, r: float) -> HedgesG:
    # Borenstein et al. 2009, eqs. 4.27-4.28: V_d = (1/n + d^2 / 2n) * 2(1 - r), J with df = n - 1.
    var_d = (1.0 / n + d * d / (2.0 * n)) * 2.0 * (1.0 - r)
    j = small_sample_correction(n - 1)
    return HedgesG(j * d, j * j * var_d)


def g_from_pre_post(
    mean_pre: float,
    sd_pre: float | None,
    mean_post: float,
    sd_post: float | None,
    n: int,
    r: float | None,
    *,
    study: str,
) -> HedgesG:
    """Hedges' g of post minus pre in one group of n, with pre/post correlation r.

    The difference is standardised by the average within-condition SD, sqrt((sd_pre^2 +
    sd_post^2) / 2) (d_av), not by the SD of the differences (d_z): d_z grows with r, so a
    crossover study would look stronger than a parallel-group study of the same drug effect, and
    pooling them would mix two metrics. r enters only the variance (Borenstein et al. 2009,
    eqs. 4.25-4.28); it is rarely reported, so state the assumed value (0.5 is customary).
    """
    _check_finite(study, mean_pre=mean_pre, mean_post=mean_post)
    _check_sd(study, sd_pre=sd_pre, sd_post=sd_post)
    _check_n(study, n=n)
    _check_r(study, r)
    sd_within = math.sqrt((sd_pre**2 + sd_post**2) / 2.0)
    return _paired_g((mean_post - mean_pre) / sd_within, n, r)


def g_from_paired_t(t: float, n: int, r: float | None, *, study: str) -> HedgesG:
    """Hedges' g on the within-condition metric of :func:`g_from_pre_post` from a paired t.

    d = t * sqrt(2 (1 - r) / n) (Borenstein et al. 2009, eq. 4.27 with S_within = S_diff /
    sqrt(2 (1 - r))); equal to :func:`g_from_pre_post` when the two SDs are equal.
    """
    _check_finite(study, t=t)
    _check_n(study, n=n)
    _check_r(study, r)
    return _paired_g(t * math.sqrt(2.0 * (1.0 - r) / n), n, r)


def g_from_effect_size(effect: EffectSize, *, study: str) -> HedgesG:
    """Hedges' g from a stored :class:`~neuroreview.model.EffectSize`.

    A g needs its variance. A Cohen's d needs its variance and total n, and is corrected by J with
    df = n - 2 (two groups; the model does not record the design). A correlation needs n and is
    converted by d = 2r / sqrt(1 - r^2), V_d = 4 V_r / (1 - r^2)^3 with V_r = (1 - r^2)^2 / (n - 1)
    (Borenstein et al. 2009, eqs. 6.1, 7.5-7.6); it is not bias-corrected, as there.
    """
    kind = effect.kind
    if kind is EffectKind.HEDGES_G:
        if effect.variance is None:
            raise _fail(study, "Hedges' g has no variance; it cannot be weighted")
        return HedgesG(effect.value, effect.variance)
    if kind is EffectKind.COHEN_D:
        if effect.variance is None or effect.n is None:
            raise _fail(study, "Cohen's d needs both its variance and n to become Hedges' g")
        if effect.n < 3:
            raise _fail(study, f"Cohen's d of two groups needs n of at least 3, got {effect.n}")
        j = small_sample_correction(effect.n - 2)
        return HedgesG(j * effect.value, j * j * effect.variance)
    if effect.n is None:
        raise _fail(study, "a correlation needs n to become Hedges' g")
    r = effect.value
    if abs(r) >= 1:
        raise _fail(study, f"a correlation of {r:g} cannot be converted to d")
    var_r = (1 - r * r) ** 2 / (effect.n - 1)
    return HedgesG(2 * r / math.sqrt(1 - r * r), 4 * var_r / (1 - r * r) ** 3)


# --- pooling ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudyEffect:
    """One study's input to a pooled estimate, with its random-effects weight in percent."""

    study_id: str
    g: float
    variance: float
    weight: float

    @property
    def se(self) -> float:
        return math.sqrt(self.variance)

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        half = stats.norm.ppf(0.5 + level / 2) * self.se
        return self.g - half, self.g + half


@dataclass(frozen=True)
class PooledEffect:
    """A random-effects summary: the mean effect, its uncertainty and the spread around it."""

    method: Method
    k: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p: float
    tau2: float
    #: percentage of total variance due to between-study heterogeneity (Higgins & Thompson 2002)
    i2: float
    q: float
    q_df: int
    q_p: float
    #: 95% prediction interval for a new study's true effect; None for k = 2 (no t with 0 df)
    pi_low: float | None
    pi_high: float | None
    studies: tuple[StudyEffect, ...]


def _validated(effects: Sequence[EffectInput]) -> tuple[list[str], np.ndarray, np.ndarray]:
    ids = [e[0] for e in effects]
    seen: set[str] = set()
    for study, g, variance in effects:
        if study in seen:
            raise InputError(f"study {study!r} appears twice in one meta-analysis")
        seen.add(study)
        _check_finite(study, g=g, variance=variance)
        if variance <= 0:
            raise _fail(study, f"the variance of g must be positive, got {variance:g}")
    k = len(ids)
    if k < 2:
        raise InputError(f"pooling needs at least 2 studies, got {k}")
    g = np.array([e[1] for e in effects], dtype=float)
    v = np.array([e[2] for e in effects], dtype=float)
    return ids, g, v


def _estimator(method: Method):
    # Wald (normal) inference, as metafor's rma defaults to: PyMARE's own default is Knapp-Hartung.
    if method == "REML":
        return VarianceBasedLikelihoodEstimator(method="REML", small_sample_correction="wald")
    if method == "DL":
        return DerSimonianLaird(small_sample_correction="wald")
    raise ValueError(f"unknown pooling method {method!r}; choose 'REML' or 'DL'")


def _i2(tau2: float, v: np.ndarray) -> float:
    # Higgins & Thompson 2002 with the "typical" within-study variance, as metafor computes it, so
    # I^2 describes the tau^2 of the chosen estimator; for DL it equals (Q - df) / Q.
    w = 1.0 / v
    k = v.size
    typical = (k - 1) * w.sum() / (w.sum() ** 2 - (w * w).sum())
    return 100.0 * tau2 / (tau2 + typical)


def pool_effects(effects: Sequence[EffectInput], method: Method = "REML") -> PooledEffect:
    """Random-effects pooled Hedges' g of ``(study id, g, variance)`` triples, k >= 2.

    REML is the default: DerSimonian-Laird underestimates tau^2 when it is large or k is small
    (Veroniki et al. 2016). The 95% prediction interval is estimate +- t(k-2) sqrt(tau^2 + SE^2)
    (Higgins, Thompson & Spiegelhalter 2009): where a new study's true effect may fall, which is
    what a reader of a heterogeneous literature needs more than the CI of the mean.
    """
    ids, g, v = _validated(effects)
    k = len(ids)
    result = _estimator(method).fit_dataset(pymare.Dataset(y=g, v=v)).summary()
    fe = {name: float(np.ravel(value)[0]) for name, value in result.get_fe_stats().items()}
    het = result.get_heterogeneity_stats()
    tau2 = float(np.ravel(result.tau2)[0])
    weights = 1.0 / (v + tau2)
    percent = 100.0 * weights / weights.sum()
    pi_low = pi_high = None
    if k > 2:
        half = stats.t.ppf(0.975, k - 2) * math.sqrt(tau2 + fe["se"] ** 2)
        pi_low, pi_high = fe["est"] - half, fe["est"] + half
    return PooledEffect(
        method=method,
        k=k,
        estimate=fe["est"],
        se=fe["se"],
        ci_low=fe["ci_l"],
        ci_high=fe["ci_u"],
        z=fe["z"],
        p=fe["p"],
        tau2=tau2,
        i2=_i2(tau2, v),
        q=float(np.ravel(het["Q"])[0]),
        q_df=k - 1,
        q_p=float(np.ravel(het["p(Q)"])[0]),
        pi_low=pi_low,
        pi_high=pi_high,
        studies=tuple(
            StudyEffect(s, float(gi), float(vi), float(wi))
            for s, gi, vi, wi in zip(ids, g, v, percent, strict=True)
        ),
    )


@dataclass(frozen=True)
class EggerTest:
    """Egger's regression test for funnel-plot asymmetry (small-study effects)."""

    intercept: float
    se: float
    t: float
    df: int
    p: float
    slope: float


def egger_test(effects: Sequence[EffectInput]) -> EggerTest:
    """Egger, Davey Smith, Schneider & Minder (1997): regress g / SE on 1 / SE by ordinary least
    squares; an intercept away from zero (t test, k - 2 df) means small studies report different
    effects from large ones, as publication bias would make them.

    Needs k >= 3 and is underpowered for k < 10 (Sterne et al. 2011): a non-significant result in a
    small meta-analysis is no evidence of symmetry.
    """
    _, g, v = _validated(effects)
    if g.size < 3:
        raise InputError(f"Egger's test needs at least 3 studies, got {g.size}")
    se = np.sqrt(v)
    fit = stats.linregress(1.0 / se, g / se)
    df = g.size - 2
    t = fit.intercept / fit.intercept_stderr
    return EggerTest(
        intercept=float(fit.intercept),
        se=float(fit.intercept_stderr),
        t=float(t),
        df=df,
        p=float(2.0 * stats.t.sf(abs(t), df)),
        slope=float(fit.slope),
    )


def leave_one_out(
    effects: Sequence[EffectInput], method: Method = "REML"
) -> dict[str, PooledEffect]:
    """The pooled effect with each study dropped in turn, keyed by the dropped study's id: shows
    whether one study carries the conclusion. Needs k >= 3 so that each pool keeps two studies."""
    ids, _, _ = _validated(effects)
    if len(ids) < 3:
        raise InputError(f"leave-one-out needs at least 3 studies, got {len(ids)}")
    return {
        dropped: pool_effects([e for e in effects if e[0] != dropped], method) for dropped in ids
    }
