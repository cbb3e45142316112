"""The ASGI application the service benchmark runs under `uvicorn --workers N --factory`.

`muster serve` runs one process; uvicorn's workers each build the app again, so they
need a factory that finds the register without arguments: the workspace comes from
MUSTER_WORKSPACE, the database from MUSTER_DATABASE_URL, the session key from
MUSTER_SECRET_KEY.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from muster.service import create_app, service_secret
from muster.workspace import open_workspace


def app() -> FastAPI:
    workspace = open_workspace(Path(os.environ["MUSTER_WORKSPACE"]))
    application: FastAPI = create_app(workspace, service_secret(workspace.root))
    return application
