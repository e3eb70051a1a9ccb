"""`neuroreview export`: what is printed is what was written, left-out studies are named with the
reason, an export of nothing is an error, converted coordinates are rounded, `--out -` streams."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from neuroreview.cli import app
from neuroreview.io.nimare_json import parse_nimare_json, read_nimare_json
from neuroreview.io.sleuth import parse_sleuth, read_sleuth
from neuroreview.model import Analysis, Focus, RegionFinding, Space, Study
from neuroreview.space.transforms import convert
from neuroreview.store import Repository

runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "80"})


def analysis(analysis_id: str, n: int | None, space: str, *xyz: tuple) -> Analysis:
    foci = [Focus(x=x, y=y, z=z) for x, y, z in xyz]
    return Analysis(id=analysis_id, name=analysis_id, n_subjects=n, space=space, foci=foci)


def region_only(study_id: str, population: str = "mdd") -> Study:
    return Study(
        id=study_id, population=population, region_findings=[RegionFinding(region="sgACC")]
    )


def fixture_studies() -> list[Study]:
    """One of each case: written whole, written with the study's N, written in part, left out."""
    return [
        Study(
            id="alpha2010",
            population="healthy",
            analyses=[
                analysis("up", 12, "MNI", (-4, 44, -2), (38.25, 28, -6)),
                analysis("down", None, "MNI", (1, 2, 3)),
            ],
        ),
        Study(
            id="beta2011",
            population="healthy",
            n_subjects=20,
            analyses=[analysis("main", None, "MNI", (10, -20, 30))],
        ),
        region_only("gamma2012"),
        Study(id="delta2013", population="mdd"),
        Study(
            id="eps2014",
            population="bipolar",
            analyses=[analysis("seed", 9, "UNKNOWN", (5, 6, 7))],
        ),
    ]


def make_store(path: Path, studies: list[Study]) -> str:
    with Repository(str(path)) as repository:
        repository.add_studies(studies)
    return str(path)


@pytest.fixture
def db(tmp_path) -> str:
    return make_store(tmp_path / "review.db", fixture_studies())


def experiments(studies: list[Study]) -> list[tuple]:
    return [
        (s.id, a.id, a.n_subjects, a.space, [(f.x, f.y, f.z) for f in a.foci])
        for s in studies
        for a in s.analyses
    ]


# ----------------------------------------------------------------------------- Sleuth


def test_sleuth_writes_what_it_can_and_names_what_it_left_out(db, tmp_path):
    out = tmp_path / "out.txt"
    result = invoke("export", "--db", db, "--format", "sleuth", "--out", out)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"exported 2 studies (2 experiments) as sleuth to {out}",
        "  left out alpha2010, analysis down: no sample size",
        "  left out gamma2012: no coordinates",
        "  left out delta2013: no coordinates",
        "  left out eps2014: unknown coordinate space",
    ]
    assert result.stderr == ""
    back = read_sleuth(out)
    assert len(back) == 2 and sum(len(s.analyses) for s in back) == 2
    # beta2011's analysis has no N of its own: the study's 20 is written, as `analyze` uses it.
    assert experiments(back) == [
        ("alpha2010", "up", 12, Space.MNI, [(-4.0, 44.0, -2.0), (38.25, 28.0, -6.0)]),
        ("beta2011", "main", 20, Space.MNI, [(10.0, -20.0, 30.0)]),
    ]


def test_sleuth_export_round_trips_through_import(db, tmp_path):
    out = tmp_path / "out.txt"
    assert invoke("export", "--db", db, "--format", "sleuth", "--out", out).exit_code == 0
    second = str(tmp_path / "second.db")
    imported = invoke("import", out, "--db", second)

    assert imported.exit_code == 0, imported.output
    assert "imported 2 studies (2 analyses, 3 foci, 0 region findings)" in imported.output
    with Repository(second) as repository:
        assert experiments(repository.list_studies()) == experiments(read_sleuth(out))


def test_an_export_of_studies_without_coordinates_is_an_error_and_writes_no_file(db, tmp_path):
    out = tmp_path / "mdd.txt"
    result = invoke("export", "--db", db, "--format", "sleuth", "--out", out, "--population", "mdd")

    assert result.exit_code == 2
    assert result.stderr == (
        "error: nothing to export: 2 studies match, none has coordinates "
        "(Sleuth holds coordinates only)\n"
    )
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == [Path(db)]


def test_the_error_names_other_reasons_for_leaving_everything_out(db, tmp_path):
    out = tmp_path / "bipolar.txt"
    result = invoke(
        "export", "--db", db, "--format", "sleuth", "--out", out, "--population", "bipolar"
    )

    assert result.exit_code == 2
    assert result.stderr == (
        "error: nothing to export: 1 study matches, none can be written to Sleuth "
        "(unknown coordinate space: 1)\n"
    )
    assert not out.exists()


