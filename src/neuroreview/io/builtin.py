"""The built-in corpus shipped inside the package (src/neuroreview/data/ketamine/)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from neuroreview.model import Study

BUILTIN_CORPUS_NAME = "ketamine"
#: What the built-in corpus is, for the report's "What this corpus is": it must not pass for the
#: review it answers.
BUILTIN_CORPUS_ABOUT = (
    "The built-in ketamine corpus was assembled for neuroreview from the Neurosynth database "
    "(v0.7; peaks extracted automatically from the papers' tables), from the ketamine "
    "experiments of Saberi et al. 2025's published meta-analysis input, and from the studies' "
    "abstract pages; each value names the page it was read on. It is not the list of 47 "
    "studies Ionescu et al. (2018) reviewed: that list could not be read, and whether any "
    "study here was in their review is unverified."
)


def builtin_corpus_dir() -> Path | None:
    """The folder of the shipped corpus, or None while no corpus is shipped."""
    folder = Path(str(resources.files("neuroreview") / "data" / BUILTIN_CORPUS_NAME))
    return folder if folder.is_dir() and any(folder.glob("*.[ct]sv")) else None


def load_builtin_corpus() -> list[Study] | None:
    """Studies of the built-in corpus read from its tables, or None when it is not shipped."""
    from neuroreview.io.tables import read_tables

    folder = builtin_corpus_dir()
    if folder is None:
        return None
    return read_tables(sorted(folder.glob("*.[ct]sv")))
