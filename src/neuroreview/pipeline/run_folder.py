"""Which folder a run may write: new, empty, or an earlier run's with ``--force``; never one
holding the user's own files, never one holding the store it reads."""

from __future__ import annotations

import json
from pathlib import Path

from neuroreview.errors import NeuroreviewError
from neuroreview.io.layout import RUN_RECORD, RunLayout
from neuroreview.pipeline.meta_analysis_stage import CBMA_METHODS


def check_out(out: Path, force: bool, db: str | None = None) -> Path:
    """The run's folder, checked before any work: new, empty, or an earlier run's with --force.

    A folder holding anything a run did not write (the user's store, their notes, another
    tool's output) is never written into, with or without --force: the run builds its folder
    under a hidden name and swaps it in whole, which would delete them.
    """
    from neuroreview.io.staging import check_writable
    from neuroreview.store import local_store_path

    target = out.expanduser().absolute()
    if target.exists() and not target.is_dir():
        raise NeuroreviewError(f"--out {out} exists and is not a folder")
    if target.is_dir() and any(target.iterdir()):
        if not is_run_folder(target):
            names = sorted(entry.name for entry in target.iterdir())
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            raise NeuroreviewError(
                f"--out {out} holds files that `neuroreview run` did not write ({shown}); "
                "choose a new or empty folder"
            )
        foreign = sorted(e.name for e in target.iterdir() if e.name not in _run_entries())
        if foreign:
            raise NeuroreviewError(
                f"--out {out} holds an earlier run and files it did not write "
                f"({', '.join(foreign[:3])}); move them out or choose another folder"
            )
        if not force:
            raise NeuroreviewError(f"--out {out} holds an earlier run; use --force to replace it")
    local = local_store_path(db) if db else None
    if local is not None:
        store = local.absolute()
        if target == store.parent or target in store.parents:
            raise NeuroreviewError(
                f"--db {db} lies inside --out {out}, which the run replaces; "
                "copy the store elsewhere or choose another --out"
            )
    check_writable(target)
    return target


def is_run_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a run's record: its summary.json, as this command writes it."""
    try:
        document = json.loads((folder / RUN_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and {"neuroreview_version", "steps"} <= document.keys()


def _run_entries() -> set[str]:
    """Every name a run writes at the top of its folder: what --force may replace."""
    return RunLayout(Path("."), CBMA_METHODS).entries()
