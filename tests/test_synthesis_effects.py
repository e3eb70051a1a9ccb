"""Effect-size conversions and random-effects pooling, checked against published and independent
values: metafor's documented BCG example (Viechtbauer 2010), statsmodels' combine_effects and OLS,
and conversions worked by hand from Borenstein et al. (2009)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuroreview.errors import InputError
from neuroreview.model import EffectSize
from neuroreview.synthesis.effects import (
    egger_test,
    g_from_d,
    g_from_effect_size,
    g_from_independent_t,
    g_from_means,
    g_from_one_sample_t,
    g_from_paired_t,
    g_from_pre_post,
    leave_one_out,
    pool_effects,
)

# dat.bcg (Colditz et al. 1994, as shipped with metafor): BCG-vaccinated TB+, TB-, control TB+, TB-.
BCG_COUNTS = [
    ("Aronson 1948", 4, 119, 11, 128),
    ("Ferguson & Simes 1949", 6, 300, 29, 274),
    ("Rosenthal 1960", 3, 228, 11, 209),
    ("Hart & Sutherland 1977", 62, 13536, 248, 12619),
    ("Frimodt-Moller 1973", 33, 5036, 47, 5761),
    ("Stein & Aronson 1953", 180, 1361, 372, 1079),
    ("Vandiviere 1973", 8, 2537, 10, 619),
    ("TPT Madras 1980", 505, 87886, 499, 87892),
    ("Coetzee & Berjak 1968", 29, 7470, 45, 7232),
    ("Rosenthal 1961", 17, 1699, 65, 1600),
    ("Comstock 1974", 186, 50448, 141, 27197),
    ("Comstock & Webster 1969", 5, 2493, 3, 2338),
    ("Comstock 1976", 27, 16886, 29, 17825),
]


def bcg_log_risk_ratios() -> list[tuple[str, float, float]]:
    """yi and vi as metafor's escalc(measure="RR") computes them from the 2x2 counts."""
    rows = []
    for study, a, b, c, d in BCG_COUNTS:
        yi = math.log(a / (a + b)) - math.log(c / (c + d))
        vi = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)
        rows.append((study, yi, vi))
    return rows


def test_bcg_reml_matches_metafor_published_output():
    # metafor documentation, rma(ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg, measure="RR"):
    # tau^2 = 0.3132, I^2 = 92.22%, Q(df = 12) = 152.2330, estimate -0.7145, se 0.1798,
    # zval -3.9744, ci.lb -1.0669, ci.ub -0.3622.
    pooled = pool_effects(bcg_log_risk_ratios(), method="REML")
    assert pooled.k == 13
    assert round(pooled.estimate, 4) == -0.7145
    assert round(pooled.se, 4) == 0.1798
    assert round(pooled.z, 4) == -3.9744
    assert round(pooled.ci_low, 4) == -1.0669
    assert round(pooled.ci_high, 4) == -0.3622
    assert round(pooled.tau2, 4) == 0.3132
    assert round(pooled.i2, 2) == 92.22
    assert round(pooled.q, 4) == 152.2330
    assert pooled.q_df == 12
    assert pooled.q_p < 1e-4 and pooled.p < 1e-4


def test_bcg_reml_tau2_solves_the_reml_estimating_equation():
    # Independent check to 1e-6: at the REML tau^2, tau^2 = sum w^2 ((y - mu)^2 - v) / sum w^2
    # + 1 / sum w (Viechtbauer 2005, eq. 12), with w = 1 / (v + tau^2).
    rows = bcg_log_risk_ratios()
    y = np.array([r[1] for r in rows])
    v = np.array([r[2] for r in rows])
    pooled = pool_effects(rows, method="REML")
    w = 1 / (v + pooled.tau2)
    mu = (w * y).sum() / w.sum()
    fixed_point = (w**2 * ((y - mu) ** 2 - v)).sum() / (w**2).sum() + 1 / w.sum()
    assert pooled.tau2 == pytest.approx(fixed_point, abs=1e-6)
    assert pooled.estimate == pytest.approx(mu, abs=1e-6)
    assert pooled.se == pytest.approx(1 / math.sqrt(w.sum()), abs=1e-6)