@pytest.mark.parametrize("fmt", ["sleuth", "nimads", "nimare-dataset", "csv"])
def test_a_filter_matching_nothing_is_an_error_and_writes_nothing(db, tmp_path, fmt):
    out = tmp_path / "out"
    result = invoke("export", "--db", db, "--format", fmt, "--out", out, "--year", "1990")

    assert result.exit_code == 2
    assert result.stderr == "error: nothing to export: no stored study matches the filters\n"
    assert not out.exists()


def test_an_empty_store_is_an_error(tmp_path):
    db = make_store(tmp_path / "empty.db", [])
    result = invoke("export", "--db", db, "--format", "nimads", "--out", tmp_path / "x.json")

    assert result.exit_code == 2
    assert result.stderr == "error: nothing to export: the store holds no studies\n"
    assert not (tmp_path / "x.json").exists()


def test_more_than_ten_left_out_are_summarised_by_reason(tmp_path):
    studies = [region_only(f"pet{i:02d}") for i in range(1, 12)]
    studies += [
        Study(id="nosize", analyses=[analysis("a", None, "MNI", (1, 2, 3))]),
        Study(id="kept", analyses=[analysis("a", 10, "MNI", (1, 2, 3))]),
    ]
    db = make_store(tmp_path / "many.db", studies)
    out = tmp_path / "out.txt"
    result = invoke("export", "--db", db, "--format", "sleuth", "--out", out)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"exported 1 study (1 experiment) as sleuth to {out}",
        *[f"  left out pet{i:02d}: no coordinates" for i in range(1, 11)],
        "  and 2 more left out (no coordinates: 1, no sample size: 1)",
    ]
    assert [s.id for s in read_sleuth(out)] == ["kept"]


def test_mixed_spaces_without_space_name_the_option(tmp_path):
    studies = [
        Study(id="mni2001", analyses=[analysis("a", 10, "MNI", (1, 2, 3))]),
        Study(id="tal2002", analyses=[analysis("a", 11, "TAL", (4, 5, 6))]),
    ]
    db = make_store(tmp_path / "mixed.db", studies)
    result = invoke("export", "--db", db, "--format", "sleuth", "--out", tmp_path / "o.txt")

    assert result.exit_code == 2
    assert result.stderr == (
        "error: the analyses to export are in mixed spaces (MNI: 1 analysis, TAL: 1 analysis) "
        "but a Sleuth file holds one; add --space mni or --space tal to convert them "
        "(Lancaster pooled transform)\n"
    )
    assert not (tmp_path / "o.txt").exists()


# ------------------------------------------------------------------------ conversion


def test_talairach_export_writes_rounded_coordinates(db, tmp_path):
    out = tmp_path / "tal.txt"
    result = invoke("export", "--db", db, "--format", "sleuth", "--out", out, "--space", "tal")

    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "// Reference=Talairach"
    # MNI (-4, 44, -2) is (-4.6431, 40.119600000000005, 5.121700000000001) in Talairach
    # (Lancaster pooled); (38.25, 28, -6) is (34.872625000000006, 25.101775000000004, 0.766875).
    assert lines[3:6] == ["// Subjects=12", "-4.64\t40.12\t5.12", "34.87\t25.1\t0.77"]
    expected = np.round(
        convert(np.array([[-4, 44, -2], [38.25, 28, -6], [10, -20, 30]], float), "MNI", "TAL"), 2
    )
    back = [point for *_, foci in experiments(read_sleuth(out)) for point in foci]
    assert back == [tuple(row) for row in expected.tolist()]


def test_converted_coordinates_are_rounded_and_original_ones_kept(tmp_path):
    studies = [
        Study(id="mni2001", analyses=[analysis("a", 10, "MNI", (38.25, 28, -6))]),
        Study(id="tal2002", analyses=[analysis("a", 11, "TAL", (10, 20, 30))]),
    ]
    db = make_store(tmp_path / "mixed.db", studies)
    out = tmp_path / "mni.txt"
    result = invoke("export", "--db", db, "--format", "sleuth", "--out", out, "--space", "mni")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"exported 2 studies (2 experiments) as sleuth to {out}\n"
    # Talairach (10, 20, 30) is (11.932764550608821, 24.95029230481706, 27.15883856786716) in MNI.
    assert out.read_text() == (
        "// Reference=MNI\n\n"
        "// mni2001: a\n// Subjects=10\n38.25\t28\t-6\n\n"
        "// tal2002: a\n// Subjects=11\n11.93\t24.95\t27.16\n"
    )


# ------------------------------------------------------------------- standard output


