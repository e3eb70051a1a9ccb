"""Output folders written whole or not at all.

A command that writes a folder (``analyze``, ``run``) builds it under a hidden name beside its
target, ``.NAME.<pid>-<hex>.partial``, and renames it into place only when every file is
written, so an error, Ctrl-C or SIGTERM never leaves a half folder where results are expected.
A SIGKILL cannot be caught: its staging folder stays behind, and the pid in its name lets the
next command writing to the same place tell it from a live one and remove it.

Before any long work, :func:`check_writable` proves the target's parent can take a new folder,
so an unwritable ``--out`` fails in a second instead of after the Monte Carlo.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from neuroreview.errors import NeuroreviewError

#: Staging folders this process is writing right now: never stale, even though its pid lives.
_ACTIVE: set[Path] = set()
#: ``.NAME.<pid>-<hex>.partial`` (or ``.old``, an earlier folder moved aside); before pids were
#: recorded, ``.NAME.<32 hex>.partial``, which no live writer makes any more.
_SIDE = re.compile(r"^\.(?P<name>.+)\.(?:(?P<pid>\d+)-[0-9a-f]{12}|[0-9a-f]{32})\.(?:partial|old)$")


def check_writable(target: Path, option: str = "--out") -> None:
    """Refuse now a target whose folder cannot be created: a file in the way, no permission,
    a read-only file system. Probes the nearest existing ancestor with a folder of its own."""
    ancestor = target.parent
    while not ancestor.exists():
        if ancestor.parent == ancestor:
            break
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise NeuroreviewError(f"{option} {target}: {ancestor} is a file, not a folder")
    probe = ancestor / f".neuroreview-probe.{os.getpid()}-{uuid.uuid4().hex[:12]}"
    try:
        probe.mkdir()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise NeuroreviewError(
            f"{option} {target}: cannot write in {ancestor} ({reason})"
        ) from None
    probe.rmdir()


def remove_stale(target: Path) -> list[Path]:
    """Remove the staging folders of killed writers beside ``target``; return what was removed.

    A folder is stale when the process named in it is gone (or, in the older unnamed form,
    always): a writer that is still running keeps its folder.
    """
    parent = target.parent
    if not parent.is_dir():
        return []
    removed = []
    for entry in parent.iterdir():
        match = _SIDE.match(entry.name)
        if match is None or match["name"] != target.name or entry in _ACTIVE:
            continue
        pid = match["pid"]
        if pid is not None and _alive(int(pid)) and int(pid) != os.getpid():
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive, and not ours to judge
        return True
    return True


def _side_path(target: Path, kind: str) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.{kind}")


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """Yield an empty hidden folder beside ``target``; when the block succeeds it becomes
    ``target``, replacing whatever folder the caller allowed to be there.

    The caller decides beforehand whether an existing ``target`` may be replaced. It is moved
    aside, the new folder renamed in, and the old one deleted; if the rename fails it is moved
    back. The current working folder (``--out .``) cannot be renamed under the user's shell, so
    there the old entries are deleted and the new ones moved in, the record file last.
    """
    target = target.absolute()
    remove_stale(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = _side_path(target, "partial")
    staging.mkdir()
    _ACTIVE.add(staging)
    try:
        yield staging
        if target.exists() and _holds_cwd(target):
            _move_entries(staging, target)
        else:
            _swap_in(staging, target)
    finally:
        _ACTIVE.discard(staging)
        shutil.rmtree(staging, ignore_errors=True)


def _holds_cwd(folder: Path) -> bool:
    try:
        cwd = Path.cwd().resolve()
    except FileNotFoundError:
        return False
    resolved = folder.resolve()
    return cwd == resolved or resolved in cwd.parents


def _swap_in(staging: Path, target: Path) -> None:
    if not target.exists():
        staging.rename(target)
        return
    retired = _side_path(target, "old")
    target.rename(retired)
    _ACTIVE.add(retired)
    try:
        try:
            staging.rename(target)
        except BaseException:
            retired.rename(target)
            raise
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        _ACTIVE.discard(retired)


def _move_entries(staging: Path, target: Path) -> None:
    """Empty ``target`` (which the caller allowed to be replaced), then move the new entries in,
    JSON records last: a folder is recognised by its record, so it appears only when complete."""
    for entry in list(target.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    entries = sorted(staging.iterdir(), key=lambda e: (e.suffix == ".json", e.name))
    for entry in entries:
        entry.rename(target / entry.name)
