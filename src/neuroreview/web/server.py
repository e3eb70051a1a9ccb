"""The app as ``neuroreview serve`` starts it: uvicorn builds it from a configuration in the
environment (``uvicorn neuroreview.web.server:app_from_environment --factory``), so the CLI
starts the server without importing the web app (the faces stay independent) and the same
server can be run by uvicorn, gunicorn or a service manager directly.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI

from neuroreview.errors import NeuroreviewError
from neuroreview.store.server import ServerStore
from neuroreview.web.app import create_app

#: The environment variable holding the server's configuration (JSON).
CONFIG_VARIABLE = "NEUROREVIEW_SERVE_CONFIG"


@dataclass(frozen=True)
class ServeConfig:
    """The server's store, the projects to serve as (slug, store URL or path), and where
    projects created in the browser get their SQLite stores (None: nowhere)."""

    server_db: str
    projects: list[tuple[str, str, str]] = field(default_factory=list)  # slug, title, store
    project_folder: str | None = None
    secure_cookies: bool = False
    runs_folder: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "server_db": self.server_db,
                "projects": [list(p) for p in self.projects],
                "project_folder": self.project_folder,
                "secure_cookies": self.secure_cookies,
                "runs_folder": self.runs_folder,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        values = json.loads(text)
        values["projects"] = [tuple(p) for p in values.get("projects", [])]
        return cls(**values)


def build(config: ServeConfig) -> FastAPI:
    """Open the server store, register the projects it is asked to serve, make the app."""
    store = ServerStore(config.server_db)
    for slug, title, url in config.projects:
        known = store.project(slug)
        if known is None:
            store.add_project(slug, title, url)
        elif known.url != url:
            raise NeuroreviewError(
                f"project {slug!r} is served from {known.url}, not {url}; give it another name "
                "(--db NAME=STORE)"
            )
    folder = Path(config.project_folder) if config.project_folder else None
    runs = Path(config.runs_folder) if config.runs_folder else None
    return create_app(
        store, project_folder=folder, secure_cookies=config.secure_cookies, runs_folder=runs
    )


def app_from_environment() -> FastAPI:
    text = os.environ.get(CONFIG_VARIABLE)
    if not text:
        raise NeuroreviewError(
            f"{CONFIG_VARIABLE} is not set; start the server with neuroreview serve"
        )
    return build(ServeConfig.from_json(text))
