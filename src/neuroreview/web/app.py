"""The web workspace: a FastAPI app over the projects' stores and the pipeline.

``create_app`` takes the server's store (accounts, sessions, projects) and serves the REST API
under ``/api`` with its OpenAPI spec at ``/api/openapi.json``. It holds no statistics and no
screening rules: every answer comes from ``neuroreview.pipeline``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from neuroreview import __version__
from neuroreview.errors import NeuroreviewError
from neuroreview.store.server import ServerStore
from neuroreview.web import api_accounts, api_projects, api_screening, pages

#: Largest request body accepted (an upload of search results included): 64 MiB.
MAX_BODY_BYTES = 64 * 2**20


def create_app(
    server: ServerStore,
    *,
    project_folder: Path | None = None,
    secure_cookies: bool = False,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    """The app. ``project_folder`` is where new projects' SQLite stores go (None: projects
    are only those the server was started with); ``secure_cookies`` for serving over HTTPS."""
    app = FastAPI(
        title="neuroreview",
        version=__version__,
        description="Screen, extract, check and run a neuroimaging meta-analysis review.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.server = server
    app.state.project_folder = project_folder
    app.state.secure_cookies = secure_cookies
    app.state.max_upload_bytes = max_body_bytes

    @app.middleware("http")
    async def refuse_oversized(request: Request, call_next):
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_body_bytes):
            return JSONResponse(
                {"detail": f"request body larger than the {max_body_bytes // 2**20} MiB limit"},
                status_code=413,
            )
        return await call_next(request)

    @app.exception_handler(NeuroreviewError)
    async def neuroreview_error(_request: Request, error: NeuroreviewError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=400)

    @app.get("/api/health", tags=["server"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    for module in (api_accounts, api_projects, api_screening, pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    return app
