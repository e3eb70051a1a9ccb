"""The data model: enum parsing, validation messages naming source and field."""

from __future__ import annotations

import math

import pytest

from neuroreview.errors import InputError
from neuroreview.model import (
    Analysis,
    Decision,
    Direction,
    EffectSize,
    Focus,
    Modality,
    Population,
    RegionFinding,
    Space,
    Stage,
    Study,
    validate_model,
)


@pytest.mark.parametrize(
    ("enum", "text", "expected"),
    [
        (Space, "Talairach", Space.TAL),
        (Space, " mni ", Space.MNI),
        (Space, "TAL", Space.TAL),
        (Modality, "fMRI-rest", Modality.FMRI_REST),
        (Modality, "structural-MRI", Modality.STRUCTURAL_MRI),
        (Modality, "PET", Modality.PET),
        (Population, "healthy volunteers", Population.HEALTHY),
        (Population, "TRD", Population.TRD),
        (Population, "chronic users", Population.CHRONIC_USERS),
        (Direction, "decreased", Direction.DECREASE),
        (Direction, "no change", Direction.NO_CHANGE),
    ],
)
def test_enums_accept_what_researchers_write(enum, text, expected):
    assert enum.parse(text) is expected


def test_unknown_enum_value_lists_the_choices():
    with pytest.raises(
        ValueError, match=r"unknown space 'Dog' \(expected one of: MNI, TAL, UNKNOWN\)"
    ):
        Space.parse("Dog")


def test_population_patient_flag():
    assert Population.TRD.is_patient and not Population.HEALTHY.is_patient


def _study(**overrides):
    data = {
        "id": "Scheidegger 2012",
        "authors": ["Scheidegger M", "Walter M"],
        "year": 2012,
        "population": "healthy",
        "modality": "fmri_rest",
        "analyses": [{"id": "k>p", "space": "MNI", "foci": [{"x": 2, "y": 24, "z": -8}]}],
    }
    data.update(overrides)
    return data


def test_valid_study_normalises_values():
    study = validate_model(Study, _study(pmid=22479405))
    assert study.population is Population.HEALTHY
    assert study.analyses[0].direction is Direction.UNKNOWN
    assert study.pmid == "22479405"
    assert study.n_foci == 1
    assert study.label() == "Scheidegger 2012"


def test_validation_error_names_file_line_and_field():
    data = _study(analyses=[{"id": "a", "foci": [{"x": 1, "y": 140, "z": 0}]}])
    with pytest.raises(InputError) as caught:
        validate_model(Study, data, source="corpus.csv", line=7)
    message = str(caught.value)
    assert message.startswith("corpus.csv:7: ")
    assert "field 'analyses.0.foci.0.y'" in message
    assert "140 mm lies beyond +-100 mm" in message
    assert caught.value.line == 7 and caught.value.source == "corpus.csv"


def test_validation_error_names_the_study_when_no_line():
    with pytest.raises(InputError, match=r"^study 'X': field 'population': .*unknown population"):
        validate_model(Study, _study(population="martians"), what="study 'X'")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_focus_rejects_non_finite(bad):
    with pytest.raises(ValueError, match="not a finite number"):
        Focus(x=bad, y=0, z=0)


def test_analysis_needs_foci_and_positive_n():
    with pytest.raises(ValueError, match="at least 1 item"):
        Analysis(id="a", foci=[])
    with pytest.raises(ValueError, match="greater than 0"):
        Analysis(id="a", n_subjects=0, foci=[Focus(x=0, y=0, z=0)])


def test_duplicate_analysis_ids_are_refused():
    focus = {"x": 0, "y": 0, "z": 0}
    with pytest.raises(ValueError, match="analysis id 'a' appears twice in study 's'"):
        Study(id="s", analyses=[{"id": "a", "foci": [focus]}, {"id": "a", "foci": [focus]}])


def test_effect_size_rules():
    assert EffectSize(kind="g", value=0.4, variance=0.05, n=20).kind.value == "hedges_g"
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        EffectSize(kind="g", value=0.4, variance=-0.1)
    with pytest.raises(ValueError, match="greater than or equal to 2"):
        EffectSize(kind="d", value=0.4, variance=0.1, n=1)
    with pytest.raises(ValueError, match=r"correlation must lie in \[-1, 1\], got 1.5"):
        EffectSize(kind="r", value=1.5)


def test_region_finding_defaults():
    finding = RegionFinding(region="sgACC", direction="down")
    assert finding.direction is Direction.DECREASE
    assert finding.measure.value == "other"


def test_full_text_exclusion_needs_a_reason():
    with pytest.raises(ValueError, match="needs a reason"):
        Decision(stage="eligibility", verdict="exclude")
    decision = Decision(stage="screening", verdict="exclude")
    assert decision.stage is Stage.SCREENING


def test_json_round_trip():
    study = validate_model(Study, _study())
    assert Study.model_validate_json(study.model_dump_json()) == study


@pytest.mark.parametrize(
    ("axis", "accepted", "refused"),
    [
        ("x", (-100.0, 100.0), (-100.5, 100.5)),
        ("y", (-126.0, 100.0), (-126.5, 100.5)),
        ("z", (-100.0, 108.0), (-100.5, 108.5)),
    ],
)
def test_coordinate_limits_are_100_mm_or_the_mni152_field_of_view(axis, accepted, refused):
    for value in accepted:
        assert getattr(Focus(**{"x": 0, "y": 0, "z": 0, axis: value}), axis) == value
    for value in refused:
        with pytest.raises(ValueError, match=rf"outside the MNI152 field of view \({axis} from"):
            Focus(**{"x": 0, "y": 0, "z": 0, axis: value})


def test_field_of_view_matches_the_shipped_grid():
    from neuroreview.model import MNI152_FIELD_OF_VIEW_MM
    from neuroreview.space import MNI152_2MM

    corners = MNI152_2MM.voxel_to_world([[0, 0, 0], [s - 1 for s in MNI152_2MM.shape]])
    for i, axis in enumerate("xyz"):
        assert MNI152_FIELD_OF_VIEW_MM[axis] == (corners[0][i], corners[1][i])
