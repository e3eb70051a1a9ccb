"""Tests of the Neurosynth v0.7 reader: small hand-made files, malformed input, the real database."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzzing import character_mutations
from neuroreview.errors import InputError
from neuroreview.io.neurosynth import (
    NEUROSYNTH_PROVENANCE,
    NeurosynthDatabase,
    read_neurosynth,
)
from neuroreview.model import Direction, Space, Study

DATA = Path("/work/shared/data/neurosynth")
REAL_COORDINATES = DATA / "data-neurosynth_version-7_coordinates.tsv.gz"
REAL_METADATA = DATA / "data-neurosynth_version-7_metadata.tsv.gz"

METADATA = (
    "id\tdoi\tspace\ttitle\tauthors\tyear\tjournal\n"
    "101\t10.1000/a\tMNI\tA first title.\tDoe J, Roe R\t2001\tNeuroImage\n"
    '102\t\tTAL\t"A ""quoted"" title."\tSmith A\t2005\tBrain\n'
    "103\t10.1000/c\tUNKNOWN\tNo foci here.\t\t\t\n"
)
COORDINATES = (
    "id\ttable_id\ttable_num\tpeak_id\tx\ty\tz\n"
    "101\t10\t1\t900\t-38.0\t22.0\t-4.0\n"
    "101\t10\t1\t901\t40.0\t20.5\t0.0\n"
    "101\t11\t\t902\t0.0\t-50.0\t30.0\n"
    "102\t12\t2A\t903\t12.5\t-3.0\t60.0\n"
)


def write(folder: Path, name: str, text: str | bytes, gz: bool = False) -> Path:
    """Write a test file, gzip-compressed when ``gz`` (the name then ends in .gz)."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    path = folder / (name + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def read_pair(folder: Path, coordinates: str | bytes, metadata: str | bytes, gz: bool = False):
    return read_neurosynth(
        write(folder, "coordinates.tsv", coordinates, gz),
        write(folder, "metadata.tsv", metadata, gz),
    )


# --------------------------------------------------------------------------------------------
# Valid small files
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True], ids=["tsv", "tsv.gz"])
def test_small_files_are_read_into_columnar_frames(tmp_path: Path, gz: bool) -> None:
    db = read_pair(tmp_path, COORDINATES, METADATA, gz)

    assert (db.n_studies, db.n_foci) == (3, 4)
    assert db.metadata["id"].tolist() == ["101", "102", "103"]
    assert db.metadata["space"].tolist() == ["MNI", "TAL", "UNKNOWN"]
    assert db.metadata["title"].iloc[1] == 'A "quoted" title.'
    assert pd.isna(db.metadata["doi"].iloc[1])
    assert db.metadata["year"].tolist()[:2] == [2001, 2005]
    assert pd.isna(db.metadata["year"].iloc[2])
    assert list(db.coordinates.columns) == ["id", "table_id", "table_num", "peak_id", "x", "y", "z"]
    assert db.coordinates["table_num"].tolist() == ["1", "1", "", "2A"]
    assert db.coordinates["x"].dtype == np.float64
    np.testing.assert_array_equal(
        db.xyz(), [[-38, 22, -4], [40, 20.5, 0], [0, -50, 30], [12.5, -3, 60]]
    )
    # Talairach foci stay in Talairach: the caller decides on a conversion.
    assert db.focus_spaces().tolist() == ["MNI", "MNI", "MNI", "TAL"]


def test_to_studies_builds_one_analysis_per_table(tmp_path: Path) -> None:
    studies = read_pair(tmp_path, COORDINATES, METADATA).to_studies()

    assert [s.id for s in studies] == ["101", "102", "103"]
    first, second, third = studies
    assert first.pmid == "101"
    assert first.title == "A first title."
    assert first.authors == ["Doe J", "Roe R"]
    assert (first.year, first.journal, first.doi) == (2001, "NeuroImage", "10.1000/a")
    assert set(first.provenance.values()) == {NEUROSYNTH_PROVENANCE}
    assert "foci" in first.provenance
    assert [a.id for a in first.analyses] == ["10", "11"]
    assert [a.name for a in first.analyses] == ["table 1", "table"]
    assert [(f.x, f.y, f.z) for f in first.analyses[0].foci] == [(-38, 22, -4), (40, 20.5, 0)]
    assert first.analyses[0].direction is Direction.UNKNOWN
    assert first.analyses[0].n_subjects is None
    assert first.analyses[0].space is Space.MNI
    assert second.doi is None
    assert second.analyses[0].space is Space.TAL
    assert second.analyses[0].name == "table 2A"
    assert third.analyses == [] and third.authors == [] and third.year is None


