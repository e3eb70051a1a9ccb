"""Where records stand in the PRISMA 2020 flow, its counts, reviewer agreement and the diagram."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroreview.model import Decision, Record, Stage
from neuroreview.screening.agreement import cohen_kappa, fleiss_kappa, stage_agreement
from neuroreview.screening.diagram import layout, to_png, to_svg
from neuroreview.screening.flow import (
    Place,
    ScreeningPlan,
    Status,
    record_state,
    record_states,
    stage_outcome,
)
from neuroreview.screening.prisma import prisma_counts

PLAN = ScreeningPlan()
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def d(stage, verdict, reviewer, reason=None, role="review", minute=0):
    return Decision(
        stage=stage,
        verdict=verdict,
        reviewer=reviewer,
        reason=reason,
        role=role,
        time=T0 + timedelta(minutes=minute),
    )


def record(rid="r1", decisions=(), **fields):
    return Record(id=rid, title="Ketamine and the sgACC", decisions=list(decisions), **fields)


# --- one stage ---------------------------------------------------------------------------


def test_a_stage_waits_for_every_reviewer_the_plan_asks_for():
    one = [d("screening", "include", "ann")]
    assert stage_outcome(one, Stage.SCREENING, 2).status is Status.AWAITING
    assert stage_outcome(one, Stage.SCREENING, 1).status is Status.INCLUDE


def test_maybe_goes_forward_like_include_and_disagreement_is_a_conflict():
    agreed = [d("screening", "include", "ann"), d("screening", "maybe", "bob")]
    assert stage_outcome(agreed, Stage.SCREENING, 2).status is Status.INCLUDE
    split = [d("screening", "include", "ann"), d("screening", "exclude", "bob")]
    assert stage_outcome(split, Stage.SCREENING, 2).status is Status.CONFLICT


def test_a_reviewers_latest_verdict_counts_once():
    changed = [
        d("screening", "exclude", "ann", minute=0),
        d("screening", "include", "bob", minute=1),
        d("screening", "include", "ann", minute=2),
    ]
    outcome = stage_outcome(changed, Stage.SCREENING, 2)
    assert outcome.status is Status.INCLUDE and len(outcome.reviews) == 2


def test_excluders_who_give_different_full_text_reasons_are_in_conflict():
    same = [
        d("eligibility", "exclude", "ann", "wrong drug"),
        d("eligibility", "exclude", "bob", "wrong drug"),
    ]
    outcome = stage_outcome(same, Stage.ELIGIBILITY, 2)
    assert (outcome.status, outcome.reason) == (Status.EXCLUDE, "wrong drug")
    differ = [
        d("eligibility", "exclude", "ann", "wrong drug"),
        d("eligibility", "exclude", "bob", "no usable results"),
    ]
    assert stage_outcome(differ, Stage.ELIGIBILITY, 2).status is Status.CONFLICT


def test_a_resolution_outranks_the_reviews():
    reviews = [d("screening", "include", "ann"), d("screening", "exclude", "bob")]
    resolved = [*reviews, d("screening", "exclude", "cat", role="resolution", minute=5)]
    outcome = stage_outcome(resolved, Stage.SCREENING, 2)
    assert outcome.status is Status.EXCLUDE and outcome.resolution.reviewer == "cat"


# --- a record's place ----------------------------------------------------------------------


def both(stage, verdict, reason=None):
    return [d(stage, verdict, "ann", reason), d(stage, verdict, "bob", reason)]


@pytest.mark.parametrize(
    ("decisions", "place"),
    [
        ([], Place.AWAITING_SCREENING),
        (both("screening", "exclude"), Place.EXCLUDED_SCREENING),
        (both("screening", "include"), Place.AWAITING_RETRIEVAL),
        ([*both("screening", "include"), d("retrieval", "exclude", "ann")], Place.NOT_RETRIEVED),
        (
            [*both("screening", "include"), d("retrieval", "include", "ann")],
            Place.AWAITING_ELIGIBILITY,
        ),
        # A full-text decision implies the report was retrieved.
        ([*both("screening", "include"), *both("eligibility", "include")], Place.INCLUDED),
        (
            [*both("screening", "include"), *both("eligibility", "exclude", "wrong drug")],
            Place.EXCLUDED_FULL_TEXT,
        ),
        ([d("identification", "exclude", "tool", "automation")], Place.REMOVED_AUTOMATION),
        ([d("identification", "exclude", "ann", "retracted")], Place.REMOVED_OTHER),
    ],
)
def test_a_records_place_follows_from_its_decisions(decisions, place):
    assert record_state(record(decisions=decisions), PLAN).place is place


def test_duplicates_and_other_methods():
    assert record_state(record(duplicate_of="r0"), PLAN).place is Place.DUPLICATE
    cited = record(origin="citation")
    assert record_state(cited, PLAN).place is Place.AWAITING_RETRIEVAL


def test_a_conflict_is_named_with_its_stage():
    state = record_state(
        record(decisions=[d("screening", "include", "ann"), d("screening", "exclude", "bob")]), PLAN
    )
    assert (state.place, state.conflict) == (Place.AWAITING_SCREENING, Stage.SCREENING)


def test_the_plan_checks_reasons_and_reviewer_counts():
    assert PLAN.reason("  Wrong   DRUG ") == "wrong drug"
    with pytest.raises(ValueError, match="not one of the review's exclusion reasons"):
        PLAN.reason("bad vibes")
    with pytest.raises(ValueError, match="at least one reviewer"):
        ScreeningPlan(reviewers={Stage.SCREENING: 0, Stage.RETRIEVAL: 1, Stage.ELIGIBILITY: 1})


# --- counts --------------------------------------------------------------------------------


def flow_records():
    """A hand-counted review: 10 database records (2 PubMed duplicates), 2 from citations."""
    inc = both("screening", "include")
    records = [
        record("p1", source="PubMed"),
        record("p2", source="PubMed", duplicate_of="e1"),
        record("p3", source="PubMed", decisions=both("screening", "exclude")),
        record("p4", source="PubMed", decisions=[*inc, *both("eligibility", "include")]),
        record(
            "p5",
            source="PubMed",
            decisions=[*inc, *both("eligibility", "exclude", "wrong drug")],
        ),
        record("e1", source="Embase", decisions=[*inc, d("retrieval", "exclude", "ann")]),
        record("e2", source="Embase", duplicate_of="p4"),
        record(
            "e3", source="Embase", decisions=[d("identification", "exclude", "x", "automation")]
        ),
        record("e4", source="Embase", decisions=inc),
        record("c1", source="ClinicalTrials.gov", origin="register"),
        record("o1", source="refs", origin="citation", decisions=both("eligibility", "include")),
        record("o2", source="site", origin="website"),
    ]
    return records


def test_prisma_counts_every_box_by_hand():
    states = record_states(flow_records(), PLAN)
    counts = prisma_counts(states, {"p4": "study-a", "o1": "study-a"})
    db = counts.databases
    assert db.identified == {"ClinicalTrials.gov": 1, "Embase": 4, "PubMed": 5}
    assert counts.registers == ("ClinicalTrials.gov",)
    assert (db.duplicates, db.automation, db.other_removed) == (2, 1, 0)
    assert (db.screened, db.excluded_screening, db.awaiting_screening) == (7, 1, 2)
    assert (db.sought, db.not_retrieved, db.awaiting_retrieval) == (4, 1, 1)
    assert (db.assessed, db.excluded_full_text, db.included) == (2, {"wrong drug": 1}, 1)
    other = counts.other_methods
    assert other.identified == {"citation": 1, "website": 1}
    assert (other.sought, other.awaiting_retrieval, other.assessed, other.included) == (2, 1, 1, 1)
    # Two reports of one study: PRISMA counts studies and reports apart.
    assert (counts.studies, counts.reports) == (1, 2)
    assert counts.unbalanced() == []


STAGES = ["screening", "retrieval", "eligibility", "identification"]


@st.composite
def histories(draw):
    """Random imports, merges and decisions, in any order, by any of four reviewers."""
    n = draw(st.integers(1, 25))
    records = []
    for i in range(n):
        origin = draw(st.sampled_from(["database", "database", "register", "citation", "website"]))
        source = draw(st.sampled_from(["PubMed", "Embase", "Scopus", None]))
        decisions = []
        for minute in range(draw(st.integers(0, 8))):
            stage = draw(st.sampled_from(STAGES))
            verdict = draw(st.sampled_from(["include", "exclude", "maybe"]))
            reason = draw(st.sampled_from(["wrong drug", "automation", "no usable results"]))
            role = draw(st.sampled_from(["review", "review", "review", "resolution"]))
            reviewer = draw(st.sampled_from(["ann", "bob", "cat", "dan"]))
            decisions.append(d(stage, verdict, reviewer, reason, role, minute))
        duplicate = draw(st.one_of(st.none(), st.integers(0, n - 1)))
        records.append(
            Record(
                id=f"r{i}",
                source=source,
                origin=origin,
                title="t",
                decisions=decisions,
                duplicate_of=f"r{duplicate}" if duplicate not in (None, i) else None,
            )
        )
    reviewers = {
        Stage.SCREENING: draw(st.integers(1, 3)),
        Stage.RETRIEVAL: draw(st.integers(1, 2)),
        Stage.ELIGIBILITY: draw(st.integers(1, 3)),
    }
    links = {f"r{i}": f"s{draw(st.integers(0, 3))}" for i in range(n) if draw(st.booleans())}
    return records, ScreeningPlan(reviewers=reviewers), links


@settings(max_examples=300, deadline=None)
@given(histories())
def test_any_history_gives_counts_that_add_up_in_every_box(history):
    records, plan, links = history
    states = record_states(records, plan)
    counts = prisma_counts(states, links)
    assert counts.unbalanced() == []
    total = counts.databases.n_identified + counts.other_methods.n_identified
    assert total == len(records)
    assert counts.studies <= counts.reports
    # The drawing carries the same numbers.
    numbers = svg_numbers(to_svg(layout(counts)))
    assert numbers["databases.screened"][0] == counts.databases.screened
    assert numbers["included"] == [counts.studies, counts.reports]


# --- agreement -----------------------------------------------------------------------------


def test_cohen_kappa_matches_scikit_learn_and_a_hand_count():
    from sklearn.metrics import cohen_kappa_score

    a = [True, True, False, False, True, False, True, True]
    b = [True, False, False, False, True, True, True, True]
    # Observed 6/8; expected (5/8)(5/8) + (3/8)(3/8) = 34/64: kappa = (48-34)/(64-34) = 14/30.
    assert cohen_kappa(a, b) == pytest.approx(14 / 30)
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert cohen_kappa([True, True], [True, True]) is None


def test_fleiss_kappa_matches_statsmodels():
    from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

    counts = [(3, 0), (2, 1), (0, 3), (1, 2), (3, 0), (0, 3), (2, 1)]
    assert fleiss_kappa(counts) == pytest.approx(statsmodels_fleiss(counts))
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa([(2, 0), (1, 1), (3, 0)])


def test_agreement_per_stage_over_a_pool_of_reviewers():
    records = [
        record("a", [d("screening", "include", "ann"), d("screening", "include", "bob")]),
        record("b", [d("screening", "exclude", "ann"), d("screening", "include", "bob")]),
        record("c", [d("screening", "exclude", "ann"), d("screening", "exclude", "cat")]),
        record("e", [d("screening", "exclude", "bob"), d("screening", "maybe", "cat")]),
        record("f", [d("screening", "include", "ann")]),
    ]
    agreement = stage_agreement(records, Stage.SCREENING, 2)
    assert (agreement.n_records, agreement.agreed, agreement.fleiss_records) == (4, 2, 4)
    pairs = {p.reviewers: (p.n_records, p.agreed) for p in agreement.pairs}
    assert pairs == {("ann", "bob"): (2, 1), ("ann", "cat"): (1, 1), ("bob", "cat"): (1, 0)}
    # Forward/no-go counts per record: (2,0) (1,1) (0,2) (1,1): p_forward = 4/8.
    # P_i = 1, 0, 1, 0 -> P = 0.5; P_e = 0.5: kappa = 0.
    assert agreement.fleiss_kappa == pytest.approx(0.0)
    assert agreement.percent_agreement == pytest.approx(50.0)


# --- the diagram ---------------------------------------------------------------------------


def svg_numbers(svg: str) -> dict[str, list[int]]:
    """Each box's counts, read back from the SVG text."""
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    out = {}
    for group in root.findall("s:g", ns):
        key = group.get("data-box")
        if key is None:
            continue
        text = " ".join(t.text for t in group.findall("s:text", ns))
        out[key] = [int(n) for n in re.findall(r"\(n = (\d+)\)", text)]
    return out