def test_bcg_dl_matches_metafor_published_output():
    # metafor documentation, same model with method="DL": estimate -0.7141, se 0.1787,
    # tau^2 = 0.3088, I^2 = 92.12%.
    pooled = pool_effects(bcg_log_risk_ratios(), method="DL")
    assert round(pooled.estimate, 4) == -0.7141
    assert round(pooled.se, 4) == 0.1787
    assert round(pooled.tau2, 4) == 0.3088
    assert round(pooled.i2, 2) == 92.12


def test_bcg_dl_matches_statsmodels_combine_effects():
    # statsmodels offers "dl" (DerSimonian-Laird) and "iterated" (Paule-Mandel, not REML), so
    # only DL is cross-checked here; REML is checked against metafor and its estimating equation.
    meta = pytest.importorskip("statsmodels.stats.meta_analysis")
    rows = bcg_log_risk_ratios()
    y = np.array([r[1] for r in rows])
    v = np.array([r[2] for r in rows])
    reference = meta.combine_effects(y, v, method_re="dl")
    frame = reference.summary_frame()
    pooled = pool_effects(rows, method="DL")
    assert pooled.estimate == pytest.approx(frame.loc["random effect", "eff"], abs=1e-6)
    assert pooled.se == pytest.approx(frame.loc["random effect", "sd_eff"], abs=1e-6)
    assert pooled.ci_low == pytest.approx(frame.loc["random effect", "ci_low"], abs=1e-6)
    assert pooled.ci_high == pytest.approx(frame.loc["random effect", "ci_upp"], abs=1e-6)
    assert pooled.tau2 == pytest.approx(reference.tau2, abs=1e-6)
    assert pooled.q == pytest.approx(reference.q, abs=1e-6)
    assert pooled.i2 == pytest.approx(100 * reference.i2, abs=1e-6)
    weights = [s.weight / 100 for s in pooled.studies]
    assert weights == pytest.approx(list(frame["w_re"].iloc[:13]), abs=1e-6)


def test_prediction_interval_uses_t_with_k_minus_2_df():
    pooled = pool_effects(bcg_log_risk_ratios())
    half = 2.200985160082949 * math.sqrt(pooled.tau2 + pooled.se**2)  # qt(0.975, 11) in R
    assert pooled.pi_low == pytest.approx(pooled.estimate - half, abs=1e-9)
    assert pooled.pi_high == pytest.approx(pooled.estimate + half, abs=1e-9)


def test_weights_are_percentages_favouring_precise_studies():
    pooled = pool_effects([("a", 0.2, 0.01), ("b", 0.5, 0.04), ("c", 0.4, 0.09)])
    assert sum(s.weight for s in pooled.studies) == pytest.approx(100)
    assert [s.study_id for s in pooled.studies] == ["a", "b", "c"]
    assert pooled.studies[0].weight > pooled.studies[1].weight > pooled.studies[2].weight


def test_two_studies_pool_without_a_prediction_interval():
    pooled = pool_effects([("a", 0.2, 0.05), ("b", 0.6, 0.08)], method="DL")
    assert pooled.k == 2 and pooled.q_df == 1
    assert pooled.pi_low is None and pooled.pi_high is None


@pytest.mark.parametrize(
    ("effects", "match"),
    [
        ([("only", 0.3, 0.1)], "at least 2 studies, got 1"),
        ([], "at least 2 studies, got 0"),
        ([("a", 0.3, 0.1), ("b", 0.2, -0.1)], "'b'.*variance of g must be positive"),
        ([("a", 0.3, 0.1), ("b", 0.2, 0.0)], "'b'.*variance of g must be positive"),
        ([("a", math.nan, 0.1), ("b", 0.2, 0.1)], "'a'.*g is missing or not a finite"),
        ([("a", 0.3, 0.1), ("a", 0.2, 0.1)], "'a' appears twice"),
    ],
)
def test_pooling_refuses_bad_input(effects, match):
    with pytest.raises(InputError, match=match):
        pool_effects(effects)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown pooling method 'PM'"):
        pool_effects([("a", 0.3, 0.1), ("b", 0.2, 0.1)], method="PM")