def test_to_studies_selects_ids_in_the_order_asked(tmp_path: Path) -> None:
    db = read_pair(tmp_path, COORDINATES, METADATA)

    assert [s.id for s in db.to_studies(["102", 101])] == ["102", "101"]
    assert [s.id for s in db.iter_studies(["103"])] == ["103"]
    with pytest.raises(InputError, match=r"2 id\(s\) not in the Neurosynth database: 7, 8"):
        db.to_studies(["7", "101", "8"])


def test_studies_survive_a_full_revalidation(tmp_path: Path) -> None:
    # The objects must be exactly what validating their own dump gives (no unchecked shortcut).
    for study in read_pair(tmp_path, COORDINATES, METADATA).to_studies():
        assert Study.model_validate(study.model_dump()) == study


def test_foci_of_an_analysis_are_grouped_even_when_rows_interleave(tmp_path: Path) -> None:
    coordinates = (
        "id\ttable_id\ttable_num\tpeak_id\tx\ty\tz\n"
        "101\t10\t1\t1\t1\t1\t1\n"
        "102\t12\t3\t2\t2\t2\t2\n"
        "101\t11\t2\t3\t3\t3\t3\n"
        "101\t10\t1\t4\t4\t4\t4\n"
    )
    first, second, _ = read_pair(tmp_path, coordinates, METADATA).to_studies()

    assert [(a.id, [f.x for f in a.foci]) for a in first.analyses] == [
        ("10", [1.0, 4.0]),
        ("11", [3.0]),
    ]
    assert [f.x for f in second.analyses[0].foci] == [2.0]


def test_blank_lines_crlf_and_missing_optional_columns_are_accepted(tmp_path: Path) -> None:
    coordinates = "\r\nid\ttable_id\tx\ty\tz\r\n101\t10\t1\t2\t3\r\n\r\n102\t12\t4\t5\t6\r\n"
    metadata = "id\tspace\n101\tmni\n\n102\ttalairach\n"
    db = read_pair(tmp_path, coordinates, metadata)

    assert db.metadata["space"].tolist() == ["MNI", "TAL"]
    assert db.coordinates["table_num"].tolist() == ["", ""]
    assert db.coordinates["x"].tolist() == [1.0, 4.0]
    assert db.to_studies()[0].title is None


def test_an_empty_database_with_headers_only_is_valid(tmp_path: Path) -> None:
    db = read_pair(tmp_path, "id\ttable_id\tx\ty\tz\n", "id\tspace\n")

    assert (db.n_studies, db.n_foci) == (0, 0)
    assert db.to_studies() == []


# --------------------------------------------------------------------------------------------
# Malformed input: every message names file:line
# --------------------------------------------------------------------------------------------

HEADER = "id\ttable_id\ttable_num\tpeak_id\tx\ty\tz\n"
GOOD_ROW = "101\t10\t1\t900\t-38.0\t22.0\t-4.0\n"

COORDINATE_ERRORS = [
    ("empty", "", 1, "Neurosynth coordinates file is empty; expected a tab-separated header"),
    ("blank only", "\n\n", 1, "Neurosynth coordinates file is empty"),
    ("no header", GOOD_ROW + GOOD_ROW, 1, "header lacks the column(s) id, table_id, x, y, z"),
    ("missing column", "id\ttable_id\tx\ty\n101\t10\t1\t2\n", 1, "lacks the column(s) z"),
    ("duplicate column", "id\ttable_id\tx\ty\tz\tx\n", 1, "column 'x' appears twice"),
    ("non-numeric", HEADER + GOOD_ROW + "101\t10\t1\t901\tabc\t1\t1\n", 3, "x = 'abc' is not a number"),
    ("nan", HEADER + GOOD_ROW * 2 + "101\t10\t1\t901\t1\tnan\t1\n", 4, "y = 'nan' is not a finite number"),
    ("inf", HEADER + "101\t10\t1\t901\t1\t1\t-inf\n", 2, "z = '-inf' is not a finite number"),
    ("empty coordinate", HEADER + "101\t10\t1\t901\t1\t\t1\n", 2, "y is empty"),
    ("beyond 100 mm", HEADER + GOOD_ROW + "101\t10\t1\t901\t1\t1\t120\n", 3,
     "z: coordinate 120 mm lies beyond +-100 mm and outside the MNI152 field of view "
     "(z from -100 to 108 mm)"),
    ("id not in metadata", HEADER + GOOD_ROW * 3 + "999\t10\t1\t901\t1\t1\t1\n", 5,
     "study id '999' is not in the metadata file"),
    ("empty id", HEADER + "\t10\t1\t901\t1\t1\t1\n", 2, "study id is empty"),
    ("empty table id", HEADER + "101\t \t1\t901\t1\t1\t1\n", 2, "table_id is empty"),
    ("too few fields", HEADER + GOOD_ROW + "101\t10\t1\t901\t1\t1\n", 3,
     "expected 7 tab-separated fields as in the header, found 6"),
    ("too many fields", HEADER + "101\t10\t1\t901\t1\t1\t1\t1\n", 2,
     "expected 7 tab-separated fields as in the header, found 8"),
    ("line numbers count blank lines", HEADER + "\n" + GOOD_ROW + "\n" + "101\t10\t1\t9\t1\t1\tx\n",
     5, "z = 'x' is not a number"),
    ("earliest line wins", HEADER + "101\t10\t1\t9\t1\t1\t109\n" + "101\t10\t1\t9\tq\t1\t1\n", 2,
     "z: coordinate 109 mm lies beyond"),
    ("quotes take the csv path", HEADER + '101\t10\t"1"\t9\t1\t1\t1\n' + "101\t10\t1\t9\t1\t1\n",
     3, "found 6"),
    ("unclosed quote", HEADER + GOOD_ROW + '101\t10\t"1\t9\t1\t1\t1\n', 3,
     "a quoted cell starting here is never closed"),
]  # fmt: skip


