"""What every command shares: the consoles, the --db option, and turning errors into one line."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from neuroreview.errors import NeuroreviewError

console = Console()
error_console = Console(stderr=True)

#: Set by the app callback; read when an error needs reporting.
state = {"debug": False}

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        help="Store: a SQLite file path or any SQLAlchemy URL (postgresql+psycopg://...).",
        envvar="NEUROREVIEW_DB",
    ),
]


JobsOption = Annotated[
    int,
    typer.Option(min=1, help="Threads for the Monte Carlo; the result does not depend on it."),
]

SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="Run the Monte Carlo on this Dask cluster (a running `dask scheduler`); the "
        "result is the same bytes as on this machine.",
        envvar="NEUROREVIEW_SCHEDULER",
    ),
]

WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="Run the Monte Carlo on a local Dask cluster of this many worker processes, "
        "started for this command (instead of --jobs threads); the same result.",
    ),
]

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(command: F) -> F:
    """Print any error as one line and exit with code 2; --debug shows the traceback instead.

    Users are researchers, not Python developers: "f.txt:12: coordinate is not a number" helps,
    a forty-line traceback does not.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except NeuroreviewError as error:
            if state["debug"]:
                raise
            error_console.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except Exception as error:  # an unexpected failure still gets one line
            if state["debug"]:
                raise
            message = f"error: {type(error).__name__}: {error} (run with --debug for details)"
            error_console.print(message, markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]
