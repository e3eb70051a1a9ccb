"""The web workspace: a FastAPI app over the projects' stores and the pipeline.

``create_app`` takes the server's store (accounts, sessions, projects) and serves the REST API
under ``/api`` with its OpenAPI spec at ``/api/openapi.json``. It holds no statistics and no
screening rules: every answer comes from ``neuroreview.pipeline``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from neuroreview import __version__
from neuroreview.errors import NeuroreviewError
from neuroreview.pipeline.jobs import JobBoard
from neuroreview.store import StoreBusy, engines
from neuroreview.store.server import ServerStore
from neuroreview.web import (
    api_accounts,
    api_changes,
    api_extraction,
    api_projects,
    api_runs,
    api_screening,
    api_studies,
    pages,
    pages_extraction,
    pages_runs,
    pages_studies,
)

#: Largest request body accepted (an upload of search results included): 64 MiB.
MAX_BODY_BYTES = 64 * 2**20


def create_app(
    server: ServerStore,
    *,
    project_folder: Path | None = None,
    secure_cookies: bool = False,
    max_body_bytes: int = MAX_BODY_BYTES,
    runs_folder: Path | None = None,
) -> FastAPI:
    """The app. ``project_folder`` is where new projects' SQLite stores go (None: projects
    are only those the server was started with); ``secure_cookies`` for serving over HTTPS;
    ``runs_folder`` is where runs write their output, a folder per project (default: beside
    the projects' stores; None and no project folder: runs are refused)."""
    jobs = JobBoard(runs_folder or (project_folder / "runs" if project_folder else None))

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        # Every request opens its project's store: keep their engines (store.engines).
        served = [p.url for p in server.projects()]
        engines.keep(served)
        yield
        jobs.cancel_all()  # a run outliving its server could not be followed or cancelled
        engines.release(served)

    app = FastAPI(
        title="neuroreview",
        version=__version__,
        description="Screen, extract, check and run a neuroimaging meta-analysis review.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.server = server
    app.state.jobs = jobs
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

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        """The API answers JSON; a page someone may not see (or that does not exist) is an
        HTML page saying why, with the same status."""
        if request.url.path.startswith(("/api/", "/static/")):
            return await http_exception_handler(request, error)
        return pages.error_response(request, error.status_code, str(error.detail))

    @app.exception_handler(NeuroreviewError)
    async def neuroreview_error(_request: Request, error: NeuroreviewError) -> JSONResponse:
        if isinstance(error, StoreBusy):  # nothing was written; the client may try again
            return JSONResponse(
                {"detail": str(error)}, status_code=503, headers={"Retry-After": "1"}
            )
        return JSONResponse({"detail": str(error)}, status_code=400)

    @app.get("/api/health", tags=["server"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    for module in (
        api_accounts,
        api_projects,
        api_screening,
        api_changes,
        api_runs,
        api_extraction,
        api_studies,
        pages,
        pages_extraction,
        pages_runs,
        pages_studies,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    return app