@pytest.mark.parametrize("gz", [False, True], ids=["tsv", "tsv.gz"])
@pytest.mark.parametrize(
    ("text", "line", "message"),
    [case[1:] for case in COORDINATE_ERRORS],
    ids=[case[0] for case in COORDINATE_ERRORS],
)
def test_malformed_coordinates_are_reported_at_file_and_line(
    tmp_path: Path, gz: bool, text: str, line: int, message: str
) -> None:
    with pytest.raises(InputError) as caught:
        read_pair(tmp_path, text, METADATA, gz)

    path = tmp_path / ("coordinates.tsv" + (".gz" if gz else ""))
    assert caught.value.source == str(path)
    assert caught.value.line == line
    assert message in caught.value.message
    assert str(caught.value).startswith(f"{path}:{line}: ")


META_HEADER = "id\tdoi\tspace\ttitle\tauthors\tyear\tjournal\n"
META_ROW = "101\t10.1000/a\tMNI\tTitle.\tDoe J\t2001\tBrain\n"

METADATA_ERRORS = [
    ("empty", "", 1, "Neurosynth metadata file is empty"),
    ("missing column", "id\tdoi\ttitle\n101\t\tT\n", 1, "header lacks the column(s) space"),
    ("unknown space", META_HEADER + META_ROW + "102\t\tXYZ\tT\tA\t2001\tJ\n", 3,
     "unknown space 'XYZ' (expected one of: MNI, TAL, UNKNOWN)"),
    ("empty space", META_HEADER + "102\t\t\tT\tA\t2001\tJ\n", 2, "unknown space ''"),
    ("duplicate id", META_HEADER + META_ROW + "102\t\tTAL\tT\tA\t2001\tJ\n" + META_ROW, 4,
     "study id '101' appears twice (first on line 2)"),
    ("empty id", META_HEADER + "\t\tMNI\tT\tA\t2001\tJ\n", 2, "study id is empty"),
    ("bad year", META_HEADER + "102\t\tMNI\tT\tA\t20x1\tJ\n", 2,
     "year '20x1' is not a whole number from 1900 to 2100"),
    ("year out of range", META_HEADER + "102\t\tMNI\tT\tA\t1850\tJ\n", 2, "year '1850'"),
    ("fractional year", META_HEADER + "102\t\tMNI\tT\tA\t2001.5\tJ\n", 2, "year '2001.5'"),
    ("wrong field count", META_HEADER + META_ROW + "102\tMNI\tT\n", 3,
     "expected 7 tab-separated fields as in the header, found 3"),
    # A quoted title spanning lines 2-3 moves the next row to line 4, and the message says so.
    ("multi-line quoted cell", META_HEADER + '102\t\tMNI\t"Two\nlines"\tA\t2001\tJ\n'
     + "103\t\tBAD\tT\tA\t2001\tJ\n", 4, "unknown space 'BAD'"),
]  # fmt: skip


