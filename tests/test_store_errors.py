"""A store that cannot be used: one line naming it, exit code 2, and nothing created or changed.

A typo in ``--db`` must not leave an empty store behind (only ``import`` creates one), and a
text file, a folder, a locked or a broken database must not print SQL. Reader errors are in
test_import_malformed.py; this file covers what goes wrong with the store itself.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neuroreview.cli import app
from neuroreview.errors import NeuroreviewError
from neuroreview.store import Repository
from neuroreview.store import repository as repository_module

SEED = Path(__file__).parent / "data" / "cli" / "two_studies.txt"
SEED_IDS = "'Abdallah et al., 2017', 'Scheidegger et al., 2012'"
POSTGRES_URL = os.environ.get("NEUROREVIEW_TEST_POSTGRES_URL")


def invoke(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "300"})


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file and folder under ``folder`` with its bytes (None for a folder)."""
    return {
        str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes()
        for p in sorted(folder.rglob("*"))
    }


def commands(work: Path) -> dict[str, list[str | Path]]:
    """Every command that opens the store, with what it needs besides --db."""
    return {
        "import": ["import", SEED],
        "studies": ["studies"],
        "export": ["export", "--format", "nimads", "--out", work / "out.json"],
        "regions": ["regions", "--out", work / "regions"],
    }