def test_egger_matches_statsmodels_ols():
    api = pytest.importorskip("statsmodels.api")
    rows = bcg_log_risk_ratios()
    y = np.array([r[1] for r in rows])
    se = np.sqrt([r[2] for r in rows])
    reference = api.OLS(y / se, api.add_constant(1 / se)).fit()
    egger = egger_test(rows)
    assert egger.intercept == pytest.approx(reference.params[0], abs=1e-6)
    assert egger.se == pytest.approx(reference.bse[0], abs=1e-6)
    assert egger.t == pytest.approx(reference.tvalues[0], abs=1e-6)
    assert egger.p == pytest.approx(reference.pvalues[0], abs=1e-6)
    assert egger.slope == pytest.approx(reference.params[1], abs=1e-6)
    assert egger.df == 11


def test_egger_needs_three_studies():
    with pytest.raises(InputError, match="at least 3 studies, got 2"):
        egger_test([("a", 0.3, 0.1), ("b", 0.2, 0.1)])


def test_leave_one_out_drops_each_study_once():
    rows = bcg_log_risk_ratios()
    results = leave_one_out(rows, method="DL")
    assert list(results) == [r[0] for r in rows]
    madras = results["TPT Madras 1980"]
    assert madras.k == 12
    assert "TPT Madras 1980" not in [s.study_id for s in madras.studies]
    expected = pool_effects([r for r in rows if r[0] != "TPT Madras 1980"], method="DL")
    assert madras.estimate == pytest.approx(expected.estimate, abs=1e-12)


def test_leave_one_out_needs_three_studies():
    with pytest.raises(InputError, match="at least 3 studies, got 2"):
        leave_one_out([("a", 0.3, 0.1), ("b", 0.2, 0.1)])


# --- conversions, worked by hand (Borenstein et al. 2009, ch. 4) ----------------------------


def test_g_from_means_by_hand():
    # Pooled SD 2, d = 1, V_d = 20/100 + 1/40 = 0.225, J = 1 - 3/71 = 68/71.
    result = g_from_means(10.0, 2.0, 10, 8.0, 2.0, 10, study="s1")
    assert result.value == pytest.approx(68 / 71, abs=1e-12)
    assert result.variance == pytest.approx((68 / 71) ** 2 * 0.225, abs=1e-12)


def test_g_from_means_pools_unequal_sds_by_degrees_of_freedom():
    # Pooled SD sqrt((9 * 1 + 19 * 4) / 28) = sqrt(85 / 28); J = 1 - 3 / 111.
    d = 1.0 / math.sqrt(85 / 28)
    result = g_from_means(5.0, 1.0, 10, 4.0, 2.0, 20, study="s1")
    assert result.value == pytest.approx((1 - 3 / 111) * d, abs=1e-12)
    assert result.variance == pytest.approx((1 - 3 / 111) ** 2 * (30 / 200 + d * d / 60), abs=1e-12)


def test_independent_t_and_d_agree_with_means():
    from_means = g_from_means(10.0, 2.0, 10, 8.0, 2.0, 10, study="s1")
    from_t = g_from_independent_t(1 / math.sqrt(0.2), 10, 10, study="s1")  # t = d / sqrt(1/n1+1/n2)
    from_d = g_from_d(1.0, 10, 10, study="s1")
    for other in (from_t, from_d):
        assert other.value == pytest.approx(from_means.value, abs=1e-12)
        assert other.variance == pytest.approx(from_means.variance, abs=1e-12)


def test_g_from_one_sample_t_by_hand():
    # d = 3 / sqrt(9) = 1, V = 1/9 + 1/18 = 1/6, J = 1 - 3/31 = 28/31.
    result = g_from_one_sample_t(3.0, 9, study="s1")
    assert result.value == pytest.approx(28 / 31, abs=1e-12)
    assert result.variance == pytest.approx((28 / 31) ** 2 / 6, abs=1e-12)