@pytest.mark.parametrize("gz", [False, True], ids=["tsv", "tsv.gz"])
@pytest.mark.parametrize(
    ("text", "line", "message"),
    [case[1:] for case in METADATA_ERRORS],
    ids=[case[0] for case in METADATA_ERRORS],
)
def test_malformed_metadata_is_reported_at_file_and_line(
    tmp_path: Path, gz: bool, text: str, line: int, message: str
) -> None:
    with pytest.raises(InputError) as caught:
        read_pair(tmp_path, HEADER + GOOD_ROW, text, gz)

    path = tmp_path / ("metadata.tsv" + (".gz" if gz else ""))
    assert (caught.value.source, caught.value.line) == (str(path), line)
    assert message in caught.value.message


@pytest.mark.parametrize("gz", [False, True], ids=["tsv", "tsv.gz"])
def test_bad_encoding_names_the_line(tmp_path: Path, gz: bool) -> None:
    text = (HEADER + GOOD_ROW + GOOD_ROW).encode() + b"101\t10\t\xff\t9\t1\t1\t1\n"

    with pytest.raises(InputError) as caught:
        read_pair(tmp_path, text, METADATA, gz)

    assert caught.value.line == 4
    assert "is not UTF-8 text (byte 0xff" in caught.value.message


def test_a_gz_name_on_plain_text_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "coordinates.tsv.gz"
    path.write_text(HEADER + GOOD_ROW)

    with pytest.raises(InputError, match="is not a valid gzip file"):
        read_neurosynth(path, write(tmp_path, "metadata.tsv", METADATA))


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_neurosynth(tmp_path / "nope.tsv", write(tmp_path, "metadata.tsv", METADATA))


# --------------------------------------------------------------------------------------------
# Fuzzing: any bytes give a database or an InputError, never another exception
# --------------------------------------------------------------------------------------------

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
INTERESTING = st.sampled_from(
    ["\t", "\n", "\r", '"', "", " ", "-", ".", "e", "nan", "inf", "1e3", "999", "101", "\x00", "é"]
)


def outcome(tmp_path: Path, coordinates: str | bytes, metadata: str | bytes, gz: bool) -> None:
    """Read; a success must also convert to studies whose foci match the frame."""
    try:
        db = read_pair(tmp_path, coordinates, metadata, gz)
    except InputError as error:
        assert error.source is not None and error.message
        return
    assert isinstance(db, NeurosynthDatabase)
    studies = db.to_studies()
    assert len(studies) == db.n_studies
    assert sum(s.n_foci for s in studies) == db.n_foci
    assert np.all(np.abs(db.xyz()) <= 100)


@FUZZ
@given(data=st.binary(max_size=400), gz=st.booleans(), which=st.sampled_from(["coords", "meta"]))
def test_random_bytes_never_raise_anything_but_input_error(
    tmp_path: Path, data: bytes, gz: bool, which: str
) -> None:
    if which == "coords":
        outcome(tmp_path, data, METADATA, gz)
    else:
        outcome(tmp_path, COORDINATES, data, gz)


def mutated(text: str) -> st.SearchStrategy[str]:
    return character_mutations(text, INTERESTING)


@FUZZ
@given(coordinates=mutated(COORDINATES), metadata=mutated(METADATA), gz=st.booleans())
def test_mutated_files_never_raise_anything_but_input_error(
    tmp_path: Path, coordinates: str, metadata: str, gz: bool
) -> None:
    outcome(tmp_path, coordinates, metadata, gz)


# --------------------------------------------------------------------------------------------
# The real Neurosynth v0.7 database
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> NeurosynthDatabase:
    if not (REAL_COORDINATES.exists() and REAL_METADATA.exists()):
        pytest.skip(f"the Neurosynth v0.7 files are not in {DATA}")
    return read_neurosynth(REAL_COORDINATES, REAL_METADATA)


def test_real_database_counts(real: NeurosynthDatabase) -> None:
    assert (real.n_studies, real.n_foci) == (14_371, 507_891)
    assert real.metadata["space"].value_counts().to_dict() == {
        "MNI": 10_204,
        "TAL": 2_335,
        "UNKNOWN": 1_832,
    }
    assert real.focus_spaces().value_counts().to_dict() == {
        "MNI": 372_515,
        "TAL": 81_498,
        "UNKNOWN": 53_878,
    }
    assert len(real.coordinates[["id", "table_id"]].drop_duplicates()) == 27_072
    assert real.metadata["id"].is_unique
    assert real.coordinates["peak_id"].is_unique
    assert int(real.metadata["doi"].isna().sum()) == 90
    assert int((real.coordinates["table_num"] == "").sum()) == 5_143
    assert (int(real.metadata["year"].min()), int(real.metadata["year"].max())) == (1997, 2018)
    assert real.metadata["journal"].nunique() == 60
    assert int(real.metadata["title"].str.contains('"').sum()) == 83