@pytest.fixture
def work(tmp_path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture
def store(work) -> Path:
    db = work / "store.db"
    assert invoke("import", SEED, "--db", db).exit_code == 0
    return db


@pytest.fixture
def short_busy_timeout(monkeypatch) -> None:
    """A locked store is reported after 0.05 s instead of SQLite's 5 s."""
    monkeypatch.setattr(repository_module, "SQLITE_BUSY_TIMEOUT", 0.05)


def assert_refused(result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.output == f"error: {message}\n"


# -- a missing store is not created -------------------------------------------------------------


@pytest.mark.parametrize("command", ["studies", "export", "regions"])
def test_missing_store_is_not_created(work, command):
    db = work / "typo.db"
    result = invoke(*commands(work)[command], "--db", db)
    assert_refused(result, f"no store at {db}; create one with `neuroreview import FILE --db {db}`")
    assert snapshot(work) == {}


@pytest.mark.parametrize("command", ["studies", "export", "regions"])
def test_missing_folder_is_not_created(work, command):
    db = work / "nowhere" / "typo.db"
    result = invoke(*commands(work)[command], "--db", db)
    assert_refused(result, f"no store at {db}; create one with `neuroreview import FILE --db {db}`")
    assert snapshot(work) == {}


def test_import_still_creates_the_store(work):
    db = work / "new.db"
    result = invoke("import", SEED, "--db", db)
    assert result.exit_code == 0, result.output
    with Repository(db, create=False) as repository:
        assert repository.counts().studies == 2


def test_repository_without_create_makes_nothing(work):
    db = work / "typo.db"
    with pytest.raises(NeuroreviewError) as raised:
        Repository(db, create=False)
    assert str(raised.value) == (
        f"no store at {db}; create one with `neuroreview import FILE --db {db}`"
    )
    assert snapshot(work) == {}


def test_empty_database_without_create_gets_no_tables(work):
    # An existing database with no tables (a 0-byte file here; an empty PostgreSQL database
    # below) is not a store either, and opening it without create must not make one.
    db = work / "empty.db"
    db.write_bytes(b"")
    result = invoke("studies", "--db", db)
    assert_refused(result, f"no store at {db}; create one with `neuroreview import FILE --db {db}`")
    assert snapshot(work) == {"empty.db": b""}


def test_in_memory_database_without_create_is_no_store():
    with pytest.raises(NeuroreviewError) as raised:
        Repository("sqlite://", create=False)
    assert str(raised.value) == (
        "no store at sqlite://; create one with `neuroreview import FILE --db sqlite://`"
    )


def test_empty_postgres_database_without_create_gets_no_tables():
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL server: set NEUROREVIEW_TEST_POSTGRES_URL (.ci/run does)")
    from sqlalchemy import create_engine, inspect, make_url

    from neuroreview.store import schema

    engine = create_engine(POSTGRES_URL)
    schema.metadata.drop_all(engine)
    shown = make_url(POSTGRES_URL).render_as_string(hide_password=True)
    try:
        with pytest.raises(NeuroreviewError) as raised:
            Repository(POSTGRES_URL, create=False)
        assert str(raised.value) == (
            f"no store at {shown}; create one with `neuroreview import FILE --db {shown}`"
        )
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


# -- what --db names is not a store -------------------------------------------------------------


@pytest.mark.parametrize("command", ["import", "studies", "export", "regions"])
def test_text_file_is_not_a_store(work, command):
    db = work / "notes.db"
    db.write_text("shopping list\n")
    result = invoke(*commands(work)[command], "--db", db)
    assert_refused(result, f"{db}: not a neuroreview store")
    assert snapshot(work) == {"notes.db": b"shopping list\n"}


@pytest.mark.parametrize("command", ["import", "studies", "export", "regions"])
def test_foreign_sqlite_database_is_not_a_store(work, command):
    db = work / "other.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE t (a int)")
    connection.close()
    before = snapshot(work)
    result = invoke(*commands(work)[command], "--db", db)
    assert_refused(result, f"{db}: not a neuroreview store")
    assert snapshot(work) == before


@pytest.mark.parametrize("command", ["import", "studies", "export", "regions"])
def test_folder_is_not_a_store(work, command):
    folder = work / "stores"
    folder.mkdir()
    result = invoke(*commands(work)[command], "--db", folder)
    assert_refused(result, f"{folder}: is a folder, not a neuroreview store")
    assert snapshot(work) == {"stores": None}


def test_broken_store_is_one_line_without_sql(store, work):
    with sqlite3.connect(store) as connection:
        connection.execute("DROP TABLE region_findings")
    connection.close()
    before = snapshot(work)
    result = invoke("studies", "--db", store)
    assert_refused(result, f"{store}: the store cannot be used (no such table: region_findings)")
    assert snapshot(work) == before


# -- a store another process is writing -------------------------------------------------------


def run_while_locked(store: Path, lock: str, *args: str | Path):
    """Run the CLI while another connection holds ``BEGIN <lock>`` on the store."""
    holder = sqlite3.connect(store, isolation_level=None)
    try:
        holder.execute(f"BEGIN {lock}")
        result = invoke(*args, "--db", store)
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    return result


@pytest.mark.parametrize("lock", ["EXCLUSIVE", "IMMEDIATE"])
def test_locked_store_refuses_the_import(store, work, short_busy_timeout, lock):
    # EXCLUSIVE keeps the import from even opening the store; IMMEDIATE lets it read and
    # blocks its write.
    before = snapshot(work)
    result = run_while_locked(store, lock, "import", SEED, "--replace")
    assert_refused(result, f"{store}: locked by another neuroreview process, try again")
    assert snapshot(work) == before


def test_exclusively_locked_store_refuses_reading(store, work, short_busy_timeout):
    before = snapshot(work)
    result = run_while_locked(store, "EXCLUSIVE", "studies")
    assert_refused(result, f"{store}: locked by another neuroreview process, try again")
    assert snapshot(work) == before


# -- a study already stored -------------------------------------------------------------------


def test_duplicate_import_is_one_line(store, work):
    before = snapshot(work)
    result = invoke("import", SEED, "--db", store)
    assert_refused(result, f"{SEED}: studies {SEED_IDS} are already in the store (use --replace)")
    assert snapshot(work) == before


def test_one_duplicate_study_is_named(store, work):
    one = work / "one.txt"
    one.write_text(
        "// Reference=MNI\n// Abdallah et al., 2017: again\n// Subjects=5\n1 2 3\n",
        encoding="utf-8",
    )
    before = snapshot(work)
    result = invoke("import", one, "--db", store)
    assert_refused(
        result, f"{one}: study 'Abdallah et al., 2017' is already in the store (use --replace)"
    )
    assert snapshot(work) == before
