"""Tests of the CSV/TSV tables of studies, foci and region findings."""

from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neuroreview.io.tables as tables
from fuzzing import character_mutations
from neuroreview.errors import InputError
from neuroreview.io.tables import (
    COLUMNS,
    FocusRow,
    RegionFindingRow,
    StudyRow,
    TableContent,
    TableKind,
    read_table,
    read_tables,
    write_tables,
)
from neuroreview.model import (
    Analysis,
    Direction,
    EffectKind,
    EffectSize,
    Exposure,
    Focus,
    Measure,
    Modality,
    Population,
    RegionFinding,
    Space,
    StatKind,
    Study,
    Timing,
)

FIXTURES = Path(__file__).parent / "data" / "tables"
FIXTURE_FILES = [FIXTURES / "studies.csv", FIXTURES / "foci.csv", FIXTURES / "region_findings.csv"]


def write(folder: Path, name: str, text: str | bytes) -> Path:
    data = text.encode("utf-8") if isinstance(text, str) else text
    path = folder / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def dumps(studies: list[Study]) -> list[dict]:
    return [s.model_dump() for s in studies]


# --------------------------------------------------------------------------------------------
# Reading the example tables
# --------------------------------------------------------------------------------------------


def test_studies_table_rows_are_validated_studies_with_lines() -> None:
    content = read_table(FIXTURES / "studies.csv")

    assert content.kind is TableKind.STUDIES
    assert [type(r) for r in content.rows] == [StudyRow, StudyRow]
    assert [r.line for r in content.rows] == [2, 3]
    study = content.rows[0].study
    assert study.id == "example-2012"
    assert study.title == "Illustrative study, not a real paper"
    assert study.authors == ["Doe J", "Roe R"]
    assert (study.year, study.n_subjects, study.pmid) == (2012, 24, None)
    assert study.population is Population.HEALTHY
    assert study.modality is Modality.FMRI_REST
    assert (study.timing, study.exposure) == (Timing.DURING, Exposure.SINGLE_DOSE)
    assert study.provenance == {"n_subjects": "methods section"}
    # "phMRI" is a spelling the enum knows.
    assert content.rows[1].study.modality is Modality.PHMRI
    assert content.rows[1].study.journal is None


def test_foci_table_rows_hold_one_focus_each() -> None:
    content = read_table(FIXTURES / "foci.csv")

    assert content.kind is TableKind.FOCI
    assert all(isinstance(r, FocusRow) for r in content.rows)
    assert [(r.study_id, r.analysis.id, r.line) for r in content.rows] == [
        ("example-2012", "a1", 2),
        ("example-2012", "a1", 3),
        ("example-2012", "a2", 4),
        ("example-2019", "main", 5),
    ]
    first = content.rows[0].analysis
    assert first.foci == [Focus(x=-4, y=42, z=-10, stat_kind=StatKind.Z, stat_value=4.21)]
    assert (first.name, first.direction, first.n_subjects) == (
        "ketamine > placebo",
        Direction.INCREASE,
        24,
    )
    last = content.rows[3].analysis
    assert (last.space, last.contrast, last.notes) == (Space.TAL, None, "from table 2")
    assert last.foci[0].stat_kind is None


def test_region_findings_table_rows() -> None:
    content = read_table(FIXTURES / "region_findings.csv")

    assert content.kind is TableKind.REGION_FINDINGS
    assert all(isinstance(r, RegionFindingRow) for r in content.rows)
    finding = content.rows[0].finding
    assert finding.region == "sgACC"
    assert (finding.direction, finding.measure) == (Direction.DECREASE, Measure.CONNECTIVITY)
    assert finding.effect_size == EffectSize(
        kind=EffectKind.HEDGES_G, value=-0.62, variance=0.09, n=24
    )
    assert content.rows[1].finding.effect_size is None
    assert content.rows[1].finding.notes == "MRS voxel"
    assert content.rows[2].finding.direction is Direction.NO_CHANGE


