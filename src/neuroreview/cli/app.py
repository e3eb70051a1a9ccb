"""The Typer application: one command per job, each in a module of its own."""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from neuroreview import __version__
from neuroreview.cli import (
    analyze,
    check,
    compare,
    corpus,
    decode,
    label,
    regions,
    report,
    run,
    screen,
    serve,
)
from neuroreview.cli.common import error_console, state


class OneLineErrors(TyperGroup):
    """Usage errors (a bad choice, ``--seed -1``, an unknown option) as one line, exit code 2.

    Click and Typer draw them as a framed panel over several lines; every other error of
    neuroreview is one line (``friendly_errors``), and a researcher scanning a log or a batch
    script's output should find both kinds the same way.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.TyperException as error:
            if type(error).__name__ == "NoArgsIsHelpError":  # bare `neuroreview`: the help
                error.show()
                return _finish(0, standalone_mode)
            where = error.ctx.command_path if getattr(error, "ctx", None) else "neuroreview"
            error_console.print(
                f"error: {' '.join(error.format_message().split())} (see `{where} --help`)",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            return _finish(2, standalone_mode)
        except typer.Abort:
            error_console.print("error: interrupted", markup=False, highlight=False)
            return _finish(130, standalone_mode)
        return _finish(result if isinstance(result, int) else 0, standalone_mode)


def _finish(code: int, standalone_mode: bool) -> int:
    if standalone_mode:
        sys.exit(code)
    return code


app = typer.Typer(
    name="neuroreview",
    cls=OneLineErrors,
    help="Reproducible meta-analysis of a drug's neuroimaging literature.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"neuroreview {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show full tracebacks instead of one-line errors.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    state["debug"] = debug


app.command("import")(corpus.import_files)
app.command("studies")(corpus.list_studies)
app.command("export")(corpus.export)
app.command("analyze")(analyze.analyze)
app.command("compare")(compare.compare)
app.command("check")(check.check)
app.command("run")(run.run)
app.command("label", context_settings=label.CONTEXT_SETTINGS)(label.label)
app.command("regions")(regions.regions)
app.command("report")(report.report)
app.command("decode")(decode.decode)
app.command("serve")(serve.serve)
app.add_typer(screen.app, name="screen")


def _terminate(signum: int, _frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C: every ``finally`` runs, so staging folders are removed."""
    raise SystemExit(128 + signum)


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    app(prog_name="neuroreview")