def test_out_dash_writes_sleuth_to_stdout_and_the_summary_to_stderr(db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("export", "--db", db, "--format", "sleuth", "--out", "-")

    assert result.exit_code == 0, result.output
    assert experiments(parse_sleuth(result.stdout)) == [
        ("alpha2010", "up", 12, Space.MNI, [(-4.0, 44.0, -2.0), (38.25, 28.0, -6.0)]),
        ("beta2011", "main", 20, Space.MNI, [(10.0, -20.0, 30.0)]),
    ]
    assert result.stderr.splitlines()[0] == (
        "exported 2 studies (2 experiments) as sleuth to standard output"
    )
    assert len(result.stderr.splitlines()) == 5
    assert not (tmp_path / "-").exists()


def test_out_dash_keeps_the_streams_apart_in_a_real_process(db, tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "neuroreview", "export", "--db", db, "--format", "sleuth"]
        + ["--out", "-", "--population", "healthy"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert [s.id for s in parse_sleuth(completed.stdout)] == ["alpha2010", "beta2011"]
    assert completed.stderr.splitlines() == [
        "exported 2 studies (2 experiments) as sleuth to standard output",
        "  left out alpha2010, analysis down: no sample size",
    ]
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("fmt", ["nimads", "nimare-dataset"])
def test_out_dash_writes_json_to_stdout(db, tmp_path, monkeypatch, fmt):
    monkeypatch.chdir(tmp_path)
    result = invoke("export", "--db", db, "--format", fmt, "--out", "-")

    assert result.exit_code == 0, result.output
    back = parse_nimare_json(json.loads(result.stdout))
    assert [s.id for s in back] == ["alpha2010", "beta2011", "gamma2012", "delta2013", "eps2014"]
    assert result.stderr == (
        f"exported 5 studies (4 analyses, 5 foci, 1 region finding) as {fmt} to standard output\n"
    )
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_out_dash_is_refused_for_tables(db, tmp_path, monkeypatch, fmt):
    monkeypatch.chdir(tmp_path)
    result = invoke("export", "--db", db, "--format", fmt, "--out", "-")

    assert result.exit_code == 2
    assert result.stderr == (
        f"error: --out - cannot be used with --format {fmt}: it writes a folder of three "
        "tables; give --out a folder name\n"
    )
    assert not (tmp_path / "-").exists()


# --------------------------------------------------------------------- other formats


def test_json_export_counts_every_study_it_writes(db, tmp_path):
    out = tmp_path / "set.json"
    result = invoke("export", "--db", db, "--format", "nimads", "--out", out)

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"exported 5 studies (4 analyses, 5 foci, 1 region finding) as nimads to {out}\n"
    )
    back = read_nimare_json(out)
    assert len(back) == 5
    assert sum(len(s.analyses) for s in back) == 4


def test_table_export_counts_every_study_it_writes(db, tmp_path):
    out = tmp_path / "tables"
    result = invoke("export", "--db", db, "--format", "tsv", "--out", out, "--population", "mdd")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"exported 2 studies (0 analyses, 0 foci, 1 region finding) as tsv to {out}\n"
    )
    rows = (out / "studies.tsv").read_text().splitlines()
    assert [row.split("\t")[0] for row in rows[1:]] == ["gamma2012", "delta2013"]


def test_builtin_corpus_bipolar_is_refused_and_talairach_counts_the_file(tmp_path):
    from neuroreview.io.builtin import load_builtin_corpus

    corpus = load_builtin_corpus()
    if corpus is None:
        pytest.skip("the built-in corpus is not shipped")
    db = make_store(tmp_path / "k.db", corpus)
    none_out = tmp_path / "bipolar.txt"
    refused = invoke(
        "export", "--db", db, "--format", "sleuth", "--out", none_out, "--population", "bipolar"
    )
    uncoordinated = [s for s in corpus if s.population.value == "bipolar"]
    assert uncoordinated and not any(s.analyses for s in uncoordinated)  # what this test is about
    assert len(uncoordinated) == 1
    assert refused.exit_code == 2
    assert refused.stderr == (
        "error: nothing to export: 1 study matches, none has coordinates "
        "(Sleuth holds coordinates only)\n"
    )
    assert not none_out.exists()

    out = tmp_path / "tal.txt"
    result = invoke("export", "--db", db, "--format", "sleuth", "--out", out, "--space", "tal")
    assert result.exit_code == 0, result.output
    back = read_sleuth(out)
    head = result.stdout.splitlines()[0]
    n_experiments = sum(len(s.analyses) for s in back)
    assert head == f"exported {len(back)} studies ({n_experiments} experiments) as sleuth to {out}"
    numbers = [
        token
        for line in out.read_text().splitlines()
        if not line.startswith("//")
        for token in line.split()
    ]
    assert numbers and all(len(token.partition(".")[2]) <= 2 for token in numbers)


def test_an_existing_file_is_replaced_only_with_force(db, tmp_path):
    out = tmp_path / "mine.txt"
    out.write_text("the user's own file\n")
    result = invoke("export", "--db", db, "--format", "sleuth", "--out", out)
    assert result.exit_code == 2
    assert result.output.strip() == f"error: --out {out} already exists; use --force to replace it"
    assert out.read_text() == "the user's own file\n"
    forced = invoke("export", "--db", db, "--format", "sleuth", "--out", out, "--force")
    assert forced.exit_code == 0, forced.output
    assert [s.id for s in read_sleuth(out)] == ["alpha2010", "beta2011"]
