"""How a running review tells its caller what it is doing, without knowing who listens.

The pipeline reports through a :class:`Reporter`; the CLI passes one drawing Rich progress bars,
the web app one feeding its job status, a script none (:class:`SilentReporter`). Nothing here
imports a display library.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Protocol

#: Called with the number of units done so far.
Advance = Callable[[int], None]


class Reporter(Protocol):
    def stage(self, description: str) -> None:
        """A new stage of the review begins (one step of the overall progress)."""

    def message(self, text: str) -> None:
        """Something the user should read now (e.g. that a first run compiles its kernels)."""

    def status(self, text: str) -> contextlib.AbstractContextManager[None]:
        """A step of unknown length is running (e.g. fitting a meta-analysis)."""

    def task(self, label: str, total: int) -> contextlib.AbstractContextManager[Advance]:
        """A counted task (e.g. Monte Carlo iterations); yields the function to report with."""


class SilentReporter:
    """Reports to nobody: a review run from a script or a test."""

    def stage(self, description: str) -> None:
        return None

    def message(self, text: str) -> None:
        return None

    @contextlib.contextmanager
    def status(self, text: str) -> Iterator[None]:
        yield

    @contextlib.contextmanager
    def task(self, label: str, total: int) -> Iterator[Advance]:
        yield lambda done: None
