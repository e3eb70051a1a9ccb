"""The pipeline's progress, drawn with Rich: a status line and bars, or tasks of one live display."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from neuroreview.cli.common import console
from neuroreview.pipeline.progress import Advance


class RichReporter:
    """Without ``live``, a status line for the fit and a transient bar per counted task (one
    analysis); with it (a whole review's display, which cannot nest another), counted tasks are
    added to it and ``stage`` advances its ``overall`` task."""

    def __init__(self, live: Progress | None = None, overall: object | None = None) -> None:
        self.live, self.overall = live, overall

    def stage(self, description: str) -> None:
        if self.live is not None and self.overall is not None:
            self.live.update(self.overall, advance=1, description=description)

    def message(self, text: str) -> None:
        console.print(text, markup=False, highlight=False)

    def status(self, text: str) -> contextlib.AbstractContextManager[None]:
        if self.live is not None:
            return contextlib.nullcontext()
        return console.status(text)

    @contextlib.contextmanager
    def task(self, label: str, total: int) -> Iterator[Advance]:
        if self.live is not None:
            task = self.live.add_task(f"  {label}", total=total)
            try:
                yield lambda done: self.live.update(task, completed=done)
            finally:
                self.live.remove_task(task)
            return
        columns = (
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("iterations", total=total)
            yield lambda done: bar.update(task, completed=done)
