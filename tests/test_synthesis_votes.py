"""Region-level vote counting on hand-made corpora with known counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from neuroreview.model import Analysis, Focus, Population, RegionFinding, Study, Timing
from neuroreview.space import mni_to_tal
from neuroreview.synthesis.regions import load_vocabulary
from neuroreview.synthesis.votes import (
    ExclusionReason,
    PopulationGroup,
    TimingGroup,
    count_votes,
    population_group,
    timing_group,
)

VOCABULARY = load_vocabulary()


def fake_region_of_focus(xyz):
    """A fake atlas: x < 0 is the amygdala, x > 0 the sgACC, x == 0 nowhere."""
    x = xyz[0]
    if abs(x) < 0.5:
        return None
    return VOCABULARY["amygdala"] if x < 0 else VOCABULARY["sgacc"]


def no_atlas(xyz):
    raise AssertionError("no focus should be located")


def finding(region, direction, **kwargs):
    return RegionFinding(region=region, direction=direction, **kwargs)


def study(study_id, findings=(), analyses=(), **kwargs):
    return Study(id=study_id, region_findings=list(findings), analyses=list(analyses), **kwargs)


def analysis(analysis_id, direction, points, space="MNI"):
    foci = [Focus(x=x, y=y, z=z) for x, y, z in points]
    return Analysis(id=analysis_id, direction=direction, space=space, foci=foci)


def row(table, region, **facets):
    selected = table[table["region"] == region]
    for facet, value in facets.items():
        selected = selected[selected[facet] == value]
    assert len(selected) == 1
    return selected.iloc[0]


def test_known_counts_and_studies_behind_cells():
    corpus = [
        study("a", [finding("sgACC", "increase"), finding("amygdala", "decrease")]),
        study("b", [finding("subgenual cingulate", "increase")]),
        study("c", [finding("BA25", "decrease"), finding("left amygdala", "decrease")]),
        study("d", [finding("amygdala", "no change")]),
    ]
    result = count_votes(corpus, region_of_focus=no_atlas)
    table = result.table
    assert list(table["region"]) == ["amygdala", "sgacc"]
    sgacc = row(table, "sgacc")
    assert (sgacc["increase"], sgacc["decrease"], sgacc["no_change"]) == (2, 1, 0)
    assert sgacc["n_studies"] == 3
    amygdala = row(table, "amygdala")
    assert (amygdala["increase"], amygdala["decrease"], amygdala["no_change"]) == (0, 2, 1)
    assert result.studies[("other", "sgacc", "increase")] == ("a", "b")
    assert result.studies[("other", "amygdala", "no_change")] == ("d",)
    assert result.exclusions == ()


def test_a_study_counts_once_per_region_and_direction():
    corpus = [
        study(
            "a",
            [finding("sgACC", "increase"), finding("subcallosal cortex", "increase")],
            [analysis("a1", "increase", [(4, 22, -8), (6, 24, -6)])],
        )
    ]
    result = count_votes(corpus, region_of_focus=fake_region_of_focus)
    assert row(result.table, "sgacc")["increase"] == 1
    assert result.studies == {("other", "sgacc", "increase"): ("a",)}


def test_sign_test_and_bh_equal_scipy():
    # sgacc: 7 up, 1 down; amygdala: 1 up, 5 down; insula: 2 up, 2 down; putamen: no change only
    corpus = []
    for i in range(7):
        corpus.append(study(f"s{i}", [finding("sgacc", "increase")]))
    corpus.append(study("s7", [finding("sgacc", "decrease"), finding("insula", "increase")]))
    corpus.append(study("s8", [finding("amygdala", "increase"), finding("insula", "increase")]))
    for i in range(9, 14):
        corpus.append(study(f"s{i}", [finding("amygdala", "decrease")]))
    corpus.append(study("s14", [finding("insula", "decrease"), finding("putamen", "no_change")]))
    corpus.append(study("s15", [finding("insula", "decrease")]))
    table = count_votes(corpus, region_of_focus=no_atlas).table.set_index("region")
    expected_p = {
        "sgacc": stats.binomtest(7, 8, 0.5).pvalue,
        "amygdala": stats.binomtest(1, 6, 0.5).pvalue,
        "insula": stats.binomtest(2, 4, 0.5).pvalue,
    }
    for region, p in expected_p.items():
        assert table.loc[region, "p_sign"] == pytest.approx(p, rel=1e-12)
    assert math.isnan(table.loc["putamen", "p_sign"])
    assert math.isnan(table.loc["putamen", "q_bh"])
    regions = list(expected_p)
    q = stats.false_discovery_control([expected_p[r] for r in regions], method="bh")
    np.testing.assert_allclose(table.loc[regions, "q_bh"].to_numpy(), q, rtol=1e-12)


def test_unknown_directions_are_excluded_and_reported():
    corpus = [
        study("a", [finding("sgacc", "increase"), finding("amygdala", None)]),
        study("b", [finding("subcortical GABA", "no change")]),
        study("c", analyses=[analysis("c1", None, [(-20, -4, -18), (4, 22, -8)])]),
    ]
    result = count_votes(corpus, region_of_focus=fake_region_of_focus)
    assert list(result.table["region"]) == ["sgacc"]
    unknown = result.excluded(ExclusionReason.UNKNOWN_DIRECTION)
    assert [(e.study_id, e.item, e.region) for e in unknown] == [
        ("a", "amygdala", "amygdala"),
        ("c", "c1", "amygdala"),
        ("c", "c1", "sgacc"),
    ]
    unmapped = result.excluded(ExclusionReason.UNMAPPED_REGION)
    assert [(e.study_id, e.item) for e in unmapped] == [("b", "subcortical GABA")]


def test_coordinates_vote_and_talairach_is_converted():
    seen = []

    def recording(xyz):
        seen.append(xyz)
        return fake_region_of_focus(xyz)

    mni = np.array([-20.0, -4.0, -18.0])
    tal = mni_to_tal(mni)
    corpus = [
        study("a", analyses=[analysis("a1", "decrease", [tuple(tal)], space="TAL")]),
        study("b", analyses=[analysis("b1", "decrease", [(0.0, 10.0, 10.0)])]),
        study("c", analyses=[analysis("c1", "increase", [(-20.0, -4.0, -18.0)], space="UNKNOWN")]),
    ]
    result = count_votes(corpus, region_of_focus=recording)
    np.testing.assert_allclose(seen[0], mni, atol=1e-9)
    assert row(result.table, "amygdala")["decrease"] == 1
    assert [e.item for e in result.excluded(ExclusionReason.NO_REGION)] == ["b1"]
    assert [e.item for e in result.excluded(ExclusionReason.UNKNOWN_SPACE)] == ["c1"]


def test_split_by_facets_with_bh_per_group():
    corpus = [
        study("h1", [finding("sgacc", "increase")], population="healthy", timing="during"),
        study("h2", [finding("sgacc", "increase")], population="healthy", timing="during"),
        study("p1", [finding("sgacc", "decrease")], population="TRD", timing="hours"),
        study("p2", [finding("amygdala", "decrease")], population="MDD", timing="days"),
        study("u1", [finding("amygdala", "decrease")], population="chronic users"),
    ]
    result = count_votes(corpus, by=("population", "timing"), region_of_focus=no_atlas)
    table = result.table
    assert row(table, "sgacc", population="healthy", timing="acute")["increase"] == 2
    assert row(table, "sgacc", population="patients", timing="later")["decrease"] == 1
    assert row(table, "amygdala", population="patients", timing="later")["decrease"] == 1
    assert row(table, "amygdala", population="other", timing="unknown")["decrease"] == 1
    patients = table[(table["population"] == "patients") & (table["timing"] == "later")]
    q = stats.false_discovery_control(patients["p_sign"].to_numpy(), method="bh")
    np.testing.assert_allclose(patients["q_bh"].to_numpy(), q)
    assert result.studies[("patients", "later", "other", "sgacc", "decrease")] == ("p1",)
    by_modality = count_votes(corpus, by=["modality"], region_of_focus=no_atlas).table
    assert set(by_modality["modality"]) == {"unknown"}
    with pytest.raises(ValueError, match="cannot split"):
        count_votes(corpus, by=["journal"], region_of_focus=no_atlas)


def test_roll_up_counts_each_study_once_per_ancestor():
    corpus = [study("a", [finding("sgacc", "increase"), finding("pgACC", "increase")])]
    table = count_votes(corpus, region_of_focus=no_atlas, roll_up=True).table.set_index("region")
    assert table.loc["acc", "increase"] == 1
    assert table.loc["limbic", "increase"] == 1
    assert table.loc["sgacc", "increase"] == 1


def test_group_mappings():
    assert population_group(Population.HEALTHY) is PopulationGroup.HEALTHY
    for patient in (Population.MDD, Population.TRD, Population.BIPOLAR, Population.SCHIZOPHRENIA):
        assert population_group(patient) is PopulationGroup.PATIENTS
    assert population_group(Population.CHRONIC_USERS) is PopulationGroup.OTHER
    assert population_group(Population.UNKNOWN) is PopulationGroup.UNKNOWN
    assert timing_group(Timing.DURING) is TimingGroup.ACUTE
    # "Just after dosing" is acute too, and that is what "post infusion" means when parsed.
    assert timing_group(Timing.JUST_AFTER) is TimingGroup.ACUTE
    assert timing_group(Timing.parse("post infusion")) is TimingGroup.ACUTE
    for later in (Timing.HOURS, Timing.DAYS, Timing.WEEKS):
        assert timing_group(later) is TimingGroup.LATER
    assert timing_group(Timing.UNKNOWN) is TimingGroup.UNKNOWN


def test_empty_corpus_gives_an_empty_table():
    result = count_votes([], region_of_focus=no_atlas)
    assert result.table.empty and "q_bh" in result.table.columns


def test_default_locator_is_the_aal3_atlas():
    pytest.importorskip("neuroreview.space.atlas")
    corpus = [study("a", analyses=[analysis("a1", "increase", [(4.0, 22.0, -8.0)])])]
    assert count_votes(corpus).studies == {("other", "sgacc", "increase"): ("a",)}


def test_timing_groups_keep_baseline_predictors_apart():
    """A scan before the dose is neither an acute nor a later effect of the drug."""
    assert Timing.parse("baseline") is Timing.BEFORE
    assert timing_group(Timing.BEFORE) is TimingGroup.BASELINE
    assert timing_group(Timing.JUST_AFTER) is TimingGroup.ACUTE
    assert timing_group(Timing.WEEKS) is TimingGroup.LATER
    assert timing_group(Timing.UNKNOWN) is TimingGroup.UNKNOWN
