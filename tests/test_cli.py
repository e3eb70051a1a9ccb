"""The command line: import, studies and export (run: test_cli_run.py), and one-line errors with exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neuroreview.cli import app
from neuroreview.store import Repository

DATA = Path(__file__).parent / "data" / "cli"
SLEUTH = DATA / "two_studies.txt"

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


@pytest.fixture
def db(tmp_path) -> str:
    return str(tmp_path / "review.db")


def test_import_then_list(db):
    result = invoke("import", SLEUTH, "--db", db)
    assert result.exit_code == 0, result.output
    assert "imported 2 studies (3 analyses, 4 foci, 0 region findings)" in result.output
    with Repository(db) as repo:
        assert repo.study_ids() == ["Abdallah et al., 2017", "Scheidegger et al., 2012"]
        assert repo.counts().foci == 4
    listing = invoke("studies", "--db", db, "--year-from", "2015")
    assert listing.exit_code == 0
    assert "1 studies" in listing.output and "Abdallah" in listing.output
    assert "Scheidegger" not in listing.output


def test_import_twice_needs_replace(db):
    assert invoke("import", SLEUTH, "--db", db).exit_code == 0
    again = invoke("import", SLEUTH, "--db", db)
    assert again.exit_code == 2
    assert again.output == (
        f"error: {SLEUTH}: studies 'Abdallah et al., 2017', 'Scheidegger et al., 2012' are "
        "already in the store (use --replace)\n"
    )
    assert invoke("import", SLEUTH, "--db", db, "--replace").exit_code == 0
    with Repository(db) as repo:
        assert repo.counts().studies == 2


def test_bad_file_is_one_line_and_writes_nothing(db, tmp_path):
    assert invoke("import", SLEUTH, "--db", db).exit_code == 0
    bad = tmp_path / "bad.txt"
    bad.write_text("// Reference=MNI\n// A, 2001: x\n// Subjects=10\n1 2 3\n4 five 6\n")
    result = invoke("import", bad, "--db", db)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: {bad}:5: ")
    assert "Traceback" not in result.output
    with Repository(db) as repo:
        assert repo.counts().studies == 2


def test_unknown_filter_value_is_one_line(db):
    result = invoke("studies", "--db", db, "--population", "aliens")
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: unknown population 'aliens'")


def test_debug_shows_the_exception(db):
    result = invoke("--debug", "studies", "--db", db, "--population", "aliens")
    assert result.exit_code != 0
    assert type(result.exception).__name__ == "InputError"


def test_console_script_prints_no_traceback(tmp_path):
    bad = tmp_path / "missing.txt"
    completed = subprocess.run(
        [sys.executable, "-m", "neuroreview", "import", str(bad), "--db", str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip() == f"error: {bad}: file not found"
    assert "Traceback" not in completed.stderr + completed.stdout


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("sleuth", "out.txt"), ("nimads", "out.json"), ("nimare-dataset", "dset.json")],
)
def test_export_round_trips_through_import(db, tmp_path, fmt, name):
    assert invoke("import", SLEUTH, "--db", db).exit_code == 0
    out = tmp_path / name
    result = invoke("export", "--db", db, "--format", fmt, "--out", out)
    assert result.exit_code == 0, result.output
    second = str(tmp_path / "second.db")
    assert invoke("import", out, "--db", second).exit_code == 0
    with Repository(db) as first_repo, Repository(second) as second_repo:
        first = first_repo.list_studies()
        again = second_repo.list_studies()
    assert [s.id for s in again] == [s.id for s in first]
    for a, b in zip(first, again, strict=True):
        assert [
            (x.id, x.n_subjects, x.space, [(f.x, f.y, f.z) for f in x.foci]) for x in a.analyses
        ] == [(x.id, x.n_subjects, x.space, [(f.x, f.y, f.z) for f in x.foci]) for x in b.analyses]


def test_export_csv_writes_three_tables(db, tmp_path):
    assert invoke("import", SLEUTH, "--db", db).exit_code == 0
    out = tmp_path / "tables"
    result = invoke("export", "--db", db, "--format", "csv", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "foci.csv",
        "region_findings.csv",
        "studies.csv",
    ]
    second = str(tmp_path / "second.db")
    assert invoke("import", *sorted(out.iterdir()), "--db", second).exit_code == 0
    with Repository(db) as first_repo, Repository(second) as second_repo:
        assert second_repo.list_studies() == first_repo.list_studies()