def test_read_tables_joins_the_three_kinds_on_study_id() -> None:
    studies = read_tables(FIXTURE_FILES)

    assert [s.id for s in studies] == ["example-2012", "example-2019", "example-2030"]
    first, second, implicit = studies
    assert [a.id for a in first.analyses] == ["a1", "a2"]
    assert [len(a.foci) for a in first.analyses] == [2, 1]
    assert [(f.x, f.y, f.z) for f in first.analyses[0].foci] == [(-4, 42, -10), (6, -58, 28)]
    assert [r.region for r in first.region_findings] == ["sgACC"]
    assert second.analyses[0].space is Space.TAL
    # A study named only by a region row becomes a minimal Study with just that id.
    assert implicit == Study(id="example-2030", region_findings=implicit.region_findings)
    assert implicit.region_findings[0].region == "insula"


def test_read_tables_accepts_any_order_and_a_single_path() -> None:
    reordered = read_tables(list(reversed(FIXTURE_FILES)))

    # Without a studies table first, studies come in order of first appearance.
    assert [s.id for s in reordered] == ["example-2012", "example-2019", "example-2030"]
    assert reordered[0].title == "Illustrative study, not a real paper"
    only_foci = read_tables(FIXTURES / "foci.csv")
    assert [(s.id, s.title, s.n_foci) for s in only_foci] == [
        ("example-2012", None, 3),
        ("example-2019", None, 1),
    ]


def test_tsv_gz_sniffing_and_header_spelling(tmp_path: Path) -> None:
    tsv = write(tmp_path, "f.tsv.gz", "Study ID\tAnalysis_ID\tX\tY\tZ\ns1\ta\t1\t2\t3\n")
    sniffed = write(tmp_path, "f.txt", "study_id;region\ns1;amygdala\n")
    comma = write(tmp_path, "f.dat", "study_id,title\ns1,Hello\n")

    assert read_table(tsv).rows[0].analysis.foci[0].z == 3.0
    assert read_table(sniffed).rows[0].finding.region == "amygdala"
    assert read_table(comma).rows[0].study.title == "Hello"


def test_header_only_blank_rows_and_quoted_newlines(tmp_path: Path) -> None:
    header_only = write(tmp_path, "h.csv", "study_id,region\n")
    spaced = write(
        tmp_path,
        "s.csv",
        'study_id,notes\n\ns1,"two\nlines"\n,\n  ,  \ns2,x\n',
    )

    assert read_table(header_only) == TableContent(TableKind.REGION_FINDINGS, header_only, ())
    rows = read_table(spaced).rows
    assert [(r.study.id, r.study.notes, r.line) for r in rows] == [
        ("s1", "two\nlines", 3),
        ("s2", "x", 7),
    ]


def test_analysis_level_values_may_use_synonyms_across_rows(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "f.csv",
        "study_id,analysis_id,x,y,z,space,direction\ns,a,1,2,3,MNI,up\ns,a,4,5,6,mni,increase\n",
    )

    (study,) = read_tables([path])

    assert study.analyses[0].direction is Direction.INCREASE
    assert len(study.analyses[0].foci) == 2


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_write_then_read_gives_the_same_studies(tmp_path: Path, fmt: str) -> None:
    studies = read_tables(FIXTURE_FILES)

    paths = write_tables(studies, tmp_path / "out", fmt=fmt)

    assert [p.name for p in paths] == [f"studies.{fmt}", f"foci.{fmt}", f"region_findings.{fmt}"]
    assert dumps(read_tables(paths)) == dumps(studies)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)
    header = paths[1].read_text().splitlines()[0]
    assert header.split("," if fmt == "csv" else "\t") == list(COLUMNS[TableKind.FOCI])


