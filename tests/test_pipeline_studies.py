"""The pipeline's studies for the editor: where each focus lands (MNI, AAL3, brain mask), the
corpus check's flags, the summaries, and a study document's errors named by field path."""

from __future__ import annotations

import numpy as np
import pytest

from neuroreview.cbma.checks import FlagReason
from neuroreview.model import Analysis, Focus, RegionFinding, Study
from neuroreview.pipeline.studies import (
    FocusNote,
    StudyInvalid,
    StudyNotFound,
    flag_json,
    parse_study,
    study_glass_brain,
    study_summaries,
    study_view,
    view_of,
)
from neuroreview.space.grid import brain_mask_array
from neuroreview.store import Repository


def _study(space: str = "MNI", **fields) -> Study:
    """sgACC, left accumbens, and a peak 100 mm up (a misread table's typical slip)."""
    foci = [Focus(x=2, y=24, z=-8), Focus(x=-10, y=12, z=-8), Focus(x=0, y=0, z=100)]
    analysis = Analysis(id="ket>pla", space=space, foci=foci, direction="decrease")
    return Study(id="smith2019", year=2019, analyses=[analysis], **fields)


def test_each_focus_gets_its_aal3_label_and_its_distance_outside_the_brain():
    view = view_of(_study())
    sgacc, accumbens, above = view.foci_notes[0]
    assert sgacc == FocusNote((2.0, 24.0, -8.0), "ACC_sub_R", 0.0, False, 0.0, None)
    assert accumbens == FocusNote((-10.0, 12.0, -8.0), "N_Acc_L", 0.0, False, 0.0, None)
    # The nearest brain voxel centres to (0, 0, 100) are (-10, 0, 76) and (8, -6, 76):
    # sqrt(10^2 + 24^2) = 26 mm, beyond the 10 mm kernel reach, so the corpus check flags it.
    assert above == FocusNote(
        (0.0, 0.0, 100.0), None, None, True, 26.0, FlagReason.OUTSIDE_MASK.value
    )
    assert [flag_json(f) for f in view.flags] == [
        {
            "analysis_id": "ket>pla",
            "focus_index": 2,
            "x": 0.0,
            "y": 0.0,
            "z": 100.0,
            "space": "MNI",
            "reason": "outside the brain mask beyond kernel reach",
            "distance_mm": 26.0,
            "leaves": True,
        }
    ]


def test_the_mask_top_above_the_origin_is_what_the_distance_is_measured_from():
    # Independent of the check: the highest mask voxel at x = 0, y = 0 is z = 72 mm, and the
    # nearest in-mask voxel of (0, 0, 100) lies 26 mm away, less than the 28 mm straight down.
    column = brain_mask_array()[45, 63, :]
    assert 2 * np.flatnonzero(column).max() - 72 == 72
    assert brain_mask_array()[40, 63, 74] and brain_mask_array()[49, 60, 74]


def test_talairach_foci_are_converted_before_they_are_labelled():
    view = view_of(_study(space="TAL"))
    note = view.foci_notes[0][0]
    # Lancaster's pooled icbm2tal inverted: TAL (2, 24, -8) is MNI (3.05, 25.87, -15.19),
    # below the subgenual cingulate, in the medial orbitofrontal cortex.
    assert note.mni == (3.1, 25.9, -15.2)
    assert (note.aal3, note.outside_brain) == ("Frontal_Med_Orb_R", False)
    assert view.study.analyses[0].foci[0].x == 2.0  # the document keeps what was reported


def test_an_analysis_in_an_unknown_space_is_not_placed():
    view = view_of(_study(space="UNKNOWN"))
    assert view.foci_notes == [[FocusNote(None, None, None, None, None, None)] * 3]
    assert view.flags == []  # the check cannot place them either
    with pytest.raises(ValueError, match="'ket>pla' is in an unknown space"):
        study_glass_brain(view.study, "ket>pla", 0)


def test_a_repeated_peak_is_flagged_as_a_duplicate_that_stays():
    study = Study(
        id="twice",
        analyses=[
            Analysis(id="a", foci=[Focus(x=2, y=24, z=-8)]),
            Analysis(id="b", foci=[Focus(x=2, y=24, z=-8), Focus(x=-10, y=12, z=-8)]),
        ],
    )
    view = view_of(study)
    assert [(f.analysis_id, f.focus_index, f.reason, f.leaves) for f in view.flags] == [
        ("b", 0, FlagReason.DUPLICATE.value, False)
    ]
    assert [n.flag for n in view.foci_notes[1]] == [FlagReason.DUPLICATE.value, None]


def test_the_view_as_json_keys_the_notes_by_analysis():
    document = view_of(_study()).to_json()
    assert document["study"] == _study().model_dump(mode="json")
    assert [entry["analysis_id"] for entry in document["foci_notes"]] == ["ket>pla"]
    assert document["foci_notes"][0]["foci"][0] == {
        "mni": [2.0, 24.0, -8.0],
        "aal3": "ACC_sub_R",
        "aal3_distance_mm": 0.0,
        "outside_brain": False,
        "distance_mm": 0.0,
        "flag": None,
    }


