"""Undoing a screening decision: a withdrawal appended to the history, honoured by every rule.

The rules (flow, blinding, agreement, ranking labels, PRISMA counts) are checked on hand-made
histories; the pipeline's ``undo_decision`` and its refusals on a SQLite store. Deciding and
undoing must read only the record concerned, never the whole search.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroreview.errors import NeuroreviewError
from neuroreview.model import Decision, DecisionRole, Record, Stage
from neuroreview.pipeline import screening
from neuroreview.pipeline.screening.decisions import _visible_labels
from neuroreview.pipeline.screening.views import record_view, record_views
from neuroreview.screening.agreement import stage_agreement
from neuroreview.screening.blinding import visible_decisions
from neuroreview.screening.flow import (
    Place,
    ScreeningPlan,
    Status,
    effective_decisions,
    record_state,
    stage_outcome,
)
from neuroreview.screening.prisma import prisma_counts
from neuroreview.store import Repository

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


def w(stage, verdict, reviewer, reason=None, minute=0):
    """The withdrawal ``undo_decision`` appends: it copies what it withdraws."""
    return d(stage, verdict, reviewer, reason, role="withdrawal", minute=minute)


# --- the rules -------------------------------------------------------------------------------


def test_the_role_parses_and_a_withdrawal_copies_an_eligibility_reason():
    assert DecisionRole.parse("withdrawal") is DecisionRole.WITHDRAWAL
    assert DecisionRole.parse("undo") is DecisionRole.WITHDRAWAL
    withdrawal = w("eligibility", "exclude", "ann", "wrong drug")
    assert (withdrawal.role.value, withdrawal.reason) == ("withdrawal", "wrong drug")


def test_withdrawals_unwind_a_reviewers_own_decisions_last_first():
    first = d("screening", "include", "ann", minute=0)
    second = d("screening", "exclude", "ann", minute=1)
    bob = d("screening", "include", "bob", minute=2)
    history = [first, second, bob, w("screening", "exclude", "ann", minute=3)]
    assert effective_decisions(history) == [first, bob]
    # A second undo takes away the first verdict too; a third has nothing left to cancel.
    history.append(w("screening", "include", "ann", minute=4))
    assert effective_decisions(history) == [bob]
    history.append(w("screening", "include", "ann", minute=5))
    assert effective_decisions(history) == [bob]
    # The same undo sent twice at once takes back one decision: the second copy names an
    # exclusion, and ann's latest decision in force is then an include.
    raced = [first, second, w("screening", "exclude", "ann"), w("screening", "exclude", "ann")]
    assert effective_decisions(raced) == [first]
    # A withdrawal cancels only at its own stage.
    removal = d("identification", "exclude", "ann", "automation")
    assert effective_decisions([removal, w("screening", "include", "ann")]) == [removal]


def test_a_withdrawn_review_no_longer_counts_and_a_later_one_counts_again():
    withdrawn = [d("screening", "include", "ann"), w("screening", "include", "ann")]
    outcome = stage_outcome(withdrawn, Stage.SCREENING, 1)
    assert (outcome.status, outcome.reviews) == (Status.AWAITING, ())
    again = [*withdrawn, d("screening", "exclude", "ann", minute=2)]
    outcome = stage_outcome(again, Stage.SCREENING, 1)
    assert (outcome.status, [r.verdict.value for r in outcome.reviews]) == (
        Status.EXCLUDE,
        ["exclude"],
    )


def test_a_withdrawn_resolution_reopens_the_conflict():
    reviews = [d("screening", "include", "ann"), d("screening", "exclude", "bob")]
    resolved = [*reviews, d("screening", "exclude", "cat", role="resolution")]
    plan = ScreeningPlan()
    assert record_state(Record(id="r", decisions=resolved), plan).place is Place.EXCLUDED_SCREENING
    reopened = [*resolved, w("screening", "exclude", "cat")]
    state = record_state(Record(id="r", decisions=reopened), plan)
    assert (state.place, state.conflict) == (Place.AWAITING_SCREENING, Stage.SCREENING)


def test_a_withdrawn_removal_puts_the_record_back():
    removed = [d("identification", "exclude", "ann", "automation")]
    plan = ScreeningPlan()
    assert record_state(Record(id="r", decisions=removed), plan).place is Place.REMOVED_AUTOMATION
    back = [*removed, w("identification", "exclude", "ann", "automation")]
    state = record_state(Record(id="r", decisions=back), plan)
    assert (state.place, state.reason) == (Place.AWAITING_SCREENING, None)


def test_another_reviewers_withdrawal_is_as_blind_as_their_review():
    plan = ScreeningPlan()  # two reviewers at title/abstract
    bob_review = d("screening", "include", "bob", minute=0)
    bob_undo = w("screening", "include", "bob", minute=1)
    ann_review = d("screening", "exclude", "ann", minute=2)
    history = [bob_review, bob_undo, ann_review]
    # Bob's review is withdrawn, so only ann's is in: the stage is incomplete and ann sees
    # neither bob's review nor his withdrawal (which would tell her he had decided).
    assert visible_decisions(history, plan, "ann") == [ann_review]
    assert visible_decisions(history, plan, "bob") == [bob_review, bob_undo]
    bob_again = d("screening", "exclude", "bob", minute=3)
    complete = [*history, bob_again]
    assert visible_decisions(complete, plan, "ann") == complete
    # A withdrawn resolution is shown to all, as the resolution was.
    conflict = [d("screening", "include", "ann"), d("screening", "exclude", "bob")]
    resolution = d("screening", "include", "cat", role="resolution")
    undone = w("screening", "include", "cat")
    assert visible_decisions([*conflict, resolution, undone], plan, "dan") == [
        *conflict,
        resolution,
        undone,
    ]


def test_agreement_counts_only_verdicts_in_force():
    # r1: ann include, bob exclude then withdrawn and include: they agree (include/include).
    # r2: ann exclude, bob include: they disagree. Without the withdrawal r1 would disagree too.
    r1 = Record(
        id="r1",
        decisions=[
            d("screening", "include", "ann"),
            d("screening", "exclude", "bob"),
            w("screening", "exclude", "bob"),
            d("screening", "include", "bob"),
        ],
    )
    r2 = Record(
        id="r2", decisions=[d("screening", "exclude", "ann"), d("screening", "include", "bob")]
    )
    # r3: only ann's review is in force: not compared.
    r3 = Record(
        id="r3",
        decisions=[
            d("screening", "include", "ann"),
            d("screening", "include", "bob"),
            w("screening", "include", "bob"),
        ],
    )
    agreement = stage_agreement([r1, r2, r3], Stage.SCREENING, 2)
    assert (agreement.n_records, agreement.agreed) == (2, 1)
    (pair,) = agreement.pairs
    # ann (T, F), bob (T, T): observed 1/2; expected 1/2*1 + 1/2*0 = 1/2; kappa 0.
    assert (pair.reviewers, pair.n_records, pair.agreed, pair.kappa) == (("ann", "bob"), 2, 1, 0.0)


def _pool(*histories):
    plan = ScreeningPlan()
    return [record_state(Record(id=f"r{i}", decisions=h), plan) for i, h in enumerate(histories)]


def test_ranking_learns_nothing_from_a_withdrawn_verdict():
    mine = [d("screening", "include", "ann")]
    assert _visible_labels(_pool(mine), "ann") == [(0, True)]
    assert _visible_labels(_pool([*mine, w("screening", "include", "ann")]), "ann") == []
    # Undoing a changed verdict brings back the one before it.
    changed = [*mine, d("screening", "exclude", "ann", minute=1)]
    assert _visible_labels(_pool(changed), "ann") == [(0, False)]
    undone = [*changed, w("screening", "exclude", "ann", minute=2)]
    assert _visible_labels(_pool(undone), "ann") == [(0, True)]


# --- the pipeline on a store -----------------------------------------------------------------


def make_store(tmp_path: Path, n: int = 3, **reviewers: int) -> str:
    db = str(tmp_path / "review.db")
    with Repository(db) as repository:
        repository.add_records(
            [
                Record(
                    id=f"r{i}",
                    source="PubMed",
                    title=f"Ketamine study {i}",
                    authors=[f"Smith{i}, J."],
                    year=2019,
                )
                for i in range(1, n + 1)
            ]
        )
    screening.configure(db, reviewers or None)
    return db


def stored(db: str, record_id: str = "r1") -> list[tuple[str, str, str, str]]:
    with Repository(db) as repository:
        record = repository.get_record(record_id)
    return [(x.stage.value, x.verdict.value, x.reviewer, x.role.value) for x in record.decisions]


def test_undo_then_decide_again(tmp_path):
    db = make_store(tmp_path, screening=1)
    assert screening.decide(db, "r1", "include", "ann").state.place is Place.AWAITING_RETRIEVAL
    undone = screening.undo_decision(db, "r1", "ann")
    assert (undone.state.place, undone.study) == (Place.AWAITING_SCREENING, None)
    withdrawal = undone.record.decisions[-1]
    assert withdrawal.role is DecisionRole.WITHDRAWAL
    assert withdrawal.time >= undone.record.decisions[0].time
    assert stored(db) == [
        ("screening", "include", "ann", "review"),
        ("screening", "include", "ann", "withdrawal"),
    ]
    queue = screening.next_records(db, "ann")
    assert (sorted(r.id for r in queue.records), queue.decided_by_reviewer) == (
        ["r1", "r2", "r3"],
        0,
    )
    assert screening.decide(db, "r1", "exclude", "ann").state.place is Place.EXCLUDED_SCREENING


def test_dual_review_with_a_withdrawal_keeps_the_record_waiting(tmp_path):
    db = make_store(tmp_path, screening=2)
    screening.decide(db, "r1", "include", "ann")
    screening.undo_decision(db, "r1", "ann")
    after_bob = screening.decide(db, "r1", "include", "bob")
    assert (after_bob.state.place, after_bob.state.conflict) == (Place.AWAITING_SCREENING, None)
    # Bob sees none of ann's history while the stage waits for a second reviewer...
    bob_view = record_view(db, "r1", "bob")
    assert ([x.reviewer for x in bob_view.decisions], bob_view.hidden) == (["bob"], 2)
    ann_view = record_view(db, "r1", "ann")
    assert ([x.role.value for x in ann_view.decisions], ann_view.hidden) == (
        ["review", "withdrawal"],
        1,
    )
    # ...and all of it once ann has decided again.
    assert screening.decide(db, "r1", "exclude", "ann").state.conflict is Stage.SCREENING
    assert [(x.reviewer, x.role.value) for x in record_view(db, "r1", "bob").decisions] == [
        ("ann", "review"),
        ("ann", "withdrawal"),
        ("bob", "review"),
        ("ann", "review"),
    ]


def test_undoing_a_resolution_reopens_the_conflict(tmp_path):
    db = make_store(tmp_path, screening=2)
    screening.decide(db, "r1", "include", "ann")
    screening.decide(db, "r1", "exclude", "bob")
    resolved = screening.decide(db, "r1", "exclude", "cat", resolve=True)
    assert resolved.state.place is Place.EXCLUDED_SCREENING
    assert screening.conflicts(db) == []
    reopened = screening.undo_decision(db, "r1", "cat")
    assert (reopened.state.place, reopened.state.conflict) == (
        Place.AWAITING_SCREENING,
        Stage.SCREENING,
    )
    assert [s.record.id for s in screening.conflicts(db)] == ["r1"]
    assert stored(db)[-1] == ("screening", "exclude", "cat", "withdrawal")


def test_undoing_a_removal_puts_the_record_back_and_it_can_be_screened(tmp_path):
    db = make_store(tmp_path, screening=1)
    removed = screening.decide(
        db, "r1", "exclude", "ann", stage="identification", reason="automation"
    )
    assert removed.state.place is Place.REMOVED_AUTOMATION
    back = screening.undo_decision(db, "r1", "ann")
    assert back.state.place is Place.AWAITING_SCREENING
    assert stored(db)[-1] == ("identification", "exclude", "ann", "withdrawal")
    assert screening.decide(db, "r1", "include", "bob").state.place is Place.AWAITING_RETRIEVAL


def test_a_withdrawn_screening_review_lets_the_record_be_removed(tmp_path):
    db = make_store(tmp_path, screening=2)
    screening.decide(db, "r1", "include", "ann")
    with pytest.raises(NeuroreviewError, match="has been screened already"):
        screening.decide(db, "r1", "exclude", "ann", stage="identification", reason="off topic")
    screening.undo_decision(db, "r1", "ann")
    removed = screening.decide(
        db, "r1", "exclude", "ann", stage="identification", reason="off topic"
    )
    assert (removed.state.place, removed.state.reason) == (Place.REMOVED_OTHER, "off topic")


def refusal(db: str, record_id: str, reviewer: str) -> str:
    with pytest.raises(NeuroreviewError) as caught:
        screening.undo_decision(db, record_id, reviewer)
    return str(caught.value)


def test_undo_refuses_with_a_clear_message(tmp_path):
    db = make_store(tmp_path, screening=2)
    assert refusal(db, "zz", "ann") == f"no record 'zz' in {tmp_path / 'review.db'}"
    assert refusal(db, "r1", "ann") == "record r1: ann has no decision on it to undo"
    screening.decide(db, "r1", "include", "ann")
    screening.undo_decision(db, "r1", "ann")
    # Its only decision is withdrawn: nothing left to undo.
    assert refusal(db, "r1", "ann") == "record r1: ann has no decision on it to undo"
    screening.decide(db, "r1", "include", "ann")
    screening.decide(db, "r1", "exclude", "bob")
    assert refusal(db, "r1", "ann") == (
        "record r1: bob decided on it after ann's include at screening; only a decision "
        "nobody has decided after can be undone"
    )
    # Bob's review is the last: he may undo it, and then ann may undo hers.
    screening.undo_decision(db, "r1", "bob")
    assert screening.undo_decision(db, "r1", "ann").state.place is Place.AWAITING_SCREENING
    assert len(stored(db)) == 6  # nothing was deleted


def test_a_blind_colleague_is_not_named(tmp_path):
    db = make_store(tmp_path, screening=3)
    screening.decide(db, "r1", "exclude", "ann", stage="screening")
    screening.decide(db, "r1", "include", "bob")
    assert refusal(db, "r1", "ann") == (
        "record r1: another reviewer (blind until every review of that stage is in) decided "
        "on it after ann's exclude at screening; only a decision nobody has decided after can "
        "be undone"
    )


def test_a_record_that_became_a_study_is_edited_not_undone(tmp_path):
    db = make_store(tmp_path, screening=1, eligibility=1)
    screening.decide(db, "r1", "include", "ann")
    screening.decide(db, "r1", "include", "ann")  # retrieved
    included = screening.decide(db, "r1", "include", "ann")  # eligible
    assert (included.state.place, included.study.id) == (Place.INCLUDED, "smith12019")
    assert refusal(db, "r1", "ann") == (
        "record r1 has become study smith12019; its decisions can no longer be undone: "
        "edit or delete the study instead"
    )
    with Repository(db) as repository:
        repository.delete_study("smith12019")
    assert screening.undo_decision(db, "r1", "ann").state.place is Place.AWAITING_ELIGIBILITY


def test_an_undone_exclusion_keeps_its_reason_in_the_withdrawal(tmp_path):
    db = make_store(tmp_path, screening=1, eligibility=1)
    screening.configure(db, reasons=["wrong drug", "no imaging"])
    screening.decide(db, "r1", "include", "ann")
    screening.decide(db, "r1", "exclude", "ann", stage="eligibility", reason="Wrong  drug")
    undone = screening.undo_decision(db, "r1", "ann")
    withdrawal = undone.record.decisions[-1]
    assert (withdrawal.stage, withdrawal.verdict.value, withdrawal.reason) == (
        Stage.ELIGIBILITY,
        "exclude",
        "wrong drug",
    )
    # The full-text decision implied retrieval; with it withdrawn the record waits there again.
    assert undone.state.place is Place.AWAITING_RETRIEVAL


def test_prisma_counts_after_undo(tmp_path):
    db = make_store(tmp_path, n=4, screening=1)
    screening.decide(db, "r1", "include", "ann")
    screening.decide(db, "r2", "exclude", "ann")
    screening.decide(db, "r3", "exclude", "ann", stage="identification", reason="automation")
    screening.decide(db, "r4", "exclude", "bob", stage="identification", reason="retracted")
    arm = screening.screening_report(db).counts.databases
    before = (arm.automation, arm.other_removed, arm.screened, arm.excluded_screening)
    assert before + (arm.awaiting_screening, arm.sought) == (1, 1, 2, 1, 0, 1)
    screening.undo_decision(db, "r2", "ann")
    screening.undo_decision(db, "r3", "ann")
    arm = screening.screening_report(db).counts.databases
    after = (arm.automation, arm.other_removed, arm.screened, arm.excluded_screening)
    assert after + (arm.awaiting_screening, arm.sought) == (0, 1, 3, 0, 2, 1)
    assert screening.screening_report(db).counts.unbalanced() == []


def test_deciding_undoing_and_viewing_read_only_the_record_concerned(tmp_path, monkeypatch):
    db = make_store(tmp_path, screening=1, eligibility=1)

    def whole_store(self, *args, **kwargs):
        raise AssertionError("read every record of the store")

    monkeypatch.setattr(Repository, "list_records", whole_store)
    monkeypatch.setattr(Repository, "record_studies", whole_store)
    screening.decide(db, "r1", "include", "ann")
    screening.decide(db, "r1", "include", "ann")
    assert screening.decide(db, "r1", "include", "ann").study.id == "smith12019"
    assert record_view(db, "r1", "ann").study_id == "smith12019"
    screening.decide(db, "r2", "exclude", "ann")
    assert screening.undo_decision(db, "r2", "ann").state.place is Place.AWAITING_SCREENING
    views, total = record_views(db, "ann", ids=["r2", "r1"])
    assert ([v.record.id for v in views], total) == (["r2", "r1"], 2)
    assert [(v.place, v.study_id) for v in views] == [
        (Place.AWAITING_SCREENING, None),
        (Place.INCLUDED, "smith12019"),
    ]
    with pytest.raises(NeuroreviewError, match="^no record 'zz'$"):
        record_views(db, "ann", ids=["r1", "zz"])
    with pytest.raises(NeuroreviewError, match="^no record 'zz' in "):
        screening.decide(db, "zz", "include", "ann")


def test_a_decision_costs_a_few_queries_whatever_the_size_of_the_search(tmp_path):
    from sqlalchemy import event

    counts = {}
    for n in (3, 300):
        (tmp_path / str(n)).mkdir()
        db = make_store(tmp_path / str(n), n=n, screening=1)
        statements: list[str] = []
        original = Repository.__init__

        def counting(self, *args, _original=original, _statements=statements, **kwargs):
            _original(self, *args, **kwargs)
            event.listen(
                self.engine,
                "before_cursor_execute",
                lambda *a, _s=_statements: _s.append(a[2]),
            )

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Repository, "__init__", counting)
            screening.decide(db, "r2", "include", "ann")
            screening.undo_decision(db, "r2", "ann")
            record_view(db, "r2", "ann")
        counts[n] = len(statements)
        assert not any("FROM records ORDER BY" in s for s in statements)
    assert counts[3] == counts[300]


# --- any history -----------------------------------------------------------------------------

REVIEWERS = ["ann", "bob", "cat"]
STAGES = ["identification", "screening", "retrieval", "eligibility"]


@st.composite
def decisions(draw, minute: int = 0) -> Decision:
    """A review, resolution or withdrawal (of whatever verdict) by one of three reviewers."""
    return d(
        draw(st.sampled_from(STAGES)),
        draw(st.sampled_from(["include", "exclude", "maybe"])),
        draw(st.sampled_from(REVIEWERS)),
        draw(st.sampled_from(["wrong drug", "automation"])),
        draw(st.sampled_from(["review", "review", "resolution", "withdrawal"])),
        minute,
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(decisions(), max_size=10),
    decisions(minute=20).filter(lambda x: x.role is not DecisionRole.WITHDRAWAL),
    st.sampled_from(["database", "citation"]),
    st.integers(1, 3),
)
def test_undoing_the_last_decision_puts_any_record_back_where_it_was(history, last, origin, needed):
    plan = ScreeningPlan(
        reviewers={s: needed for s in (Stage.SCREENING, Stage.ELIGIBILITY)} | {Stage.RETRIEVAL: 1}
    )
    undo = w(last.stage, last.verdict, last.reviewer, last.reason, minute=21)
    before = Record(id="r", origin=origin, decisions=history)
    after = Record(id="r", origin=origin, decisions=[*history, last, undo])
    assert effective_decisions(after.decisions) == effective_decisions(history)
    was, now = record_state(before, plan), record_state(after, plan)
    assert (now.place, now.reason, now.conflict) == (was.place, was.reason, was.conflict)
    counts = prisma_counts([now], {})
    assert counts.unbalanced() == []