def test_write_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = write_tables(read_tables(FIXTURE_FILES), tmp_path)
    before = {p: p.read_bytes() for p in old}
    real_write_text = tables._write_text
    calls = []

    def failing(path, *args):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        real_write_text(path, *args)

    monkeypatch.setattr(tables, "_write_text", failing)
    with pytest.raises(OSError, match="disk full"):
        write_tables([Study(id="new")], tmp_path)

    assert {p: p.read_bytes() for p in old} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in old)


def test_write_refuses_what_could_not_be_read_back(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="study id 's' appears twice"):
        write_tables([Study(id="s"), Study(id="s")], tmp_path)
    with pytest.raises(InputError, match="author 'Doe; J' contains ';'"):
        write_tables([Study(id="s", authors=["Doe; J"])], tmp_path)
    with pytest.raises(ValueError, match="fmt must be 'csv' or 'tsv'"):
        write_tables([], tmp_path, fmt="xlsx")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
CLEAN = TEXT.map(str.strip).filter(bool)
OPTIONAL = st.none() | CLEAN
FINITE = st.floats(allow_nan=False, allow_infinity=False, width=64)
COORDINATE = st.floats(min_value=-100, max_value=100, allow_nan=False)


@st.composite
def focus(draw: st.DrawFn) -> Focus:
    kind = draw(st.none() | st.sampled_from(StatKind))
    return Focus(
        x=draw(COORDINATE),
        y=draw(COORDINATE),
        z=draw(COORDINATE),
        stat_kind=kind,
        stat_value=draw(st.none() | FINITE),
    )


@st.composite
def analysis(draw: st.DrawFn, analysis_id: str) -> Analysis:
    return Analysis(
        id=analysis_id,
        name=draw(st.just("") | CLEAN),
        contrast=draw(OPTIONAL),
        direction=draw(st.sampled_from(Direction)),
        n_subjects=draw(st.none() | st.integers(1, 10_000)),
        space=draw(st.sampled_from(Space)),
        foci=draw(st.lists(focus(), min_size=1, max_size=3)),
        notes=draw(OPTIONAL),
    )


@st.composite
def effect(draw: st.DrawFn) -> EffectSize:
    kind = draw(st.sampled_from(EffectKind))
    value = draw(st.floats(-1, 1) if kind is EffectKind.R else FINITE)
    return EffectSize(
        kind=kind,
        value=value,
        variance=draw(st.none() | st.floats(0, 1e6)),
        n=draw(st.none() | st.integers(2, 10_000)),
    )


@st.composite
def finding(draw: st.DrawFn) -> RegionFinding:
    return RegionFinding(
        region=draw(CLEAN),
        region_raw=draw(OPTIONAL),
        direction=draw(st.sampled_from(Direction)),
        measure=draw(st.sampled_from(Measure)),
        effect_size=draw(st.none() | effect()),
        contrast=draw(OPTIONAL),
        notes=draw(OPTIONAL),
    )


@st.composite
def study(draw: st.DrawFn, study_id: str) -> Study:
    analysis_ids = draw(st.lists(CLEAN, max_size=3, unique=True))
    return Study(
        id=study_id,
        title=draw(OPTIONAL),
        authors=draw(st.lists(CLEAN.filter(lambda a: ";" not in a), max_size=3)),
        year=draw(st.none() | st.integers(1900, 2100)),
        journal=draw(OPTIONAL),
        doi=draw(OPTIONAL),
        pmid=draw(OPTIONAL),
        population=draw(st.sampled_from(Population)),
        n_subjects=draw(st.none() | st.integers(1, 10_000)),
        design=draw(OPTIONAL),
        drug=draw(OPTIONAL),
        dose=draw(OPTIONAL),
        route=draw(OPTIONAL),
        modality=draw(st.sampled_from(Modality)),
        timing=draw(st.sampled_from(Timing)),
        exposure=draw(st.sampled_from(Exposure)),
        notes=draw(OPTIONAL),
        provenance=draw(st.dictionaries(CLEAN, TEXT, max_size=2)),
        analyses=[draw(analysis(a)) for a in analysis_ids],
        region_findings=draw(st.lists(finding(), max_size=2)),
    )


