"""Where a command's studies come from: the built-in corpus, a store, or files.

One place opens a store without creating it and reads the shipped corpus, so ``run``, ``check``
and ``regions`` refuse a missing store, and name their source, the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from neuroreview.errors import NeuroreviewError
from neuroreview.model import Study

#: How a run and the report name the shipped corpus.
BUILTIN_ORIGIN = "built-in ketamine corpus"


def builtin_studies(required: bool = True) -> list[Study]:
    """The shipped corpus; ``required``: an empty one is an error rather than nothing to do."""
    from neuroreview.io.builtin import load_builtin_corpus

    studies = load_builtin_corpus() or []
    if required and not studies:
        raise NeuroreviewError(
            "no built-in corpus ships with this version yet; use --db STORE instead"
        )
    return studies


def store_studies(db: str, required: bool = False) -> tuple[list[Study], str]:
    """A store's studies and its URL; a missing store is an error, never created here, and with
    ``required`` so is an empty one."""
    from neuroreview.store import Repository

    with Repository(db, create=False) as repository:
        studies, url = repository.list_studies(), repository.url
    if required and not studies:
        raise NeuroreviewError(
            f"the store {url} holds no studies; add some with `neuroreview import FILE`"
        )
    return studies, url


def file_studies(paths: Sequence[str | Path]) -> list[Study]:
    """Studies read from files, their formats told from their names."""
    from neuroreview.io.dispatch import read_inputs

    return read_inputs(paths, "auto")
