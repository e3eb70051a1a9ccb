"""Dual extraction: the field-by-field comparison of two extractions, merging them, blinding,
and the pipeline over a store (drafts, submission, reopening, adoption audited and undone)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from neuroreview.errors import InputError
from neuroreview.model import Analysis, Focus, RegionFinding, Study
from neuroreview.model.compare import compare_studies, merge_studies
from neuroreview.pipeline import changes
from neuroreview.pipeline.extraction import (
    ExtractionConflict,
    ExtractorState,
    InvalidExtraction,
    NotComparable,
    UnknownStudy,
    adopt_extraction,
    compare_extractions,
    comparison_refusal,
    extraction_status,
    my_extraction,
    parse_extraction,
    reopen_extraction,
    save_extraction,
)
from neuroreview.store import Repository

# Fields compared in the study below: 15 of the study, 8 per analysis, 6 per focus, and per
# region finding 6 plus its (absent) effect size.
STUDY_FIELDS, ANALYSIS_FIELDS, FOCUS_FIELDS, FINDING_FIELDS = 15, 8, 6, 7
BASE_COUNT = STUDY_FIELDS + (ANALYSIS_FIELDS + 2 * FOCUS_FIELDS) + (ANALYSIS_FIELDS + 6) + 7
assert BASE_COUNT == 56


def smith(**fields) -> Study:
    """Hand-made extraction of a two-analysis fMRI study, with one region finding."""
    values = dict(
        id="smith2019",
        title="Ketamine and the sgACC",
        authors=["Smith, J."],
        year=2019,
        population="mdd",
        n_subjects=20,
        drug="ketamine",
        modality="fmri_task",
        record_id="1.1",
        analyses=[
            Analysis(
                id="1",
                contrast="ketamine > placebo",
                direction="decrease",
                n_subjects=20,
                foci=[
                    Focus(x=2, y=30, z=-8),
                    Focus(x=-4, y=-52, z=28, stat_kind="z", stat_value=4.1),
                ],
            ),
            Analysis(
                id="2",
                contrast="ketamine < placebo",
                direction="increase",
                foci=[Focus(x=10, y=12, z=2)],
            ),
        ],
        region_findings=[RegionFinding(region="sgACC", direction="decrease", measure="bold")],
    )
    return Study(**(values | fields))


def with_focus(study: Study, analysis: int, focus: int, **values) -> Study:
    data = study.model_dump(mode="json")
    data["analyses"][analysis]["foci"][focus].update(values)
    return Study.model_validate(data)


def with_analysis(study: Study, analysis: int, **values) -> Study:
    data = study.model_dump(mode="json")
    data["analyses"][analysis].update(values)
    return Study.model_validate(data)


def disagreeing(comparison) -> list[tuple[str, dict]]:
    return [(f.path, f.values) for f in comparison.fields if not f.agree]


# --- the pure comparison ---------------------------------------------------------------------


def test_identical_extractions_agree_on_every_field():
    found = compare_studies({"ann": smith(), "bob": smith()})
    assert (found.compared, found.disagreements, found.agreement) == (56, 0, 100.0)
    assert found.reviewers == ("ann", "bob") and found.study_id == "smith2019"
    assert [f.path for f in found.fields[:3]] == ["title", "authors", "year"]
    assert found.field("analyses.0.foci.1.stat_value").values == {"ann": 4.1, "bob": 4.1}
    assert [(p.path, p.paired_by) for p in found.pairings] == [
        ("analyses.0", "id"),
        ("analyses.1", "id"),
        ("region_findings.0", "region and direction"),
    ]


def test_a_focus_two_mm_off_in_y_is_one_disagreement_with_its_spread():
    bob = with_focus(smith(), 0, 1, y=-50)
    found = compare_studies({"ann": smith(), "bob": bob})
    assert disagreeing(found) == [("analyses.0.foci.1.y", {"ann": -52.0, "bob": -50.0})]
    assert found.field("analyses.0.foci.1.y").spread_mm == 2.0
    assert (found.compared, found.disagreements) == (56, 1)
    assert found.agreement == pytest.approx(100 * 55 / 56)


def test_coordinates_agree_within_a_hundredth_of_a_millimetre():
    close = compare_studies({"ann": smith(), "bob": with_focus(smith(), 0, 0, x=2.01)})
    assert close.disagreements == 0
    assert close.field("analyses.0.foci.0.x").spread_mm == pytest.approx(0.01)
    apart = compare_studies({"ann": smith(), "bob": with_focus(smith(), 0, 0, x=2.02)})
    assert disagreeing(apart) == [("analyses.0.foci.0.x", {"ann": 2.0, "bob": 2.02})]


def test_a_correlation_entered_as_a_drug_effect_is_caught():
    bob = with_analysis(smith(), 1, kind="correlation")
    found = compare_studies({"ann": smith(), "bob": bob})
    assert disagreeing(found) == [("analyses.1.kind", {"ann": "drug_effect", "bob": "correlation"})]


def test_a_missing_analysis_is_one_disagreement_at_its_path():
    bob = smith(analyses=smith().analyses[:1])
    found = compare_studies({"ann": smith(), "bob": bob})
    assert disagreeing(found) == [
        ("analyses.1", {"ann": "2: ketamine < placebo (1 foci, drug_effect)", "bob": None})
    ]
    assert found.field("analyses.1").item
    assert (found.compared, found.disagreements) == (56 - 14 + 1, 1)
    assert [(p.path, p.paired_by, p.labels) for p in found.pairings[:2]] == [
        ("analyses.0", "id", {"ann": "1", "bob": "1"}),
        ("analyses.1", "unpaired", {"ann": "2", "bob": None}),
    ]


def test_an_extra_region_finding_is_one_disagreement():
    extra = RegionFinding(region="hippocampus", direction="increase", measure="glutamate")
    bob = smith(region_findings=[*smith().region_findings, extra])
    found = compare_studies({"ann": smith(), "bob": bob})
    assert disagreeing(found) == [
        (
            "region_findings.1",
            {"ann": None, "bob": "hippocampus increase (drug_effect, glutamate)"},
        )
    ]
    assert (found.compared, found.disagreements) == (57, 1)


def test_analyses_with_other_ids_are_paired_by_position_and_text_ignores_case():
    renamed = smith(title="ketamine  and the SGACC")
    renamed = with_analysis(with_analysis(renamed, 0, id="a"), 1, id="b")
    found = compare_studies({"ann": smith(), "bob": renamed})
    assert (found.compared, found.disagreements) == (56, 0)
    assert [(p.path, p.paired_by, p.labels) for p in found.pairings[:2]] == [
        ("analyses.0", "position", {"ann": "1", "bob": "a"}),
        ("analyses.1", "position", {"ann": "2", "bob": "b"}),
    ]


def test_findings_pair_by_region_and_direction_whatever_their_order():
    first = RegionFinding(region="sgACC", direction="decrease", measure="bold")
    second = RegionFinding(region="insula", direction="increase", measure="bold", kind="other")
    ann = smith(region_findings=[first, second])
    bob_second = RegionFinding(region="Insula", direction="increase", measure="bold")
    bob = smith(region_findings=[bob_second, first])
    found = compare_studies({"ann": ann, "bob": bob})
    assert disagreeing(found) == [
        ("region_findings.1.kind", {"ann": "other", "bob": "drug_effect"})
    ]


def test_three_extractions_compare_in_one_row_per_field():
    found = compare_studies(
        {"ann": smith(), "bob": with_focus(smith(), 0, 1, y=-50), "cy": smith()}
    )
    assert disagreeing(found) == [
        ("analyses.0.foci.1.y", {"ann": -52.0, "bob": -50.0, "cy": -52.0})
    ]


def test_a_comparison_needs_two_extractions():
    with pytest.raises(ValueError, match="at least two extractions"):
        compare_studies({"ann": smith()})


# --- merging ---------------------------------------------------------------------------------


def test_adopting_one_extraction_with_fields_from_the_other():
    extra = RegionFinding(region="hippocampus", direction="increase", measure="glutamate")
    bob = with_analysis(with_focus(smith(), 0, 1, y=-50), 1, kind="correlation")
    bob = bob.model_copy(update={"region_findings": [*bob.region_findings, extra]})
    both = {"ann": smith(notes="ann's note"), "bob": bob}
    merged = merge_studies(both, "ann", {"analyses.0.foci.1.y": "bob", "region_findings.1": "bob"})
    expected = with_focus(smith(notes="ann's note"), 0, 1, y=-50)
    expected = expected.model_copy(update={"region_findings": [*expected.region_findings, extra]})
    assert merged == expected
    # From bob's side, taking ann's kind back and leaving the extra finding out.
    merged = merge_studies(both, "bob", {"analyses.1.kind": "ann", "region_findings.1": "ann"})
    assert merged == with_focus(smith(), 0, 1, y=-50)
    assert merge_studies(both, "bob") == bob


def test_choosing_the_side_without_an_analysis_removes_it():
    bob = smith(analyses=smith().analyses[:1])
    merged = merge_studies({"ann": smith(), "bob": bob}, "ann", {"analyses.1": "bob"})
    assert [a.id for a in merged.analyses] == ["1"]
    kept = merge_studies({"ann": smith(), "bob": bob}, "bob", {"analyses.1": "ann"})
    assert kept == smith()


def test_a_choice_must_name_a_compared_field_and_an_extraction():
    both = {"ann": smith(), "bob": smith(analyses=smith().analyses[:1])}
    with pytest.raises(InputError) as unknown:
        merge_studies(both, "ann", {"analyses.0.foci.9.x": "bob"})
    assert str(unknown.value) == (
        "no compared field 'analyses.0.foci.9.x' in the comparison of these extractions"
    )
    # The fields of an analysis only one extraction has were never compared.
    with pytest.raises(InputError, match="no compared field 'analyses.1.kind'"):
        merge_studies(both, "ann", {"analyses.1.kind": "bob"})
    with pytest.raises(InputError) as nobody:
        merge_studies(both, "ann", {"title": "cy"})
    assert str(nobody.value) == "no extraction by 'cy' to take values from"


# --- blinding --------------------------------------------------------------------------------

T = datetime(2024, 5, 1, tzinfo=UTC)


def states(**submitted: bool) -> list[ExtractorState]:
    return [ExtractorState(r, T, T if done else None) for r, done in submitted.items()]


def test_nobody_sees_values_before_two_extractions_are_submitted():
    needs = "the comparison opens when they are"
    assert comparison_refusal([], "olga") == f"0 of the 2 extractions needed are submitted; {needs}"
    one = states(ann=True, bob=False)
    own_first = "submit your own extraction first: the others stay hidden while yours is open"
    assert comparison_refusal(one, "bob") == own_first
    for viewer in ("ann", "olga"):  # the one who submitted, and an owner who did not extract
        assert comparison_refusal(one, viewer) == (
            f"1 of the 2 extractions needed are submitted; {needs}"
        )


def test_once_two_are_submitted_all_see_but_an_open_extraction():
    done = states(ann=True, bob=True, cy=False)
    assert [comparison_refusal(done, v) for v in ("ann", "bob", "olga", "vic")] == [None] * 4
    assert comparison_refusal(done, "cy").startswith("submit your own extraction first")
    reopened = states(ann=False, bob=True)
    assert comparison_refusal(reopened, "ann").startswith("submit your own extraction first")
    assert comparison_refusal(reopened, "olga").startswith("1 of the 2")


# --- the pipeline over a store ---------------------------------------------------------------


@pytest.fixture
def db(tmp_path) -> str:
    path = str(tmp_path / "review.db")
    with Repository(path) as repository:
        repository.add_study(
            Study(id="smith2019", title="Ketamine and the sgACC", year=2019, record_id="1.1")
        )
    return path


def test_a_draft_starts_from_the_stored_study_and_is_kept_apart(db):
    assert my_extraction(db, "smith2019", "ann") == Study(
        id="smith2019", title="Ketamine and the sgACC", year=2019, record_id="1.1"
    )
    state = save_extraction(db, "smith2019", "ann", smith())
    assert state.reviewer == "ann" and state.submitted is None
    assert my_extraction(db, "smith2019", "ann") == smith()
    assert my_extraction(db, "smith2019", "bob").analyses == []  # bob starts afresh
    with Repository(db) as repository:
        assert repository.get_study("smith2019").analyses == []  # the study is untouched
    with pytest.raises(UnknownStudy, match="no study 'nope' in this project"):
        my_extraction(db, "nope", "ann")


def test_a_submitted_extraction_is_locked_until_reopened(db):
    save_extraction(db, "smith2019", "ann", smith(), submit=True)
    with pytest.raises(ExtractionConflict) as locked:
        save_extraction(db, "smith2019", "ann", smith(year=2020))
    assert str(locked.value) == (
        "ann's extraction of study 'smith2019' is submitted; reopen it to edit it"
    )
    assert reopen_extraction(db, "smith2019", "ann").submitted is None
    with pytest.raises(ExtractionConflict, match="is not submitted; there is nothing to reopen"):
        reopen_extraction(db, "smith2019", "ann")
    with pytest.raises(ExtractionConflict, match="bob has no extraction of study 'smith2019'"):
        reopen_extraction(db, "smith2019", "bob")
    save_extraction(db, "smith2019", "ann", smith(year=2020))
    assert my_extraction(db, "smith2019", "ann").year == 2020


def test_an_extraction_keeps_its_study_and_record(db):
    with pytest.raises(InvalidExtraction) as other:
        save_extraction(db, "smith2019", "ann", smith(id="jones2020"))
    assert other.value.problems == [
        ("id", "the study id 'jones2020' differs from 'smith2019', the study being saved")
    ]
    with pytest.raises(InvalidExtraction) as record:
        save_extraction(db, "smith2019", "ann", smith(record_id="2.2"))
    assert record.value.problems == [
        ("record_id", "an extraction cannot change the record the study was made from ('1.1')")
    ]


def test_parse_extraction_names_each_bad_field_by_its_path():
    data = smith().model_dump(mode="json") | {"submitted": True, "year": 1700}
    del data["id"]
    data["analyses"][0]["foci"][1]["x"] = 300
    with pytest.raises(InvalidExtraction) as bad:
        parse_extraction(data, "smith2019")
    assert bad.value.problems == [
        ("year", "Input should be greater than or equal to 1900"),
        (
            "analyses.0.foci.1.x",
            "coordinate 300 mm lies beyond +-100 mm and outside the MNI152 field of view "
            "(x from -100 to 100 mm)",
        ),
    ]
    data["year"], data["analyses"][0]["foci"][1]["x"] = 2019, -4
    assert parse_extraction(data, "smith2019") == smith()
    # What the store could not keep is refused as the study editor refuses it.
    with pytest.raises(InvalidExtraction) as nul:
        parse_extraction(data | {"title": "Ketamine\x00"}, "smith2019")
    assert [path for path, _ in nul.value.problems] == ["title"]


def test_compare_adopt_and_undo_through_the_store(db):
    save_extraction(db, "smith2019", "ann", smith(), submit=True)
    bob = with_analysis(with_focus(smith(), 0, 1, y=-50), 1, kind="correlation")
    save_extraction(db, "smith2019", "bob", bob)
    with pytest.raises(NotComparable) as blind:
        compare_extractions(db, "smith2019", "olga")
    assert str(blind.value) == (
        "study 'smith2019': 1 of the 2 extractions needed are submitted; "
        "the comparison opens when they are"
    )
    with pytest.raises(NotComparable, match="submit your own extraction first"):
        compare_extractions(db, "smith2019", "bob")
    status = extraction_status(db, "smith2019", "bob")
    assert [(e.reviewer, e.submitted is not None) for e in status.extractors] == [
        ("ann", True),
        ("bob", False),
    ]
    assert status.mine.reviewer == "bob" and status.agreement is None
    assert status.study_label == "smith2019"  # no authors stored: the label is the id

    save_extraction(db, "smith2019", "bob", bob, submit=True)
    found = compare_extractions(db, "smith2019", "olga")
    assert disagreeing(found) == [
        ("analyses.0.foci.1.y", {"ann": -52.0, "bob": -50.0}),
        ("analyses.1.kind", {"ann": "drug_effect", "bob": "correlation"}),
    ]
    assert extraction_status(db, "smith2019", "vic").agreement == pytest.approx(100 * 54 / 56)

    with pytest.raises(InputError, match="'cy' has no submitted extraction to adopt"):
        adopt_extraction(db, "smith2019", "cy", "olga")
    change = adopt_extraction(db, "smith2019", "ann", "olga", {"analyses.0.foci.1.y": "bob"})
    assert (change.editor, change.action, change.entity_id) == ("olga", "update", "smith2019")
    with Repository(db) as repository:
        assert repository.get_study("smith2019") == with_focus(smith(), 0, 1, y=-50)
    assert adopt_extraction(db, "smith2019", "ann", "olga", {"analyses.0.foci.1.y": "bob"}) is None
    changes.undo_change(db, change.id, "olga")
    with Repository(db) as repository:
        assert repository.get_study("smith2019") == Study(
            id="smith2019", title="Ketamine and the sgACC", year=2019, record_id="1.1"
        )
        assert repository.delete_extractions("smith2019") == 2
        assert repository.extractions("smith2019") == []


def test_an_owner_with_an_open_extraction_cannot_adopt(db):
    for reviewer in ("ann", "bob"):
        save_extraction(db, "smith2019", reviewer, smith(), submit=True)
    save_extraction(db, "smith2019", "olga", smith())
    with pytest.raises(NotComparable, match="submit your own extraction first"):
        adopt_extraction(db, "smith2019", "ann", "olga")
