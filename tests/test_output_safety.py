"""A user's files are sacred, and a killed or interrupted command leaves nothing behind.

``run`` writes only into a new or empty folder, or over an earlier run with ``--force``; it
builds its folder under a hidden name and renames it into place, so an error, Ctrl-C or
SIGTERM leaves no half folder, and a SIGKILL's leftovers are removed by the next command into
the same place. The Monte Carlo runs in threads, so killing a command kills all of it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neuroreview.cli import app
from neuroreview.errors import NeuroreviewError
from neuroreview.io.staging import check_writable, remove_stale, staged_folder

runner = CliRunner()
SLEUTH = Path(__file__).parent / "data" / "cli" / "two_studies.txt"
FAST = ("--iterations", "20", "--no-sensitivity")  # output safety, not the sensitivity check


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (hidden ones too) with its bytes."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def one_error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


# --- run never destroys user data -----------------------------------------------------------


def test_run_out_dot_keeps_the_users_store(tmp_path, monkeypatch):
    """The issue's case: import into ./neuroreview.db, then `run --out .`."""
    monkeypatch.chdir(tmp_path)
    assert invoke("import", SLEUTH).exit_code == 0
    before = snapshot(tmp_path)
    line = one_error_line(invoke("run", "--out", ".", *FAST))
    assert line == (
        "error: --out . holds files that `neuroreview run` did not write (neuroreview.db); "
        "choose a new or empty folder"
    )
    assert snapshot(tmp_path) == before  # the store holds the user's 2 studies, byte for byte
    assert sorted(p.name for p in tmp_path.iterdir()) == ["neuroreview.db"]
    # --force does not make a user's folder a run folder.
    one_error_line(invoke("run", "--out", ".", *FAST, "--force"))
    assert snapshot(tmp_path) == before


def test_an_unrelated_summary_json_is_not_a_run(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "summary.json").write_text('{"mine": true}\n')
    for extra in ((), ("--force",)):
        line = one_error_line(invoke("run", "--corpus", SLEUTH, "--out", out, *FAST, *extra))
        assert "holds files that `neuroreview run` did not write (summary.json)" in line
    assert (out / "summary.json").read_text() == '{"mine": true}\n'


def test_an_earlier_run_is_replaced_only_with_force_and_only_whole(tmp_path):
    out = tmp_path / "review"
    assert invoke("run", "--corpus", SLEUTH, "--out", out, *FAST).exit_code == 0
    first = json.loads((out / "summary.json").read_text())
    line = one_error_line(invoke("run", "--corpus", SLEUTH, "--out", out, *FAST))
    assert line == f"error: --out {out} holds an earlier run; use --force to replace it"
    result = invoke("run", "--corpus", SLEUTH, "--out", out, *FAST, "--seed", "7", "--force")
    assert result.exit_code == 0, result.output
    second = json.loads((out / "summary.json").read_text())
    assert (first["settings"]["seed"], second["settings"]["seed"]) == (0, 7)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["review"]  # nothing hidden left
    # A note the user put into the run folder is theirs: the folder is no longer the run's alone.
    (out / "notes.txt").write_text("my notes")
    line = one_error_line(invoke("run", "--corpus", SLEUTH, "--out", out, *FAST, "--force"))
    assert "holds an earlier run and files it did not write (notes.txt)" in line
    assert (out / "notes.txt").read_text() == "my notes"


def test_run_refuses_to_replace_the_folder_holding_its_input_store(tmp_path):
    out = tmp_path / "review"
    assert invoke("run", "--corpus", SLEUTH, "--out", out, *FAST).exit_code == 0
    store = out / "neuroreview.db"
    before = store.read_bytes()
    line = one_error_line(invoke("run", "--db", store, "--out", out, *FAST, "--force"))
    assert "lies inside --out" in line and "which the run replaces" in line
    assert store.read_bytes() == before


