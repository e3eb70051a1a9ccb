"""The Typer application: one command per job, each in a module of its own."""

from __future__ import annotations

from typing import Annotated

import typer

from neuroreview import __version__
from neuroreview.cli import analyze, corpus, decode, label, regions, report, run
from neuroreview.cli.common import state

app = typer.Typer(
    name="neuroreview",
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
app.command("run")(run.run)
app.command("label", context_settings=label.CONTEXT_SETTINGS)(label.label)
app.command("regions")(regions.regions)
app.command("report")(report.report)
app.command("decode")(decode.decode)


def main() -> None:
    app(prog_name="neuroreview")