def test_summaries_and_views_read_the_store(tmp_path):
    url = str(tmp_path / "corpus.db")
    region_only = Study(id="pet2015", region_findings=[RegionFinding(region="sgACC")])
    with Repository(url) as repository:
        repository.add_studies([_study(record_id="1.4"), region_only])
    summaries = study_summaries(url)
    assert [
        (s.id, s.label, s.year, s.n_analyses, s.n_foci, s.n_findings, s.n_flags, s.record_id)
        for s in summaries
    ] == [
        ("smith2019", "smith2019", 2019, 1, 3, 0, 1, "1.4"),
        ("pet2015", "pet2015", None, 0, 0, 1, 0, None),
    ]
    assert study_view(url, "pet2015").study == region_only
    with pytest.raises(StudyNotFound, match="no study 'nope' in this project"):
        study_view(url, "nope")


def test_parse_study_names_every_failing_field_by_its_path():
    document = _study().model_dump(mode="json")
    document["year"] = "nineteen"
    document["analyses"][0]["foci"][2]["x"] = "abc"
    document["analyses"][0]["space"] = "Tailarach"
    document["region_findings"] = [{"region": "", "effect_size": {"kind": "r", "value": 3}}]
    with pytest.raises(StudyInvalid) as invalid:
        parse_study(document, "smith2019")
    assert invalid.value.errors == [
        {
            "path": "year",
            "message": "Input should be a valid integer, unable to parse string as an integer",
        },
        {
            "path": "analyses.0.space",
            "message": "unknown space 'Tailarach' (expected one of: MNI, TAL, UNKNOWN)",
        },
        {
            "path": "analyses.0.foci.2.x",
            "message": "Input should be a valid number, unable to parse string as a number",
        },
        {"path": "region_findings.0.region", "message": "String should have at least 1 character"},
        {
            "path": "region_findings.0.effect_size",
            "message": "a correlation must lie in [-1, 1], got 3",
        },
    ]
    assert str(invalid.value).startswith(
        "study 'smith2019': field 'year': Input should be a valid integer"
    )


def test_parse_study_checks_the_id_against_the_one_being_saved():
    document = _study().model_dump(mode="json")
    with pytest.raises(StudyInvalid) as other:
        parse_study(document, "jones2020")
    assert other.value.errors == [
        {
            "path": "id",
            "message": "the study id 'smith2019' differs from 'jones2020', the study being saved",
        }
    ]
    del document["id"]
    assert parse_study(document, "smith2019") == _study()
    with pytest.raises(StudyInvalid) as nameless:
        parse_study(document)
    assert nameless.value.errors == [{"path": "id", "message": "Field required"}]
    with pytest.raises(StudyInvalid) as listed:
        parse_study([document], "smith2019")
    assert listed.value.errors == [{"path": "", "message": "a study is a JSON object"}]


def test_a_study_level_error_has_the_empty_path():
    document = _study().model_dump(mode="json")
    document["analyses"].append(document["analyses"][0])
    with pytest.raises(StudyInvalid) as invalid:
        parse_study(document, "smith2019")
    assert invalid.value.errors == [
        {"path": "", "message": "analysis id 'ket>pla' appears twice in study 'smith2019'"}
    ]


def test_the_study_glass_brain_highlights_the_chosen_focus():
    svg = study_glass_brain(_study(), "ket>pla", 1)
    # Each of the three views draws the three foci; the highlighted one last, larger.
    assert svg.count('class="focus"') == 3 * 1
    assert svg.count('class="focus highlight"') == 3
    assert svg.count('class="focus outside"') == 3
    assert "<title>ket&gt;pla, focus 2: (-10, 12, -8) MNI</title>" in svg
    with pytest.raises(ValueError, match="study 'smith2019' has no analysis 'b'"):
        study_glass_brain(_study(), "b", 0)
    with pytest.raises(ValueError, match="analysis 'ket>pla' has 3 foci; there is no focus 3"):
        study_glass_brain(_study(), "ket>pla", 3)


def test_values_beyond_what_a_store_holds_are_refused_before_the_write():
    document = _study().model_dump(mode="json")
    document["n_subjects"] = 2**31
    document["doi"] = "10.1000/" + "x" * 248  # 256 characters: the column holds 255
    document["route"] = "r" * 255
    document["analyses"][0]["foci"][1]["label"] = "left\x00accumbens"
    document["analyses"][0]["n_subjects"] = 2**31 - 1  # the largest a store holds: accepted
    document["region_findings"] = [
        {"region": "sgACC", "effect_size": {"kind": "g", "value": 0.4, "n": 10**12}}
    ]
    with pytest.raises(StudyInvalid) as invalid:
        parse_study(document, "smith2019")
    assert invalid.value.errors == [
        {"path": "doi", "message": "String should have at most 255 characters"},
        {"path": "n_subjects", "message": "Input should be less than or equal to 2147483647"},
        {"path": "analyses.0.foci.1.label", "message": "text may not contain NUL characters"},
        {
            "path": "region_findings.0.effect_size.n",
            "message": "Input should be less than or equal to 2147483647",
        },
    ]
