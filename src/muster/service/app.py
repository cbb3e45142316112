"""The FastAPI application over one register: `create_app`, error translation, secrets.

Errors are translated here, once: a MusterError becomes application/problem+json
with its status, message and hint; so do FastAPI's own 404/405/422 answers.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from muster import __version__
from muster.errors import MusterError, TooManyRequests
from muster.service.api import router
from muster.service.api_work import router as work_router
from muster.service.auth import LoginThrottle, Sessions
from muster.service.overview import RECOUNT_SECONDS, counted_in_background
from muster.service.state import Service
from muster.service.web import install_pages
from muster.store import open_store
from muster.workspace import Workspace

SECRET_ENV = "MUSTER_SECRET_KEY"
SECRET_FILE = "service.secret"
PROBLEM_JSON = "application/problem+json"
# Requests one process works on at once (its threads; as many pooled connections),
# unless `muster serve --threads` says otherwise. The rest queue, at no cost, until a
# thread is free. Threads of one process take turns at the interpreter lock, and each
# turn costs CPU: on two cores with PostgreSQL beside the service (benchmarks/service.py,
# 50 clients), two workers of 8 threads each read persons at 255-276 req/s with p99
# 389-405 ms from a register of 1,000,000, of 2 threads each at 366-397 req/s with p99
# 205-219 ms (at 100,000: 231-251 against 303-312 req/s). A database across a network,
# whose answers take longer, can keep more threads busy.
REQUEST_THREADS = 2
log = logging.getLogger("muster.service")


def service_secret(root: Path) -> str:
    """The key that signs session cookies: MUSTER_SECRET_KEY, or one kept in the workspace
    (made on first use, readable by its owner only) so sessions survive a restart."""
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV]
    path = root / SECRET_FILE
    if not path.exists():
        # Written aside, then linked into place: worker processes starting together
        # never read a half-written key, and the first one's key wins.
        draft = root / f".{SECRET_FILE}.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text(encoding="utf-8").strip()


def problem(status: int, detail: str, hint: str | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, object] = {"type": "about:blank", "title": HTTPStatus(status).phrase,
                               "status": status, "detail": detail}
    if hint:
        body["hint"] = hint
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _muster_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MusterError)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
    if exc.status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    if exc.status >= 500:
        log.error("%s", exc)
    return problem(exc.status, exc.message, exc.hint, headers)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem(exc.status_code, str(exc.detail),
                   headers=dict(exc.headers) if exc.headers else None)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                         for e in exc.errors())
    return problem(422, f"The request is not valid: {problems}",
                   "See the OpenAPI schema at /openapi.json.")


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return problem(500, f"Unexpected error: {type(exc).__name__}.",
                   "It has been logged; report it if it persists.")


def create_app(workspace: Workspace, secret: str, *, database_url: str | None = None,
               cookie_secure: bool = False, throttle: LoginThrottle | None = None,
               recount_seconds: float = RECOUNT_SECONDS,
               request_threads: int = REQUEST_THREADS) -> FastAPI:
    """The service over the workspace's register (or the one at ``database_url``), opened
    at start-up. Casework writes officer-verified values into the workspace. The
    dashboard's counts are kept current in the background (``recount_seconds``). It
    works on ``request_threads`` requests at once."""
    database_url = database_url or workspace.database_url
    profile = workspace.profile()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = request_threads
        store = open_store(database_url, pool_size=request_threads)
        app.state.service = Service(store=store, profile=profile, workspace=workspace,
                                    sessions=Sessions(secret),
                                    throttle=throttle or LoginThrottle(),
                                    cookie_secure=cookie_secure)
        try:
            with counted_in_background(store, recount_seconds):
                yield
        finally:
            store.close()

    app = FastAPI(title="muster", version=__version__, lifespan=lifespan,
                  description="The military-registration register: persons, their sources "
                  "and the audit of who looked at them.")
    app.include_router(router)
    app.include_router(work_router)
    app.add_exception_handler(MusterError, _muster_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
    install_pages(app, secret)  # the web pages: after the API's handlers, which they wrap
    return app