STUDIES = st.lists(CLEAN, max_size=4, unique=True).flatmap(
    lambda ids: st.tuples(*(study(i) for i in ids)).map(list)
)
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(studies=STUDIES, fmt=st.sampled_from(["csv", "tsv"]))
def test_round_trip_of_generated_studies(tmp_path: Path, studies: list[Study], fmt: str) -> None:
    folder = tmp_path / "round"
    shutil.rmtree(folder, ignore_errors=True)

    paths = write_tables(studies, folder, fmt=fmt)

    assert dumps(read_tables(paths)) == dumps(studies)


# --------------------------------------------------------------------------------------------
# Malformed input: message and file:line
# --------------------------------------------------------------------------------------------

FOCI = "study_id,analysis_id,x,y,z,space,n_subjects,direction,analysis_name\n"
ROW = "s,a,1,2,3,MNI,20,increase,main\n"
STUDY = "study_id,title,population,modality,n_subjects,year\n"
REGION = "study_id,region,direction,effect_kind,effect_value,effect_variance,effect_n\n"

ERRORS = [
    ("empty", "f.csv", "", 1, "file is empty; expected a header line naming the columns"),
    ("blank lines only", "f.csv", "\n , \n", 1, "file is empty"),
    ("missing header", "f.csv", ROW, 1,
     "the header of this studies table lacks the required column(s) study_id; expected columns:"),
    ("missing column", "f.csv", "study_id,analysis_id,x,y\ns,a,1,2\n", 1,
     "this foci table lacks the required column(s) z"),
    ("unknown column", "f.csv", "study_id,anlysis_id,analysis_id,x,y,z\n", 1,
     "unknown column(s) 'anlysis_id' in this foci table; expected columns: study_id, analysis_id"),
    ("duplicate column", "f.csv", "study_id,region,Region\n", 1, "column 'region' appears twice"),
    ("empty column name", "f.csv", "study_id,,region\n", 1, "the header has an empty column name"),
    ("too few fields", "f.csv", FOCI + ROW + "s,a,1,2,3\n", 3,
     "expected 9 fields as in the header, found 5"),
    ("too many fields", "f.tsv", "study_id\tregion\ns\tx\ty\n", 2, "expected 2 fields"),
    ("non-numeric coordinate", "f.csv", FOCI + ROW + "s,a,1,2,abc,MNI,20,increase,main\n", 3,
     "column 'z': Input should be a valid number"),
    ("nan coordinate", "f.csv", FOCI + "s,a,1,NaN,3,,,,\n", 2,
     "column 'y': coordinate is not a finite number"),
    ("beyond 100 mm", "f.csv", FOCI + "s,a,-120,2,3,,,,\n", 2,
     "column 'x': coordinate -120 mm lies beyond +-100 mm and outside the MNI152 field of view "
     "(x from -100 to 100 mm)"),
    ("unknown space", "f.csv", FOCI + "s,a,1,2,3,Paxinos,,,\n", 2,
     "column 'space': unknown space 'Paxinos' (expected one of: MNI, TAL, UNKNOWN)"),
    ("foci n_subjects <= 0", "f.csv", FOCI + "s,a,1,2,3,,0,,\n", 2,
     "column 'n_subjects': Input should be greater than 0"),
    ("unknown focus direction", "f.csv", FOCI + "s,a,1,2,3,,,sideways,\n", 2,
     "column 'direction': unknown direction 'sideways'"),
    ("empty study id", "f.csv", FOCI + " ,a,1,2,3,,,,\n", 2, "column 'study_id' is empty"),
    ("empty analysis id", "f.csv", FOCI + "s,,1,2,3,,,,\n", 2,
     "column 'analysis_id': is empty but required"),
    ("unknown population", "f.csv", STUDY + "s,T,aliens,,,\n", 2,
     "column 'population': unknown population 'aliens' (expected one of: healthy, mdd"),
    ("unknown modality", "f.csv", STUDY + "s,T,,x-ray,,\n", 2,
     "column 'modality': unknown modality 'x-ray' (expected one of: fmri_task"),
    ("study n_subjects <= 0", "f.csv", STUDY + "s,T,,,-3,\n", 2,
     "column 'n_subjects': Input should be greater than 0"),
    ("year out of range", "f.csv", STUDY + "s,T,,,,1850\n", 2,
     "column 'year': Input should be greater than or equal to 1900"),
    ("bad provenance", "f.csv", "study_id,provenance\ns,not json\n", 2,
     "column 'provenance': expected a JSON object"),
    ("negative effect variance", "f.csv", REGION + "s,amygdala,up,g,0.3,-0.1,20\n", 2,
     "column 'effect_variance': Input should be greater than or equal to 0"),
    ("correlation beyond 1", "f.csv", REGION + "s,amygdala,up,r,1.5,,\n", 2,
     "column 'effect_value': a correlation must lie in [-1, 1], got 1.5"),
    ("effect without kind", "f.csv", REGION + "s,amygdala,up,,0.3,,\n", 2,
     "column 'effect_kind': is empty but required"),
    ("effect n of 1", "f.csv", REGION + "s,amygdala,up,d,0.3,,1\n", 2,
     "column 'effect_n': Input should be greater than or equal to 2"),
    ("unknown region direction", "f.csv", REGION + "s,amygdala,sideways,,,,\n", 2,
     "column 'direction': unknown direction 'sideways'"),
    ("empty region", "f.csv", REGION + "s, ,up,,,,\n", 2, "column 'region': is empty but required"),
    ("unclosed quote", "f.csv", STUDY + 's,"T,,,,\ns2,T,,,,\n', 2,
     "a quoted cell starting here is never closed"),
    ("bad quoting", "f.csv", STUDY + 's,"T"x,,,,\n', 2, "malformed quoting"),
    ("line after a quoted newline", "f.csv", STUDY + 's,"a\nb",,,,\nt,T,aliens,,,\n', 4,
     "unknown population 'aliens'"),
    ("semicolons in a .csv", "f.csv", "study_id;region\ns;amygdala\n", 1,
     "columns are separated by ';', but a .csv file needs ','"),
    ("semicolons after a blank line", "f.csv", "\n\nstudy_id;region\ns;amygdala\n", 3,
     "columns are separated by ';', but a .csv file needs ','"),
    ("commas in a .tsv", "f.tsv", "study_id,region\ns,amygdala\n", 1,
     "columns are separated by ',', but a .tsv file needs tabs"),
    ("tabs in a .csv.gz", "f.csv.gz", "study_id\tregion\ns\tamygdala\n", 1,
     "columns are separated by tabs, but a .csv file needs ','"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "text", "line", "message"),
    [case[1:] for case in ERRORS],
    ids=[case[0] for case in ERRORS],
)
def test_malformed_tables_are_reported_at_file_and_line(
    tmp_path: Path, name: str, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, name, text)

    with pytest.raises(InputError) as caught:
        read_tables([path])

    assert (caught.value.source, caught.value.line) == (str(path), line)
    assert message in caught.value.message
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_bad_encoding_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", (STUDY + "s,T,,,,\n").encode() + b"t,\xe9t\xe9,,,,\n")

    with pytest.raises(InputError) as caught:
        read_table(path)

    assert (caught.value.source, caught.value.line) == (str(path), 3)
    assert "is not UTF-8 text (byte 0xe9" in caught.value.message


