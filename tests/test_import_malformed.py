"""Malformed input through `neuroreview import`: one readable line naming file:line, exit code 2,
and the store exactly as it was before. Per-reader message details live in each reader's tests;
this file checks the promise every reader shares."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neuroreview.cli import app
from neuroreview.store import Repository

SEED = Path(__file__).parent / "data" / "cli" / "two_studies.txt"

SLEUTH_OK = "// Reference=MNI\n// Smith et al., 2010: task\n// Subjects=12\n10 20 30\n-10 -20 -30\n"
NIMADS_OK = (
    '{"id": "s", "name": "", "studies": [{"id": "A", "name": "A", "authors": "", "publication": "",'
    ' "metadata": {}, "analyses": [{"id": "1", "name": "1", "metadata": {"sample_sizes": [20]},'
    ' "points": [{"space": "MNI", "coordinates": [1.0, 2.0, 3.0]}]}]}]}'
)
FOCI_HEADER = "study_id,analysis_id,x,y,z,space,n_subjects\n"
NS_META_HEADER = "id\tdoi\tspace\ttitle\tauthors\tyear\tjournal\n"
NS_COORD_HEADER = "id\ttable_id\ttable_num\tpeak_id\tx\ty\tz\n"
NS_META_OK = NS_META_HEADER + "111\t10.1/x\tMNI\tA title\tSmith A, Jones B\t2010\tJ Neurosci\n"

# (case id, files {name: text or bytes}, expected line number, words the message must contain)
CASES = [
    # -- Sleuth -------------------------------------------------------------------------------
    ("sleuth-empty", {"bad.txt": ""}, None, "empty"),
    ("sleuth-no-reference", {"bad.txt": SLEUTH_OK.split("\n", 1)[1]}, 1, "Reference"),
    ("sleuth-unknown-space", {"bad.txt": SLEUTH_OK.replace("MNI", "Dog")}, 1, "Dog"),
    (
        "sleuth-no-subjects",
        {"bad.txt": SLEUTH_OK.replace("// Subjects=12\n", "")},
        None,
        "Subjects",
    ),
    ("sleuth-zero-subjects", {"bad.txt": SLEUTH_OK.replace("=12", "=0")}, 3, "Subjects"),
    ("sleuth-two-columns", {"bad.txt": SLEUTH_OK.replace("10 20 30", "10 20")}, 4, "3"),
    ("sleuth-four-columns", {"bad.txt": SLEUTH_OK.replace("10 20 30", "10 20 30 40")}, 4, "3"),
    ("sleuth-not-a-number", {"bad.txt": SLEUTH_OK.replace("20 30", "dog 30")}, 4, "dog"),
    ("sleuth-nan", {"bad.txt": SLEUTH_OK.replace("20 30", "nan 30")}, 4, "finite"),
    ("sleuth-beyond-brain", {"bad.txt": SLEUTH_OK.replace("20 30", "120 30")}, 4, "100 mm"),
    (
        "sleuth-no-foci",
        {"bad.txt": "// Reference=MNI\n// A, 2001: x\n// Subjects=5\n"},
        3,
        "no coordinates",
    ),
    ("sleuth-encoding", {"bad.txt": SLEUTH_OK.encode().replace(b"task", b"t\xe4sk")}, 2, "UTF-8"),
    ("sleuth-reference-only", {"bad.txt": "// Reference=MNI\n"}, None, "bad.txt: holds no studies"),
    (
        "sleuth-reference-and-blanks",
        {"bad.txt": "// Reference=Talairach\n\n\n"},
        None,
        "bad.txt: holds no studies",
    ),
    # -- NiMARE JSON ---------------------------------------------------------------------------
    ("json-syntax", {"bad.json": NIMADS_OK[:-3] + "\n,,}"}, 2, "JSON"),
    ("json-top-level", {"bad.json": "[1, 2, 3]"}, None, "object"),
    ("json-nan", {"bad.json": NIMADS_OK.replace("2.0", "NaN")}, 1, "finite"),
    ("json-text-coordinate", {"bad.json": NIMADS_OK.replace("2.0", '"two"')}, 1, "'A'"),
    ("json-space", {"bad.json": NIMADS_OK.replace('"MNI"', '"Dog"')}, 1, "Dog"),
    ("json-sample-size", {"bad.json": NIMADS_OK.replace("[20]", "[0]")}, 1, "'A'"),
    ("json-beyond-brain", {"bad.json": NIMADS_OK.replace("3.0]", "300.0]")}, 1, "100 mm"),
    ("json-empty", {"bad.json": ""}, 1, "JSON"),
    (
        "json-dataset-lengths",
        {
            "bad.json": '{"A": {"contrasts": {"1": {"coords": {"space": "MNI", "x": [1, 2], "y": [1], "z": [1, 2]}}}}}'
        },
        1,
        "'A'",
    ),
    (
        "json-dataset-sample-size-text",
        {
            "bad.json": '{"A": {"contrasts": {"1": {"coords": {"space": "MNI", "x": [1], "y": [1], "z": [1]}, "metadata": {"sample_sizes": ["many"]}}}}}'
        },
        1,
        "many",
    ),
    ("json-encoding", {"bad.json": NIMADS_OK.encode().replace(b'"s"', b'"\xff"')}, 1, "UTF-8"),
    (
        "json-nimads-no-studies",
        {"bad.json": '{"id": "s", "name": "", "studies": []}'},
        None,
        "bad.json: holds no studies",
    ),
    ("json-dataset-no-studies", {"bad.json": "{}"}, None, "bad.json: holds no studies"),
    # -- tables --------------------------------------------------------------------------------
    ("csv-empty", {"foci.csv": ""}, None, "empty"),
    ("csv-missing-column", {"foci.csv": "study_id,analysis_id,x,y\nA,1,1,2\n"}, 1, "z"),
    (
        "csv-unknown-column",
        {"foci.csv": FOCI_HEADER.replace("space", "spcae") + "A,1,1,2,3,MNI,9\n"},
        1,
        "spcae",
    ),
    ("csv-column-count", {"foci.csv": FOCI_HEADER + "A,1,1,2,3,MNI,9\nA,1,1,2\n"}, 3, "fields"),
    ("csv-not-a-number", {"foci.csv": FOCI_HEADER + "A,1,1,two,3,MNI,9\n"}, 2, "'y'"),
    ("csv-nan", {"foci.csv": FOCI_HEADER + "A,1,1,nan,3,MNI,9\n"}, 2, "finite"),
    ("csv-space", {"foci.csv": FOCI_HEADER + "A,1,1,2,3,Dog,9\n"}, 2, "Dog"),
    ("csv-n", {"foci.csv": FOCI_HEADER + "A,1,1,2,3,MNI,0\n"}, 2, "n_subjects"),
    ("csv-beyond-brain", {"foci.csv": FOCI_HEADER + "A,1,1,2,-130,MNI,9\n"}, 2, "100 mm"),
    ("csv-population", {"studies.csv": "study_id,population\nA,martians\n"}, 2, "martians"),
    (
        "csv-encoding",
        {"foci.csv": (FOCI_HEADER + "A\xe9,1,1,2,3,MNI,9\n").encode("latin-1")},
        2,
        "UTF-8",
    ),
    ("csv-header-only", {"foci.csv": FOCI_HEADER}, None, "foci.csv: holds no studies"),
    (
        "tsv-header-only",
        {"studies.tsv": "study_id\ttitle\n"},
        None,
        "studies.tsv: holds no studies",
    ),
    (
        "tables-headers-only",
        {"foci.csv": FOCI_HEADER, "region_findings.csv": "study_id,region\n"},
        None,
        "region_findings.csv: hold no studies",
    ),
    (
        "csv-semicolons",
        {"foci.csv": FOCI_HEADER.replace(",", ";") + "A;1;1;2;3;MNI;9\n"},
        1,
        "foci.csv:1: columns are separated by ';', but a .csv file needs ','",
    ),
    (
        "tsv-commas",
        {"foci.tsv": FOCI_HEADER + "A,1,1,2,3,MNI,9\n"},
        1,
        "foci.tsv:1: columns are separated by ',', but a .tsv file needs tabs",
    ),
    # -- Neurosynth ----------------------------------------------------------------------------
    (
        "ns-empty",
        {"neurosynth_metadata.tsv": NS_META_OK, "neurosynth_coordinates.tsv": ""},
        None,
        "empty",
    ),
    (
        "ns-missing-column",
        {
            "neurosynth_metadata.tsv": NS_META_OK,
            "neurosynth_coordinates.tsv": NS_COORD_HEADER.replace("\tz", "")
            + "111\t1\t1\t1\t1\t2\n",
        },
        1,
        "z",
    ),
    (
        "ns-nan",
        {
            "neurosynth_metadata.tsv": NS_META_OK,
            "neurosynth_coordinates.tsv": NS_COORD_HEADER + "111\t1\t1\t1\t1\tnan\t3\n",
        },
        2,
        "finite",
    ),
    (
        "ns-column-count",
        {
            "neurosynth_metadata.tsv": NS_META_OK,
            "neurosynth_coordinates.tsv": NS_COORD_HEADER
            + "111\t1\t1\t1\t1\t2\t3\n111\t1\t1\t2\t1\t2\n",
        },
        3,
        "found 6",
    ),
    (
        "ns-duplicate-study",
        {
            "neurosynth_metadata.tsv": NS_META_OK + NS_META_OK.split("\n")[1] + "\n",
            "neurosynth_coordinates.tsv": NS_COORD_HEADER + "111\t1\t1\t1\t1\t2\t3\n",
        },
        3,
        "111",
    ),
    (
        "ns-not-a-number",
        {
            "neurosynth_metadata.tsv": NS_META_OK,
            "neurosynth_coordinates.tsv": NS_COORD_HEADER + "111\t1\t1\t1\tx1\t2\t3\n",
        },
        2,
        "x1",
    ),
    (
        "ns-beyond-brain",
        {
            "neurosynth_metadata.tsv": NS_META_OK,
            "neurosynth_coordinates.tsv": NS_COORD_HEADER
            + "111\t1\t1\t1\t1\t2\t3\n111\t1\t1\t2\t1\t2\t300\n",
        },
        3,
        "100 mm",
    ),
    (
        "ns-unknown-id",
        {
            "neurosynth_metadata.tsv": NS_META_OK,
            "neurosynth_coordinates.tsv": NS_COORD_HEADER + "999\t1\t1\t1\t1\t2\t3\n",
        },
        2,
        "999",
    ),
    (
        "ns-space",
        {
            "neurosynth_metadata.tsv": NS_META_OK.replace("\tMNI\t", "\tDog\t"),
            "neurosynth_coordinates.tsv": NS_COORD_HEADER + "111\t1\t1\t1\t1\t2\t3\n",
        },
        2,
        "Dog",
    ),
    (
        "ns-gz-encoding",
        {
            "neurosynth_metadata.tsv": NS_META_OK,
            "neurosynth_coordinates.tsv.gz": gzip.compress(
                (NS_COORD_HEADER + "111\t1\t\xe9\t1\t1\t2\t3\n").encode("latin-1")
            ),
        },
        2,
        "UTF-8",
    ),
    (
        "ns-no-studies",
        {"neurosynth_metadata.tsv": NS_META_HEADER, "neurosynth_coordinates.tsv": NS_COORD_HEADER},
        None,
        "neurosynth_metadata.tsv: holds no studies",
    ),
]


@pytest.fixture
def seeded_store(tmp_path) -> str:
    db = str(tmp_path / "store.db")
    result = CliRunner().invoke(app, ["import", str(SEED), "--db", db])
    assert result.exit_code == 0, result.output
    return db


@pytest.mark.parametrize(("case", "files", "line", "words"), CASES, ids=[c[0] for c in CASES])
def test_malformed_input_is_refused_whole(seeded_store, tmp_path, case, files, line, words):
    paths = []
    for name, content in files.items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        paths.append(str(path))
    with Repository(seeded_store) as repo:
        before = repo.export()
    before_bytes = Path(seeded_store).read_bytes()
    result = CliRunner().invoke(
        app, ["import", *paths, "--db", seeded_store], env={"COLUMNS": "300"}
    )

    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"error: {tmp_path}/"), message
    if line is not None:
        assert f":{line}: " in message, message
    assert words in message, message
    assert Path(seeded_store).read_bytes() == before_bytes
    with Repository(seeded_store) as repo:
        assert repo.export() == before
