"""The service as an ASGI app factory, for servers that run several worker processes.

`muster serve --workers N` (or `uvicorn --factory muster.service.asgi:app --workers N`)
starts N processes, and each builds the app again: so the app is found by name and
configured from the environment, not handed over as an object.

- MUSTER_WORKSPACE: the workspace folder (required);
- MUSTER_DATABASE_URL: the register's database (default: the workspace's);
- MUSTER_SECRET_KEY: the session-signing key (default: the workspace's service.secret);
- MUSTER_SECURE_COOKIE=1: mark the session cookie Secure (served over HTTPS);
- MUSTER_REQUEST_THREADS: requests each worker works on at once (default 2).
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from muster.errors import ConfigError, WorkspaceError
from muster.service.app import REQUEST_THREADS, create_app, service_secret
from muster.workspace import open_workspace

WORKSPACE_ENV = "MUSTER_WORKSPACE"
SECURE_COOKIE_ENV = "MUSTER_SECURE_COOKIE"
THREADS_ENV = "MUSTER_REQUEST_THREADS"


def app() -> FastAPI:
    """The service over the workspace named by MUSTER_WORKSPACE."""
    root = os.environ.get(WORKSPACE_ENV)
    if not root:
        raise WorkspaceError(f"{WORKSPACE_ENV} is not set: the service does not know which "
                             "workspace to serve.",
                             hint=f"Set {WORKSPACE_ENV}=/path/to/workspace, or start it with "
                             "`muster serve --workers N`, which sets it.")
    workspace = open_workspace(Path(root))
    return create_app(workspace, service_secret(workspace.root),
                      cookie_secure=os.environ.get(SECURE_COOKIE_ENV) == "1",
                      request_threads=request_threads())


def request_threads() -> int:
    """MUSTER_REQUEST_THREADS, or the default when it is unset."""
    text = os.environ.get(THREADS_ENV, "").strip()
    if not text:
        return REQUEST_THREADS
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{THREADS_ENV}={text!r} is not a number of threads.",
                          hint=f"Set it to a whole number of at least 1 (default "
                               f"{REQUEST_THREADS}), or leave it unset.")
    return int(text)