def test_real_database_spot_checks(real: NeurosynthDatabase) -> None:
    first = real.coordinates.iloc[0]
    assert first[["id", "table_id", "table_num", "peak_id"]].tolist() == [
        "9065511",
        "28698",
        "1.",
        "548691",
    ]
    assert first[["x", "y", "z"]].tolist() == [38.0, -48.0, 49.0]
    last = real.coordinates.iloc[-1]
    assert last[["id", "table_id", "table_num", "peak_id"]].tolist() == [
        "29845006",
        "35711",
        "05",
        "686536",
    ]
    assert last[["x", "y", "z"]].tolist() == [0.0, -29.0, 30.0]
    quoted = real.metadata.set_index("id").loc["11576194"]
    assert quoted["title"] == (
        "Temporal characterization of memory retrieval processes: an fMRI study of the "
        '"tip of the tongue" phenomenon.'
    )
    assert quoted["space"] == "TAL"
    assert quoted["doi"] == "10.1046/j.0953-816x.2001.01711.x"


def test_real_database_to_studies(real: NeurosynthDatabase) -> None:
    (study,) = real.to_studies(["9065511"])
    assert study.authors == ["Aguirre GK", "D'Esposito M"]
    assert study.year == 1997 and study.doi is None
    assert study.analyses[0].id == "28698" and study.analyses[0].name == "table 1."
    assert (study.analyses[0].foci[0].x, study.analyses[0].foci[0].y) == (38.0, -48.0)
    assert study.n_foci == int((real.coordinates["id"] == "9065511").sum())

    (tal,) = real.to_studies([11576194])
    assert {a.space for a in tal.analyses} == {Space.TAL}

    everything = real.to_studies()
    assert len(everything) == 14_371
    assert sum(len(s.analyses) for s in everything) == 27_072
    assert sum(s.n_foci for s in everything) == 507_891
    assert min(s.n_foci for s in everything) == 1
    assert max(s.n_foci for s in everything) == 713


@pytest.mark.slow
def test_real_database_agrees_with_nimare(real: NeurosynthDatabase) -> None:
    """NiMARE (about 16 s here) makes one contrast per study and converts TAL foci to MNI."""
    io = pytest.importorskip("nimare.io")
    with pytest.warns(FutureWarning):
        dataset = io.convert_neurosynth_to_dataset(str(REAL_COORDINATES), str(REAL_METADATA))
    theirs = dataset.coordinates
    ours = real.coordinates.assign(space=real.focus_spaces())

    assert sorted(theirs["study_id"].unique()) == sorted(real.metadata["id"])
    assert (
        theirs.groupby("study_id").size().sort_index().to_dict()
        == ours.groupby("id").size().sort_index().to_dict()
    )
    # Foci NiMARE leaves alone (MNI, and UNKNOWN which it does not transform) are identical.
    for spaces in (["MNI"], ["UNKNOWN"]):
        mine = ours[ours["space"].isin(spaces)]
        kept = theirs[theirs["study_id"].isin(mine["id"])]
        np.testing.assert_array_equal(
            _sorted_foci(mine["id"], mine[["x", "y", "z"]]),
            _sorted_foci(kept["study_id"], kept[["x", "y", "z"]]),
        )
    # Talairach foci differ: NiMARE converted them, we kept what the paper reported.
    tal = ours[ours["space"] == "TAL"]
    converted = theirs[theirs["study_id"].isin(tal["id"])]
    assert len(converted) == len(tal) == 81_498
    assert not np.array_equal(
        _sorted_foci(tal["id"], tal[["x", "y", "z"]]),
        _sorted_foci(converted["study_id"], converted[["x", "y", "z"]]),
    )


def _sorted_foci(ids: pd.Series, xyz: pd.DataFrame) -> np.ndarray:
    """Foci ordered by study id then coordinates, so two readers' row orders compare."""
    frame = pd.DataFrame({"id": ids.to_numpy(), **{c: xyz[c].to_numpy() for c in "xyz"}})
    return frame.sort_values(["id", "x", "y", "z"])[["x", "y", "z"]].to_numpy()


def test_a_single_id_is_one_id_not_its_characters(tmp_path: Path) -> None:
    db = read_pair(tmp_path, COORDINATES, METADATA)

    assert [s.id for s in db.to_studies("101")] == ["101"]
    assert [s.id for s in db.to_studies(102)] == ["102"]