def test_g_from_pre_post_by_hand_and_paired_t_agrees():
    # d_av = 2 / 2 = 1; V = (1/16 + 1/32) * 2 (1 - 0.5) = 3/32; J = 1 - 3/59 = 56/59.
    result = g_from_pre_post(10.0, 2.0, 12.0, 2.0, 16, 0.5, study="s1")
    assert result.value == pytest.approx(56 / 59, abs=1e-12)
    assert result.variance == pytest.approx((56 / 59) ** 2 * 3 / 32, abs=1e-12)
    # S_diff = sqrt(4 + 4 - 2 * 0.5 * 4) = 2, so the paired t is 2 / (2 / 4) = 4.
    from_t = g_from_paired_t(4.0, 16, 0.5, study="s1")
    assert from_t.value == pytest.approx(result.value, abs=1e-12)
    assert from_t.variance == pytest.approx(result.variance, abs=1e-12)


def test_g_from_pre_post_standardises_by_average_sd():
    # sd_within = sqrt((9 + 1) / 2) = sqrt(5); a positive g means post > pre.
    result = g_from_pre_post(10.0, 3.0, 13.0, 1.0, 20, 0.7, study="s1")
    assert result.value == pytest.approx((1 - 3 / 75) * 3 / math.sqrt(5), abs=1e-12)


def test_g_from_effect_size_by_kind():
    g = g_from_effect_size(EffectSize(kind="hedges_g", value=0.4, variance=0.05), study="s1")
    assert (g.value, g.variance) == (0.4, 0.05)
    d = g_from_effect_size(EffectSize(kind="d", value=1.0, variance=0.225, n=20), study="s1")
    assert d.value == pytest.approx(68 / 71, abs=1e-12)
    assert d.variance == pytest.approx((68 / 71) ** 2 * 0.225, abs=1e-12)
    # r = 0.5, n = 20: d = 1 / sqrt(0.75); V_d = 4 V_r / 0.75^3 with V_r = 0.75^2 / 19.
    r = g_from_effect_size(EffectSize(kind="r", value=0.5, n=20), study="s1")
    assert r.value == pytest.approx(1 / math.sqrt(0.75), abs=1e-12)
    assert r.variance == pytest.approx(4 / (19 * 0.75), abs=1e-12)


@pytest.mark.parametrize(
    ("convert", "match"),
    [
        (lambda: g_from_means(1, None, 10, 0, 1, 10, study="K1"), "'K1'.*sd1 is missing"),
        (lambda: g_from_means(1, 1, 10, 0, -1, 10, study="K1"), "'K1'.*sd2 must be positive"),
        (lambda: g_from_means(1, 1, 1, 0, 1, 10, study="K1"), "'K1'.*n1 must be at least 2"),
        (lambda: g_from_independent_t(2.0, 10, 1, study="K1"), "'K1'.*n2 must be at least 2"),
        (lambda: g_from_one_sample_t(2.0, 1, study="K1"), "'K1'.*n must be at least 2"),
        (lambda: g_from_pre_post(1, 1, 2, 1, 10, 1.0, study="K1"), "'K1'.*correlation r"),
        (lambda: g_from_pre_post(1, 1, 2, 1, 10, None, study="K1"), "'K1'.*correlation r"),
        (lambda: g_from_paired_t(2.0, 10, -1.0, study="K1"), "'K1'.*correlation r"),
        (lambda: g_from_d(math.inf, 10, 10, study="K1"), "'K1'.*d is missing or not a finite"),
        (
            lambda: g_from_effect_size(EffectSize(kind="g", value=0.4), study="K1"),
            "'K1'.*no variance",
        ),
        (
            lambda: g_from_effect_size(EffectSize(kind="d", value=0.4, variance=0.1), study="K1"),
            "'K1'.*variance and n",
        ),
        (lambda: g_from_effect_size(EffectSize(kind="r", value=0.4), study="K1"), "'K1'.*needs n"),
        (
            lambda: g_from_effect_size(EffectSize(kind="r", value=1.0, n=9), study="K1"),
            "'K1'.*correlation of 1 cannot",
        ),
    ],
)
def test_conversions_refuse_bad_input_naming_the_study(convert, match):
    with pytest.raises(InputError, match=match):
        convert()
