"""Schemathesis against the service's own OpenAPI schema, in process (ASGI): requests
generated from the schema, as an administrator and without credentials, must never
meet a server error nor a response that the schema does not describe (status code,
content type, headers, body). On the tiny register of service_data, SQLite: this is
about the HTTP contract; the backends are covered by test_service_api/work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from muster.service import create_app
from muster.store import open_store
from muster.workspace import create_workspace
from service_data import add_work, build_register

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
FUZZ = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    root: Path = tmp_path_factory.mktemp("schema")
    workspace = create_workspace(root / "ws")
    url = f"sqlite:///{root / 'register.db'}"
    store = open_store(url)
    try:
        built = build_register(store, workspace.profile())
        add_work(store, workspace.profile(), root / "notices")
        app = create_app(workspace, "test-secret", database_url=url)
        with TestClient(app):  # runs the lifespan: the app holds its store from here on
            yield app, built.tokens["admin"]
    finally:
        store.close()


def fuzz(app: Any, headers: dict[str, str]) -> list[str]:
    """Every operation of the schema, a few generated requests each; the failures.

    (A loop rather than ``schema.parametrize()``: schemathesis' pytest plugin does not
    run under pytest 9.2 yet.)"""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @FUZZ
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # every operation's failure, not just the first
            failures.append(f"{operation.label}: {exc}")
    return failures


def test_as_administrator(served: tuple[Any, str]) -> None:
    app, token = served
    failures = fuzz(app, {"Authorization": f"Bearer {token}"})
    assert not failures, "\n\n".join(failures)


def test_without_credentials(served: tuple[Any, str]) -> None:
    failures = fuzz(served[0], {})
    assert not failures, "\n\n".join(failures)
