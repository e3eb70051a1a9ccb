"""``neuroreview label``: AAL3 names for one coordinate, negative numbers, one-line errors."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from neuroreview.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, ["label", *args], env={"COLUMNS": "200"})


@pytest.mark.parametrize("args", [("-24", "-4", "-18"), ("--", "-24", "-4", "-18")])
def test_negative_coordinates_work_with_or_without_double_dash(args) -> None:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == ["MNI (-24, -4, -18)", "AAL3: Amygdala_L"]


def test_subgenual_peak_names_its_label_and_region() -> None:
    result = invoke("2", "24", "-8")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1] == "AAL3: ACC_sub_R"
    assert lines[2].startswith("region: ")


def test_region_is_a_dash_for_a_label_the_review_has_no_region_for() -> None:
    result = invoke("-10", "14", "-14")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "MNI (-10, 14, -14)",
        "AAL3: Olfactory_L",
        "region: -",
    ]


def test_an_unlabelled_point_has_no_region() -> None:
    result = invoke("60", "60", "60", "--max-distance", "0")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "AAL3: unlabelled (no label within 0 mm)",
        "region: -",
    ]


def test_nearest_label_shows_its_distance() -> None:
    result = invoke("76", "-10", "10")
    assert result.exit_code == 0, result.output
    assert "AAL3: Temporal_Sup_R (nearest label, 3.6 mm away)" in result.output
    beyond = invoke("76", "-10", "10", "--max-distance", "3")
    assert "AAL3: unlabelled (no label within 3 mm)" in beyond.output


def test_outside_the_brain_is_unlabelled() -> None:
    result = invoke("0", "0", "100")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "AAL3: unlabelled (no label within 5 mm)",
        "region: -",
    ]


@pytest.mark.parametrize("order", ["after", "before"])
def test_talairach_input_is_converted(order) -> None:
    coordinates = ["-22", "-6", "-14"]
    args = (
        [*coordinates, "--space", "tal"] if order == "after" else ["--space", "TAL", *coordinates]
    )
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == [
        "Talairach (-22, -6, -14) = MNI (-22.5, -6.5, -18.9)",
        "AAL3: Amygdala_L",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("1", "2"), "error: give three coordinates X Y Z, got 2: 1 2"),
        (("1", "2", "abc"), "error: z coordinate 'abc' is not a number"),
        (("nan", "2", "3"), "error: x coordinate 'nan' is not a finite number"),
        (("1", "2", "3", "--spcae", "tal"), "error: give three coordinates X Y Z, got 5"),
        (("1", "2", "3", "--space", "xyz"), "error: unknown space 'xyz'; choose mni or tal"),
        (("1", "2", "3", "--max-distance", "-1"), "error: --max-distance must be 0 or more"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(args, message) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith(message)
