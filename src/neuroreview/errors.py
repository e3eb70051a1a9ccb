"""The error types users see.

Every reader and every importer raises :class:`InputError`, so callers (the CLI, the web app) need
to catch one type to turn any bad input into one readable line naming the file and line.
"""

from __future__ import annotations

from pathlib import Path


class NeuroreviewError(Exception):
    """Base class for errors that are the user's to fix; the CLI prints them without a traceback."""


class InputError(NeuroreviewError, ValueError):
    """Bad input: names where it came from (file and line, or a study id) and what is wrong.

    It subclasses ValueError so that code written against plain Python readers keeps working.
    """

    def __init__(self, message: str, source: str | Path | None = None, line: int | None = None):
        self.message = message
        self.source = str(source) if source is not None else None
        self.line = line
        super().__init__(self.location_prefix() + message)

    def location_prefix(self) -> str:
        if self.source is None:
            return ""
        if self.line is None:
            return f"{self.source}: "
        return f"{self.source}:{self.line}: "