def test_run_into_the_empty_current_folder_keeps_it_the_current_folder(tmp_path, monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    inode = here.stat().st_ino
    result = invoke("run", "--corpus", SLEUTH, "--out", ".", *FAST)
    assert result.exit_code == 0, result.output
    assert here.stat().st_ino == inode  # the shell's folder was filled, not swapped
    assert (here / "report.html").is_file() and (here / "ale" / "analysis.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here"]
    again = invoke("run", "--corpus", SLEUTH, "--out", ".", *FAST, "--force", "--seed", "3")
    assert again.exit_code == 0, again.output
    assert json.loads((here / "summary.json").read_text())["settings"]["seed"] == 3
    assert here.stat().st_ino == inode


def test_an_interrupted_run_leaves_no_folder_and_keeps_the_earlier_one(tmp_path, monkeypatch):
    out = tmp_path / "review"
    assert invoke("run", "--corpus", SLEUTH, "--out", out, *FAST).exit_code == 0
    before = snapshot(out)

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("neuroreview.pipeline.review._regions_step", interrupted)
    result = invoke("run", "--corpus", SLEUTH, "--out", out, *FAST, "--force")
    assert result.exit_code == 130
    assert snapshot(out) == before
    result = invoke("run", "--corpus", SLEUTH, "--out", tmp_path / "new", *FAST)
    assert result.exit_code == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["review"]


# --- staging folders ------------------------------------------------------------------------


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_staging_folders_go_and_live_ones_stay(tmp_path):
    target = tmp_path / "out"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        names = {
            "dead": f".out.{dead_pid()}-0123456789ab.partial",
            "old_format": f".out.{'a' * 32}.partial",
            "dead_old": f".out.{dead_pid()}-0123456789ab.old",
            "live": f".out.{sleeper.pid}-0123456789ab.partial",
            "other_target": f".other.{dead_pid()}-0123456789ab.partial",
        }
        for name in names.values():
            (tmp_path / name).mkdir()
            (tmp_path / name / "stat.nii.gz").write_bytes(b"x")
        removed = remove_stale(target)
        assert sorted(p.name for p in removed) == sorted(
            names[k] for k in ("dead", "old_format", "dead_old")
        )
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [names["live"], names["other_target"]]
        )
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_staged_folder_appears_whole_or_not_at_all(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(RuntimeError), staged_folder(target) as staging:
        (staging / "a.txt").write_text("a")
        assert staging.name.startswith(f".out.{os.getpid()}-")
        raise RuntimeError("failed half way")
    assert list(tmp_path.iterdir()) == []
    with staged_folder(target) as staging:
        (staging / "a.txt").write_text("a")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert (target / "a.txt").read_text() == "a"


def test_unwritable_places_are_found_before_any_work(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(NeuroreviewError, match=r"file\.txt is a file, not a folder"):
        check_writable(blocker / "sub" / "out")
    with pytest.raises(NeuroreviewError, match=r"cannot write in /proc"):
        check_writable(Path("/proc/neuroreview-out"))
    check_writable(tmp_path / "new" / "deeper" / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]  # the probe is gone


@pytest.mark.parametrize("command", ["analyze", "run"])
def test_an_unwritable_out_fails_before_the_monte_carlo(tmp_path, monkeypatch, command):
    def no_monte_carlo(*_args, **_kwargs):
        raise AssertionError("the Monte Carlo ran before --out was checked")

    monkeypatch.setattr("neuroreview.pipeline.meta_analysis.correct_fwe", no_monte_carlo)
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    source = (SLEUTH,) if command == "analyze" else ("--corpus", SLEUTH)
    line = one_error_line(invoke(command, *source, "--out", blocker / "out", *FAST))
    assert line == f"error: --out {blocker / 'out'}: {blocker} is a file, not a folder"
    line = one_error_line(invoke(command, *source, "--out", "/proc/neuroreview-out", *FAST))
    assert line.startswith("error: --out /proc/neuroreview-out: cannot write in /proc (")


def test_analyze_removes_a_killed_runs_staging_folder(tmp_path):
    stale = tmp_path / f".ale.{dead_pid()}-0123456789ab.partial"
    stale.mkdir()
    (stale / "stat.nii.gz").write_bytes(b"half")
    result = invoke("analyze", SLEUTH, "--out", tmp_path / "ale", *FAST, "--seed", "1")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ale"]


# --- killed processes -----------------------------------------------------------------------


def _children(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "COLUMNS": "200"}
    return subprocess.Popen(
        [sys.executable, "-m", "neuroreview", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_monte_carlo(process: subprocess.Popen, timeout: float = 120.0) -> int:
    """Wait until the Monte Carlo's two threads run (or, before, its processes started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        threads = len(list(Path(f"/proc/{process.pid}/task").iterdir()))
        if threads >= 3 or _children(process.pid):
            time.sleep(0.5)
            return threads
        time.sleep(0.1)
    raise AssertionError("the Monte Carlo did not start")


def _nothing_left(folder: Path, pids: set[int], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        living = {pid for pid in pids if _alive(pid)}
        hidden = [p.name for p in folder.iterdir() if p.name.startswith(".")]
        if not living and not hidden:
            return
        time.sleep(0.1)
    raise AssertionError(f"left behind: processes {sorted(living)}, folders {hidden}")


@pytest.mark.slow
def test_sigkill_on_analyze_with_two_jobs_leaves_nothing_behind(tmp_path):
    process = _start(
        ["analyze", str(SLEUTH), "--iterations", "2000000", "--jobs", "2", "--seed", "1"],
        tmp_path,
    )
    try:
        threads = _wait_for_monte_carlo(process)
        children = _children(process.pid)
        assert children == set(), "the Monte Carlo started processes"
        assert threads >= 3  # the main thread and two Monte Carlo threads
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=5)
        _nothing_left(tmp_path, children)
        assert list(tmp_path.iterdir()) == []
    finally:
        process.kill()
        process.wait()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sent", "codes"),
    [
        (signal.SIGTERM, {143}),
        # Ctrl-C exits 130; under `python -m` CPython sometimes re-raises SIGINT at exit
        # instead (the Unix convention; a shell shows 130 for both). Cleanup runs either way.
        (signal.SIGINT, {130, -signal.SIGINT}),
    ],
)
def test_sigterm_or_ctrl_c_on_run_leaves_no_folder(tmp_path, sent, codes):
    process = _start(
        ["run", "--corpus", str(SLEUTH), "--iterations", "2000000", "--jobs", "2"], tmp_path
    )
    try:
        _wait_for_monte_carlo(process)
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")]
        process.send_signal(sent)
        assert process.wait(timeout=15) in codes, process.stderr.read()
        _nothing_left(tmp_path, set())
        assert list(tmp_path.iterdir()) == []
    finally:
        process.kill()
        process.wait()