def test_the_svg_is_xml_and_its_boxes_hold_the_counts():
    counts = prisma_counts(record_states(flow_records(), PLAN), {"p4": "s", "o1": "s"})
    svg = to_svg(layout(counts))
    numbers = svg_numbers(svg)
    # Databases 9 (Embase 4, PubMed 5), registers 1 (ClinicalTrials.gov 1).
    assert numbers["databases.identified"] == [9, 4, 5, 1, 1]
    assert numbers["databases.identified.out"] == [2, 1, 0]
    assert numbers["databases.screened"] == [7, 2]  # 2 awaiting a decision
    assert numbers["databases.screened.out"] == [1]
    assert numbers["databases.sought"] == [4, 1]
    assert numbers["databases.sought.out"] == [1]
    assert numbers["databases.assessed"] == [2]
    assert numbers["databases.assessed.out"] == [1, 1]
    assert numbers["other.identified"] == [1, 1]
    assert numbers["other.sought"] == [2, 1]
    assert numbers["other.assessed.out"] == [0]
    assert numbers["included"] == [1, 2]
    assert "wrong drug (n = 1)" in svg and "Citation searching (n = 1)" in svg
    bands = re.findall(r'data-band="([^"]+)"', svg)
    assert bands == ["Identification", "Screening", "Included"]


def test_without_other_methods_there_is_one_arm():
    records = [r for r in flow_records() if r.origin.value in ("database", "register")]
    svg = to_svg(layout(prisma_counts(record_states(records, PLAN))))
    assert not any(key.startswith("other.") for key in svg_numbers(svg))


def test_the_png_is_drawn_from_the_same_layout(monkeypatch):
    import matplotlib

    # NiMARE, imported by other tests, sets a tight bounding box for every figure saved.
    monkeypatch.setitem(matplotlib.rcParams, "savefig.bbox", "tight")
    counts = prisma_counts(record_states(flow_records(), PLAN))
    png = to_png(layout(counts))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    import io

    import matplotlib.image as mpimg

    image = mpimg.imread(io.BytesIO(png))
    drawn = layout(counts)
    assert image.shape[1] == pytest.approx(drawn.width * 1.5, abs=2)
