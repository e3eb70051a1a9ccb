"""Sleuth reader and writer: GingerALE/BrainMap files, NiMARE interop both ways, bad input, fuzz."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import nimare
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nimare.io import convert_sleuth_to_dataset, convert_sleuth_to_dict

from fuzzing import line_mutations
from neuroreview.errors import InputError
from neuroreview.io.sleuth import (
    SleuthWriteResult,
    format_sleuth,
    parse_sleuth,
    read_sleuth,
    split_experiment_name,
    write_sleuth,
)
from neuroreview.model import Analysis, Focus, RegionFinding, Space, Study
from neuroreview.space.transforms import convert

DATA = Path(__file__).parent / "data" / "sleuth"
NIMARE_DATA = Path(nimare.__file__).parent / "tests" / "data"
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def summary(studies: list[Study]) -> list[tuple]:
    """Everything a Sleuth file can hold: ids, subjects, space and coordinates."""
    return [
        (
            s.id,
            [(a.id, a.n_subjects, a.space, [(f.x, f.y, f.z) for f in a.foci]) for a in s.analyses],
        )
        for s in studies
    ]


def study(study_id: str, *analyses: Analysis, **fields) -> Study:
    return Study(id=study_id, analyses=list(analyses), **fields)


def analysis(analysis_id: str, n: int | None, space: str, *xyz: tuple) -> Analysis:
    foci = [Focus(x=x, y=y, z=z) for x, y, z in xyz]
    return Analysis(id=analysis_id, name=analysis_id, n_subjects=n, space=space, foci=foci)


# ----------------------------------------------------------------------------- reading


def test_reads_gingerale_file_grouping_experiments_into_studies():
    studies = read_sleuth(DATA / "gingerale_mni.txt")

    assert summary(studies) == [
        (
            "Abdallah et al., 2017",
            [
                (
                    "Ketamine > placebo, prefrontal connectivity",
                    18,
                    Space.MNI,
                    [(-4.0, 44.0, -2.0), (38.0, 28.0, -6.0), (2.5, -52.75, 30.0)],
                ),
                ("Ketamine < placebo", 18, Space.MNI, [(-12.0, -60.0, 24.0)]),
            ],
        ),
        (
            # Several name lines are joined; no blank line was needed before this header.
            "Scheidegger et al., 2012",
            [
                (
                    "Resting state, posterior cingulate seed",
                    17,
                    Space.MNI,
                    [(0.0, -52.0, 26.0), (-8.0, -56.0, 32.0)],
                )
            ],
        ),
        (
            # Split at the first ':' after the year, not the colon in the journal name.
            "Deakin J. Psychopharmacol: special issue, 2008",
            [("BOLD increase", 10, Space.MNI, [(-26.0, -2.0, -18.0)])],
        ),
    ]
    abdallah = studies[0]
    assert abdallah.doi == "10.1038/npp.2016.186"  # from the '// DOI=' key line
    assert [s.year for s in studies] == [2017, 2012, 2008]  # from the study names
    assert abdallah.provenance == {
        "foci": "sleuth:gingerale_mni.txt",
        "year": "sleuth:gingerale_mni.txt (study name)",
    }
    assert abdallah.analyses[0].name == "Ketamine > placebo, prefrontal connectivity"
    assert abdallah.analyses[0].direction.value == "unknown"


def test_reads_brainmap_talairach_file_with_crlf_and_padding():
    studies = read_sleuth(DATA / "brainmap_talairach.txt")

    assert summary(studies) == [
        (
            "Doyle 2013",
            [
                (
                    "Ketamine > saline, healthy volunteers",
                    20,
                    Space.TAL,
                    [(-40.0, 22.0, 28.0), (32.0, -70.0, -14.0)],
                ),
                ("Ketamine < saline", 20, Space.TAL, [(4.0, -60.0, 18.0)]),
            ],
        )
    ]


@pytest.mark.parametrize(
    "header", ["// Reference=TAL", "//reference = talairach", "// Reference=tal"]
)
def test_reference_spellings(header):
    studies = parse_sleuth(f"{header}\n// A 2001: b\n// Subjects=3\n1 2 3\n")
    assert studies[0].analyses[0].space is Space.TAL


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings_and_bom_give_same_result_and_line_numbers(newline):
    lines = ["// Reference=MNI", "// A 2001: b", "// Subjects=3", "1 2 3", "4 5 dog"]
    text = "\ufeff" + newline.join(lines) + newline
    with pytest.raises(InputError) as caught:
        parse_sleuth(text, source="f.txt")
    assert str(caught.value) == "f.txt:5: z coordinate 'dog' is not a number"
    good = newline.join(lines[:4]) + newline
    assert summary(parse_sleuth(good)) == [("A 2001", [("b", 3, Space.MNI, [(1.0, 2.0, 3.0)])])]


@pytest.mark.parametrize(
    ("name", "year"),
    [
        ("Smith et al., 2010", 2010),
        ("Smith 2010b", 2010),
        ("(1999) Jones", 1999),
        ("Study12000", None),
        ("cohort of 20000 subjects", None),
        ("Smith2010", None),
        ("No year", None),
    ],
)
def test_year_is_taken_from_the_study_name(name, year):
    (found,) = parse_sleuth(f"// Reference=MNI\n// {name}: x\n// Subjects=3\n1 2 3\n")
    assert (found.id, found.year) == (name, year)
    assert ("year" in found.provenance) is (year is not None)


def test_header_only_file_is_empty_not_an_error():
    assert parse_sleuth("// Reference=MNI\n\n") == []


def test_key_lines_after_subjects_as_nimare_writes_them():
    text = (
        "//Reference=MNI\n//Smith (Study): Exp\n//Subjects=12\n//DOI=10.1/x\n//PubMedId=123\n"
        "1.5\t2\t3\n"
    )
    (found,) = parse_sleuth(text)
    assert (found.id, found.doi, found.pmid) == ("Smith (Study)", "10.1/x", "123")
    assert found.analyses[0].foci[0].x == 1.5


def test_repeated_reference_line_in_same_space_is_allowed():
    text = "// Reference=MNI\n// A 2001: b\n// Subjects=3\n1 2 3\n// Reference=MNI\n// C: d\n// Subjects=4\n4 5 6\n"
    assert [s.id for s in parse_sleuth(text)] == ["A 2001", "C"]


@pytest.mark.parametrize(
    "label",
    [
        "Smith et al., 2010: Working memory",
        "J Neurosci: Smith 2010; task > rest",
        "No separator here",
        "Alpha;Beta: Gamma",
        "Foo: bar; baz",
        "Study 1999 x: y; z",
        ": only contrast",
        "Trailing 2004:",
    ],
)
def test_name_split_matches_nimare(tmp_path, label):
    path = tmp_path / "one.txt"
    path.write_text(f"// Reference=MNI\n// {label}\n// Subjects=5\n1 2 3\n")
    nimare_dict = convert_sleuth_to_dict(str(path))
    (study_name,) = nimare_dict
    (contrast_name,) = nimare_dict[study_name]["contrasts"]

    assert split_experiment_name(label) == (study_name, contrast_name)
    (ours,) = read_sleuth(path)
    assert (ours.id, ours.analyses[0].id) == (study_name, contrast_name)


@pytest.mark.parametrize("number", ["", "2"])
def test_nimare_valid_sleuth_files_read_as_nimare_reads_them(number):
    path = NIMARE_DATA / f"test_sleuth_file{number}.txt"
    expected = convert_sleuth_to_dict(str(path))

    studies = read_sleuth(path)

    assert [s.id for s in studies] == list(expected)
    for found in studies:
        contrasts = expected[found.id]["contrasts"]
        assert [a.id for a in found.analyses] == list(contrasts)
        for a in found.analyses:
            coords = contrasts[a.id]["coords"]
            assert Space.parse(coords["space"]) is a.space
            np.testing.assert_array_equal(
                [[f.x, f.y, f.z] for f in a.foci],
                np.column_stack([coords["x"], coords["y"], coords["z"]]),
            )
            assert [a.n_subjects] == contrasts[a.id]["metadata"]["sample_sizes"]


@pytest.mark.parametrize(
    ("number", "line", "message"),
    [
        ("3", 5, "z coordinate 'dog' is not a number"),
        ("4", 5, "expected 3 coordinates (x y z) separated by spaces or tabs, found 2: '10  20'"),
        ("5", 1, "unknown reference space 'Dog'; a Sleuth file must use MNI or Talairach"),
    ],
)
def test_nimare_invalid_sleuth_files_give_our_error(number, line, message):
    path = NIMARE_DATA / f"test_sleuth_file{number}.txt"
    with pytest.raises(ValueError):  # NiMARE refuses them too
        convert_sleuth_to_dict(str(path))
    with pytest.raises(InputError) as caught:
        read_sleuth(path)
    assert str(caught.value) == f"{path}:{line}: {message}"
    assert (caught.value.line, caught.value.message) == (line, message)


# ------------------------------------------------------------------------ malformed input

GOOD_HEAD = "// Reference=MNI\n// Smith 2010: task\n// Subjects=12\n"

MALFORMED = [
    ("", 1, "the file is empty"),
    ("\n  \n\t\n", 1, "the file is empty"),
    ("// Smith 2010: task\n// Subjects=3\n1 2 3\n", 1, "expected the header '// Reference=MNI'"),
    ("\n\n1 2 3\n", 3, "expected the header"),
    ("// Reference=Dog\n", 1, "unknown reference space 'Dog'"),
    ("// Reference=\n", 1, "unknown reference space ''"),
    ("// Reference=unknown\n", 1, "unknown reference space 'unknown'"),
    ("// Reference=MNI\n// Smith 2010: task\n1 2 3\n", 3, "has no '// Subjects=N' line before"),
    (
        "// Reference=MNI\n// Smith 2010: task\n",
        2,
        "experiment 'Smith 2010: task' has no '// Subjects=N' line",
    ),
    (
        "// Reference=MNI\n// Smith 2010: task\n// Subjects=twelve\n1 2 3\n",
        3,
        "Subjects must be a whole number",
    ),
    ("// Reference=MNI\n// Smith 2010: task\n// Subjects=12.5\n1 2 3\n", 3, "found '12.5'"),
    (
        "// Reference=MNI\n// Smith 2010: task\n// Subjects=0\n1 2 3\n",
        3,
        "Subjects must be at least 1",
    ),
    (
        "// Reference=MNI\n// Smith 2010: task\n// Subjects=-4\n1 2 3\n",
        3,
        "Subjects must be a whole number",
    ),
    (
        "// Reference=MNI\n// Smith 2010: task\n// Subjects=3\n// Subjects=4\n1 2 3\n",
        4,
        "second Subjects line (the first is on line 3)",
    ),
    ("// Reference=MNI\n// Subjects=3\n1 2 3\n", 2, "has no experiment name line above it"),
    ("// Reference=MNI\n1 2 3\n", 2, "coordinates before any experiment"),
    (GOOD_HEAD + "1 2\n", 4, "expected 3 coordinates (x y z) separated by spaces or tabs, found 2"),
    (GOOD_HEAD + "1 2 3\n4 5 6 7\n", 5, "found 4: '4 5 6 7'"),
    (GOOD_HEAD + "10 20 dog\n", 4, "z coordinate 'dog' is not a number"),
    (GOOD_HEAD + "1,5 2 3\n", 4, "x coordinate '1,5' is not a number"),
    (GOOD_HEAD + "1_000 2 3\n", 4, "x coordinate '1_000' is not a number"),
    (GOOD_HEAD + "1 2 3\nnan 2 3\n", 5, "x coordinate 'nan' is not a finite number"),
    (GOOD_HEAD + "1 -inf 3\n", 4, "y coordinate '-inf' is not a finite number"),
    (GOOD_HEAD + "1 2 109\n", 4, "field 'z': coordinate 109 mm lies beyond +-100 mm"),
    (GOOD_HEAD + "1 -127 3\n", 4, "field 'y': coordinate -127 mm lies beyond +-100 mm"),
    (GOOD_HEAD + "-150 2 3\n", 4, "field 'x': coordinate -150 mm lies beyond +-100 mm"),
    (
        GOOD_HEAD + "\n\n",
        3,
        "experiment 'Smith 2010: task' has no coordinates after its Subjects line",
    ),
    (
        GOOD_HEAD + "// Jones 2011: other\n// Subjects=4\n1 2 3\n",
        3,
        "'Smith 2010: task' has no coordinates",
    ),
    (
        GOOD_HEAD + "1 2 3\n\n// Smith 2010: task\n// Subjects=9\n4 5 6\n",
        6,
        "experiment 'task' appears twice in study 'Smith 2010' (first on line 2)",
    ),
    (
        GOOD_HEAD + "1 2 3\n// Reference=Talairach\n",
        5,
        "names 'Talairach' but the file began with MNI",
    ),
    (
        "// Reference=MNI\n// Smith 2010: a\n// DOI=10.1/a\n// Subjects=12\n1 2 3\n// Smith 2010: b\n// DOI=10.1/b\n// Subjects=3\n4 5 6\n",
        7,
        "study 'Smith 2010' has doi '10.1/b' here but '10.1/a' on line 3",
    ),
]


@pytest.mark.parametrize(("text", "line", "fragment"), MALFORMED)
def test_malformed_input_names_file_and_line(tmp_path, text, line, fragment):
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_sleuth(path)
    error = caught.value
    assert error.line == line
    assert fragment in error.message
    assert str(error).startswith(f"{path}:{line}: ")


def test_bad_encoding_reports_the_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(GOOD_HEAD.encode() + "1 2 3\n// Müller 2009: x\n".encode("latin-1"))
    with pytest.raises(InputError) as caught:
        read_sleuth(path)
    assert caught.value.line == 5
    assert "is not UTF-8 text (byte 0xfc" in str(caught.value)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_sleuth(tmp_path / "nope.txt")


# ------------------------------------------------------------------------------ writing


def two_studies() -> list[Study]:
    return [
        study(
            "Abdallah et al., 2017",
            analysis("Ketamine > placebo", 18, "MNI", (-4, 44, -2), (38.25, 28, -6)),
            analysis("Ketamine < placebo", 18, "MNI", (-12, -60, 24)),
        ),
        study("Scheidegger 2012", analysis("PCC seed", 17, "MNI", (0, -52, 26))),
    ]


def test_format_is_gingerale_text():
    assert format_sleuth(two_studies()) == (
        "// Reference=MNI\n"
        "\n"
        "// Abdallah et al., 2017: Ketamine > placebo\n"
        "// Subjects=18\n"
        "-4\t44\t-2\n"
        "38.25\t28\t-6\n"
        "\n"
        "// Abdallah et al., 2017: Ketamine < placebo\n"
        "// Subjects=18\n"
        "-12\t-60\t24\n"
        "\n"
        "// Scheidegger 2012: PCC seed\n"
        "// Subjects=17\n"
        "0\t-52\t26\n"
    )


def test_write_read_round_trip_and_result(tmp_path):
    path = tmp_path / "out.txt"
    result = write_sleuth(two_studies(), path)

    assert result == SleuthWriteResult(n_experiments=3, skipped_study_ids=(), space=Space.MNI)
    back = read_sleuth(path)
    assert summary(back) == summary(two_studies())
    assert [s.provenance["foci"] for s in back] == ["sleuth:out.txt", "sleuth:out.txt"]
    assert [s.year for s in back] == [2017, 2012]


def test_reading_then_writing_a_file_is_stable(tmp_path):
    first = read_sleuth(DATA / "gingerale_mni.txt")
    path = tmp_path / "gingerale_mni.txt"
    write_sleuth(first, path)
    second = read_sleuth(path)
    # The DOI key line is not written (NiMARE would read it as part of the name), so compare
    # everything else.
    assert [s.model_dump(exclude={"doi"}) for s in second] == [
        s.model_dump(exclude={"doi"}) for s in first
    ]


@pytest.mark.parametrize("space", [Space.MNI, Space.TAL])
def test_written_file_loads_in_nimare_with_same_foci(tmp_path, space):
    studies = [
        study("Abdallah 2017", analysis("up", 18, space, (-4, 44, -2), (38.25, 28, -6.5))),
        study(
            "Doyle 2013",
            analysis("ket", 20, space, (1, 2, 3)),
            analysis("sal", 9, space, (4, 5, 6)),
        ),
    ]
    path = tmp_path / "for_nimare.txt"
    write_sleuth(studies, path)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dset = convert_sleuth_to_dataset(str(path), target=None)

    coords = dset.coordinates
    metadata = dset.metadata.set_index("id")
    assert sorted(dset.ids) == sorted(f"{s.id}-{a.id}" for s in studies for a in s.analyses)
    for s in studies:
        for a in s.analyses:
            rows = coords[coords["id"] == f"{s.id}-{a.id}"]
            np.testing.assert_array_equal(
                rows[["x", "y", "z"]].to_numpy(), [[f.x, f.y, f.z] for f in a.foci]
            )
            assert set(rows["space"]) == {"MNI" if space is Space.MNI else "Talairach"}
            assert metadata.loc[f"{s.id}-{a.id}", "sample_sizes"] == [a.n_subjects]


def test_mixed_spaces_need_a_target_space():
    studies = [
        study("A 2001", analysis("x", 5, "MNI", (1, 2, 3))),
        study("B 2002", analysis("y", 6, "TAL", (4, 5, 6)), analysis("z", 6, "TAL", (7, 8, 9))),
    ]
    with pytest.raises(InputError) as caught:
        format_sleuth(studies)
    assert str(caught.value) == (
        "the analyses are in mixed spaces (MNI: 1 analyses, TAL: 2 analyses) but a Sleuth file "
        "holds one; pass space='MNI' (or space='TAL') to convert every coordinate into that space"
    )


@pytest.mark.parametrize("method", ["lancaster_pooled", "brett"])
def test_target_space_converts_with_the_space_module(method):
    studies = [
        study("A 2001", analysis("x", 5, "MNI", (10, 20, 30))),
        study("B 2002", analysis("y", 6, "TAL", (4, -50, -6), (40, 8, 22))),
    ]
    (a, b) = parse_sleuth(format_sleuth(studies, space="MNI", method=method))

    assert [(f.x, f.y, f.z) for f in a.analyses[0].foci] == [(10.0, 20.0, 30.0)]
    expected = convert(
        np.array([[4, -50, -6], [40, 8, 22]], float), Space.TAL, Space.MNI, method=method
    )
    np.testing.assert_array_equal([[f.x, f.y, f.z] for f in b.analyses[0].foci], expected)
    assert b.analyses[0].space is Space.MNI


def test_converted_focus_beyond_range_is_refused():
    studies = [study("A 2001", analysis("x", 5, "TAL", (0, -99.5, 0)))]
    # y = -104.0 mm in MNI: beyond 100 mm but inside the grid (down to -126 mm), so it is kept;
    # z = 103 mm in Talairach becomes 109.7 mm in MNI, above the grid's 108 mm: refused.
    assert "-104.04" in format_sleuth(studies, space="MNI")
    studies = [study("A 2001", analysis("x", 5, "TAL", (0, 0, 103)))]
    with pytest.raises(
        InputError, match=r"study 'A 2001', analysis 'x': focus 1 converted to MNI: z coordinate 1"
    ):
        format_sleuth(studies, space="MNI")


def test_unknown_method_is_an_input_error():
    studies = [study("A 2001", analysis("x", 5, "TAL", (0, 0, 0)))]
    with pytest.raises(InputError, match="unknown transform method 'nope'"):
        format_sleuth(studies, space="MNI", method="nope")


@pytest.mark.parametrize(
    ("studies", "message"),
    [
        (
            [study("A 2001", analysis("x", 5, "UNKNOWN", (1, 2, 3)))],
            "study 'A 2001', analysis 'x': its coordinate space is unknown",
        ),
        (
            [study("A 2001", analysis("x", None, "MNI", (1, 2, 3)))],
            "study 'A 2001', analysis 'x': the number of subjects is missing",
        ),
        (
            [
                study("A 2001", analysis("x", 5, "MNI", (1, 2, 3))),
                study("A 2001", analysis("y", 5, "MNI", (1, 2, 3))),
            ],
            "study id 'A 2001' appears twice",
        ),
        (
            [study("Empty 2001")],
            "study 'Empty 2001' has neither coordinate analyses nor region findings",
        ),
        (
            [study("Smith 2010; J", analysis("x", 5, "MNI", (1, 2, 3)))],
            "would read back as study 'Smith 2010', experiment 'J: x'",
        ),
        (
            [study("A", analysis("two\nlines", 5, "MNI", (1, 2, 3)))],
            "ids written to Sleuth must fit on one line",
        ),
        (
            [study("Subjects=3", analysis("x", 5, "MNI", (1, 2, 3)))],
            "cannot be written to Sleuth unambiguously",
        ),
    ],
)
def test_unwritable_studies_are_refused_with_the_reason(studies, message):
    with pytest.raises(InputError) as caught:
        format_sleuth(studies)
    assert message in str(caught.value)


def test_unknown_target_space_is_refused():
    with pytest.raises(InputError, match="not UNKNOWN"):
        format_sleuth(two_studies(), space="unknown")
    with pytest.raises(InputError, match="cannot write a Sleuth file in space 'Dog'"):
        format_sleuth(two_studies(), space="Dog")


def test_semicolon_separator_is_used_when_a_colon_would_split_elsewhere():
    studies = [study("Foo", analysis("a;b", 5, "MNI", (1, 2, 3)))]
    text = format_sleuth(studies)
    assert "// Foo; a;b\n" in text
    assert summary(parse_sleuth(text)) == summary(studies)


def test_region_only_studies_are_skipped_and_reported(tmp_path):
    region_only = Study(id="PET 2015", region_findings=[RegionFinding(region="sgACC")])
    result = write_sleuth([region_only, *two_studies()], tmp_path / "out.txt")
    assert result.skipped_study_ids == ("PET 2015",)
    assert result.n_experiments == 3
    assert [s.id for s in read_sleuth(tmp_path / "out.txt")] == [
        "Abdallah et al., 2017",
        "Scheidegger 2012",
    ]


def test_only_region_studies_write_a_header_only_file(tmp_path):
    region_only = Study(id="PET 2015", region_findings=[RegionFinding(region="sgACC")])
    path = tmp_path / "out.txt"
    assert write_sleuth([region_only], path) == SleuthWriteResult(0, ("PET 2015",), Space.MNI)
    assert path.read_text() == "// Reference=MNI\n"
    assert read_sleuth(path) == []


def test_write_replaces_atomically_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old content\n")
    write_sleuth(two_studies(), path)
    assert path.read_text().startswith("// Reference=MNI\n")
    assert os.listdir(tmp_path) == ["out.txt"]


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "out.txt"
    path.write_text("old content\n")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(InputError, match="cannot be written \\(No space left on device\\)"):
        write_sleuth(two_studies(), path)
    assert path.read_text() == "old content\n"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_write_below_a_file_is_an_input_error(tmp_path):
    (tmp_path / "a_file").write_text("")
    with pytest.raises(InputError, match="cannot be written"):
        write_sleuth(two_studies(), tmp_path / "a_file" / "out.txt")


# ----------------------------------------------------------------------------- fuzzing

VALID_TEXT = (DATA / "gingerale_mni.txt").read_text()
VALID_LINES = VALID_TEXT.splitlines()
JUNK = st.sampled_from(
    [
        "dog",
        "nan",
        "1e999",
        "",
        "//",
        "// Subjects=",
        "// Reference=TAL",
        "1 2",
        "1 2 3 4",
        "-0",
        "150 0 0",
        "// Subjects=0",
        "\t",
        "// x=y",
        "1,2,3",
        "ÿ",
        "// A 2000: B",
    ]
)


def _parses_or_input_error(text: str) -> None:
    try:
        studies = parse_sleuth(text, source="fuzz.txt")
    except InputError as error:
        assert error.source == "fuzz.txt"
        assert error.line is None or error.line >= 1
        return
    for found in studies:
        assert found.analyses
        assert all(a.n_subjects and a.n_subjects > 0 and a.foci for a in found.analyses)


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_never_crash(tmp_path, raw):
    path = tmp_path / "fuzz.txt"
    path.write_bytes(raw)
    try:
        read_sleuth(path)
    except InputError as error:
        assert error.source == str(path)


@FUZZ
@given(st.text(alphabet=st.sampled_from("/ \t\n\r0123456789.-+:;=eEabcRSMNIT"), max_size=300))
def test_random_sleuth_like_text_never_crashes(text):
    _parses_or_input_error(text)


def mutated_lines() -> st.SearchStrategy[str]:
    return line_mutations(VALID_LINES, JUNK)


@FUZZ
@given(mutated_lines())
def test_mutated_valid_files_give_studies_or_input_error(text):
    _parses_or_input_error(text)


NAME_TEXT = st.text(
    alphabet=st.sampled_from("ab AZ019:;,.()/=-\t"), min_size=1, max_size=20
).filter(lambda s: s.strip())
COORDINATE = st.floats(-100, 100, allow_nan=False, allow_infinity=False)


@st.composite
def writable_studies(draw) -> list[Study]:
    studies = []
    ids = draw(st.lists(NAME_TEXT, min_size=1, max_size=4, unique_by=str.strip))
    space = draw(st.sampled_from(["MNI", "TAL"]))
    for study_id in ids:
        analysis_ids = draw(st.lists(NAME_TEXT, min_size=1, max_size=3, unique_by=str.strip))
        analyses = [
            analysis(
                a_id.strip(),
                draw(st.integers(1, 500)),
                space,
                *draw(
                    st.lists(st.tuples(COORDINATE, COORDINATE, COORDINATE), min_size=1, max_size=4)
                ),
            )
            for a_id in analysis_ids
        ]
        studies.append(study(study_id.strip(), *analyses))
    return studies


@FUZZ
@given(writable_studies())
def test_anything_written_reads_back_exactly(studies):
    try:
        text = format_sleuth(studies)
    except InputError as error:
        assert "cannot be written to Sleuth unambiguously" in str(error)
        return
    assert summary(parse_sleuth(text)) == summary(studies)