def test_inconsistent_analysis_values_name_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", FOCI + ROW + ROW + "s,a,4,5,6,MNI,20,decrease,main\n")

    with pytest.raises(InputError) as caught:
        read_tables([path])

    assert caught.value.line == 4
    assert caught.value.message == (
        "column 'direction' is 'decrease' here but 'increase' on line 2; all rows of analysis "
        "'a' of study 's' must agree on it"
    )


def test_inconsistent_analysis_values_across_files_name_the_other_file(tmp_path: Path) -> None:
    first = write(tmp_path, "one.csv", FOCI + ROW)
    second = write(tmp_path, "two.csv", FOCI + "s,a,4,5,6,MNI,20,increase,\n")

    with pytest.raises(InputError) as caught:
        read_tables([first, second])

    assert (caught.value.source, caught.value.line) == (str(second), 2)
    assert f"column 'analysis_name' is empty here but 'main' on {first}:2" in caught.value.message


def test_duplicate_study_ids_name_the_first_line(tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", STUDY + "s,T,,,,\nt,T,,,,\ns,U,,,,\n")

    with pytest.raises(InputError) as caught:
        read_tables([path])

    assert caught.value.line == 4
    assert caught.value.message == "study_id 's' appears twice (first on line 2)"


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_tables([tmp_path / "nope.csv"])


# --------------------------------------------------------------------------------------------
# Fuzzing
# --------------------------------------------------------------------------------------------

INTERESTING = st.sampled_from(
    [",", "\t", ";", "\n", "\r", '"', "", " ", "-", ".", "nan", "1e3", "0", "x", "\x00", "é", "{"]
)


def mutated(text: str) -> st.SearchStrategy[str]:
    return character_mutations(text, INTERESTING)


def outcome(paths: list[Path]) -> None:
    try:
        studies = read_tables(paths)
    except InputError as error:
        assert error.source is not None and error.message
        return
    assert all(isinstance(s, Study) for s in studies)
    assert len({s.id for s in studies}) == len(studies)


@FUZZ
@given(data=st.binary(max_size=300), name=st.sampled_from(["f.csv", "f.tsv", "f.txt", "f.csv.gz"]))
def test_random_bytes_never_raise_anything_but_input_error(
    tmp_path: Path, data: bytes, name: str
) -> None:
    outcome([write(tmp_path, name, data)])


FIXTURE_TEXTS = [p.read_text(encoding="utf-8") for p in FIXTURE_FILES]


@FUZZ
@given(
    texts=st.tuples(*(mutated(t) for t in FIXTURE_TEXTS)),
    fmt=st.sampled_from(["csv", "tsv"]),
)
def test_mutated_tables_never_raise_anything_but_input_error(
    tmp_path: Path, texts: tuple[str, ...], fmt: str
) -> None:
    if fmt == "tsv":
        texts = tuple(t.replace(",", "\t") for t in texts)
    paths = [write(tmp_path, f"{i}.{fmt}", t) for i, t in enumerate(texts)]
    outcome(paths)


# --------------------------------------------------------------------------------------------
# Documentation
# --------------------------------------------------------------------------------------------

DOCS = Path(__file__).parents[1] / "docs" / "tables.md"


def test_docs_describe_every_column_and_show_the_fixtures() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)`", text, flags=re.MULTILINE))
    documented |= {"x", "y", "z"}  # documented together in one row

    assert set().union(*COLUMNS.values()) <= documented
    blocks = re.findall(r"```csv\n(.*?)```", text, flags=re.DOTALL)
    assert blocks == FIXTURE_TEXTS


def test_plus_sign_direction_reads_as_increase(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "study_id,region,direction\ns,amygdala,+\n")

    assert read_table(path).rows[0].finding.direction is Direction.INCREASE


def test_the_same_file_twice_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", FOCI + ROW)

    with pytest.raises(InputError) as caught:
        read_tables([path, tmp_path / "." / "f.csv"])

    assert caught.value.message == f"the same file is given twice (also as {path})"
