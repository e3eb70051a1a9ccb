"""``neuroreview serve``: the web workspace on this machine (127.0.0.1 unless told otherwise)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from neuroreview.cli.common import console, friendly_errors
from neuroreview.errors import NeuroreviewError
from neuroreview.store import DEFAULT_DATABASE, local_store_path

#: Where uvicorn finds the app factory (a string: the CLI never imports the web app).
APP_FACTORY = "neuroreview.web.server:app_from_environment"
CONFIG_VARIABLE = "NEUROREVIEW_SERVE_CONFIG"


def _project(text: str) -> tuple[str, str, str]:
    """``NAME=STORE`` or ``STORE`` (named after the file) -> (slug, title, store)."""
    name, sep, store = text.partition("=")
    if not sep or "://" in name:
        name, store = "", text
    local = local_store_path(store)
    if not name:
        if local is None:
            raise NeuroreviewError(f"--db {text}: name a database URL's project: --db NAME={text}")
        name = local.stem
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")[:63]
    if not slug:
        raise NeuroreviewError(f"--db {text}: the project needs a name of letters or digits")
    return slug, name, str(local) if local is not None else store


@friendly_errors
def serve(
    db: Annotated[
        list[str] | None,
        typer.Option(
            "--db",
            metavar="[NAME=]STORE",
            help="A review store to serve as a project (a SQLite file or a database URL); "
            f"repeat for several. Default: {DEFAULT_DATABASE}, created if missing.",
        ),
    ] = None,
    server_db: Annotated[
        str | None,
        typer.Option(
            "--server-db",
            help="Where accounts, sessions and memberships live (default: the first --db).",
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on; 0.0.0.0 serves your whole network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8765,
    https_cookies: Annotated[
        bool,
        typer.Option(
            "--https-cookies", help="Mark cookies Secure (behind an HTTPS reverse proxy)."
        ),
    ] = False,
    runs: Annotated[
        Path | None,
        typer.Option(
            "--runs",
            metavar="DIR",
            help="Where runs started in the browser write their output, a folder per project "
            "(default: neuroreview-runs beside the server's store; needed when that is a URL).",
        ),
    ] = None,
) -> None:
    """Start the web workspace: screen, extract, check and run a review in the browser."""
    import uvicorn

    from neuroreview.pipeline.screening.plan import open_store

    projects = [_project(text) for text in (db or [DEFAULT_DATABASE])]
    slugs = [slug for slug, _title, _url in projects]
    if len(set(slugs)) != len(slugs):
        raise NeuroreviewError("two --db stores have the same project name; name them NAME=STORE")
    for _slug, _title, store in projects:
        local = local_store_path(store)
        if local is not None and not local.exists():
            console.print(f"creating an empty store {store}", markup=False, highlight=False)
        open_store(store, create=True).close()
    if runs is not None and runs.exists() and not runs.is_dir():
        raise NeuroreviewError(f"--runs {runs}: is a file, not a folder")
    first = projects[0][2]
    server = server_db or first
    folder = local_store_path(server)
    config = {
        "server_db": server,
        "projects": [list(p) for p in projects],
        "project_folder": str(Path(folder).resolve().parent) if folder is not None else None,
        "secure_cookies": https_cookies,
        "runs_folder": str(runs.resolve())
        if runs is not None
        else str(Path(folder).resolve().parent / "neuroreview-runs")
        if folder is not None
        else None,
    }
    os.environ[CONFIG_VARIABLE] = json.dumps(config)
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    console.print(
        f"neuroreview web workspace: http://{shown}:{port}/ (projects: {', '.join(slugs)}); "
        "Ctrl-C stops it",
        markup=False,
        highlight=False,
    )
    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, log_level="warning")
