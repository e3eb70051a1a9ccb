"""Write-then-rename, so a crash or an error never leaves a half-written output file behind."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path


def _temporary_beside(target: Path) -> Path:
    # Same folder, so the final os.replace is a rename within one file system (atomic); a plain
    # open() later gives the file the user's umask, as any other output file.
    return target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")


def _flush_to_disk(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_paths(targets: Sequence[str | Path]) -> Iterator[list[Path]]:
    """Yield temporary paths beside ``targets``; when the block succeeds, each replaces its target.

    Several files (a folder of tables) are moved into place only after all were written, so an
    error while writing the last one leaves every earlier one untouched as well.
    """
    finals = [Path(t) for t in targets]
    for final in finals:
        final.parent.mkdir(parents=True, exist_ok=True)
    temporaries = [_temporary_beside(final) for final in finals]
    try:
        yield temporaries
        for temporary in temporaries:
            _flush_to_disk(temporary)
        for temporary, final in zip(temporaries, finals, strict=True):
            os.replace(temporary, final)
    finally:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield one temporary path beside ``target``; on success it replaces ``target``."""
    with atomic_paths([target]) as (temporary,):
        yield temporary


def atomic_write_text(path: str | Path, text: str) -> Path:
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)
