"""``neuroreview screen undo``: withdraw one's latest decision, kept in the record's history."""

from __future__ import annotations

from typer.testing import CliRunner

import test_cli_screen
from neuroreview.cli import app
from neuroreview.store import Repository
from test_cli_screen import decide, invoke, ok, refused

#: The store with both exports imported and deduplicated, as the screen command tests use.
exports, db = test_cli_screen.exports, test_cli_screen.db


def undo(db: str, record: str, reviewer: str) -> str:
    return ok("screen", "undo", record, "-r", reviewer, "--db", db)


def one_line_error(output: str) -> str:
    assert output.startswith("error: ") and output.count("\n") == 1, output
    return output.removeprefix("error: ").strip()


def test_undo_a_verdict_then_decide_again(db):
    assert decide(db, "1.2", "include", "ann") == "1.2: awaiting title/abstract screening\n"
    assert undo(db, "1.2", "ann") == (
        "1.2: ann's include at screening undone; now awaiting title/abstract screening\n"
    )
    nothing = refused("screen", "undo", "1.2", "-r", "ann", "--db", db)
    assert one_line_error(nothing) == "record 1.2: ann has no decision on it to undo"
    decide(db, "1.2", "exclude", "ann")
    assert decide(db, "1.2", "exclude", "bob") == "1.2: excluded at title/abstract\n"
    late = refused("screen", "undo", "1.2", "-r", "ann", "--db", db)
    assert one_line_error(late) == (
        "record 1.2: bob decided on it after ann's exclude at screening; only a decision "
        "nobody has decided after can be undone"
    )
    assert undo(db, "1.2", "bob") == (
        "1.2: bob's exclude at screening undone; now awaiting title/abstract screening\n"
    )
    with Repository(db) as repository:
        record = repository.get_record("1.2")
    assert [(d.verdict.value, d.reviewer, d.role.value) for d in record.decisions] == [
        ("include", "ann", "review"),
        ("include", "ann", "withdrawal"),
        ("exclude", "ann", "review"),
        ("exclude", "bob", "review"),
        ("exclude", "bob", "withdrawal"),
    ]


def test_undo_a_removal_with_its_reason_and_the_reviewer_from_the_environment(db):
    decide(db, "1.3", "exclude", "ann", "--stage", "identification", "--reason", "automation")
    result = invoke("screen", "undo", "1.3", "--db", db)
    assert result.exit_code != 0 and "--reviewer" in result.output
    done = CliRunner().invoke(
        app,
        ["screen", "undo", "1.3", "--db", db],
        env={"COLUMNS": "200", "NEUROREVIEW_REVIEWER": "ann"},
    )
    assert done.exit_code == 0, done.output
    assert done.output == (
        "1.3: ann's exclude (automation) at identification undone; now awaiting "
        "title/abstract screening\n"
    )


def test_undo_of_an_unknown_record_or_store_is_one_line(db, tmp_path):
    assert one_line_error(refused("screen", "undo", "9.9", "-r", "ann", "--db", db)).startswith(
        "no record '9.9'"
    )
    missing = refused("screen", "undo", "1.1", "-r", "ann", "--db", tmp_path / "none.db")
    assert one_line_error(missing).startswith("no store at ")
