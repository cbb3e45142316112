"""The service under concurrent load: every read still writes its audit entry into one
unbroken chain; a person read makes do with one connection and a fixed number of
queries; entries of any text hash the same on both backends; and the app can be run
by worker processes (`muster serve --workers N`)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx2 as httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from conftest import Register
from muster.errors import ConfigError, WorkspaceError
from muster.service import asgi, audit, audit_verify, create_app
from muster.service.app import REQUEST_THREADS
from muster.service.audit import entry_hash
from muster.store import Store
from muster.store.schema import audit_log
from service_data import (
    ALSO_IN_REGION,
    IN_REGION,
    OUT_OF_REGION,
    PASSWORD,
    audit_count,
    build_register,
    register_backend,
)

READERS = 12  # client threads
READS = 10  # person reads per thread, each one audit entry


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Live:
    base: str
    store: Store
    tokens: dict[str, str]
    app: FastAPI

    def client(self, role: str) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=60,
                            headers={"Authorization": f"Bearer {self.tokens[role]}"})


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Live]:
    """The service on a loopback port, in a thread (real sockets, real thread pool),
    over the small register."""
    root: Path = tmp_path_factory.mktemp("concurrency")
    with register_backend(request.param, root) as (workspace, store, url):
        tokens = build_register(store, workspace.profile()).tokens
        app = create_app(workspace, "test-secret", database_url=url)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(),
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        try:
            yield Live(f"http://127.0.0.1:{server.config.port}", store, tokens, app)
        finally:
            server.should_exit = True
            thread.join(timeout=30)


def test_concurrent_reads_each_append_to_one_unbroken_chain(live: Live) -> None:
    store = live.store
    before = audit_count(store)
    people = (IN_REGION, OUT_OF_REGION, ALSO_IN_REGION)

    def reader(i: int) -> list[int]:
        with live.client("admin") as client:
            return [client.get(f"/api/v1/persons/{people[(i + n) % 3]}",
                               params={"purpose": "casework"}).status_code
                    for n in range(READS)]

    with ThreadPoolExecutor(READERS) as pool:
        statuses = [s for batch in pool.map(reader, range(READERS)) for s in batch]
    assert statuses == [200] * READERS * READS
    assert audit_count(store) - before == READERS * READS
    assert audit_count(store, action="person.read", actor="admin") >= READERS * READS
    result = audit_verify.verify(store)
    assert result.ok, result.problems
    with store.engine.connect() as conn:
        times = [r.at for r in conn.execute(sa.select(audit_log.c.at).order_by(
            audit_log.c.seq))]
    assert times == sorted(times), "entry times do not follow the order of the chain"


def test_a_person_read_uses_one_connection_and_few_queries(live: Live) -> None:
    """Each round trip to the database is time a busy server waits: the token's account,
    then the whole read and its audit entry on one connection."""
    with live.client("admin") as client:
        engine = live.app.state.service.store.engine
        counts = {"checkouts": 0, "queries": 0}

        def checkout(*_: Any) -> None:
            counts["checkouts"] += 1

        def query(*_: Any) -> None:
            counts["queries"] += 1

        sa.event.listen(engine, "checkout", checkout)
        sa.event.listen(engine, "before_cursor_execute", query)
        try:
            response = client.get(f"/api/v1/persons/{ALSO_IN_REGION}",
                                  params={"purpose": "casework"})
        finally:
            sa.event.remove(engine, "checkout", checkout)
            sa.event.remove(engine, "before_cursor_execute", query)
    assert response.status_code == 200 and response.json()["person_id"] == ALSO_IN_REGION
    assert counts["checkouts"] == 2, counts
    if live.app.state.service.store.dialect == "postgresql":
        # the token, access, the whole person at once (store/together.py), the entry
        assert counts["queries"] == 4, counts
    else:
        # the token, access, person, values, records, links, history, eligibility,
        # cases, notices and their events, the entry (three statements): no query per
        # record or link
        assert counts["queries"] <= 14, counts


TRICKY = ['quote " and backslash \\', "new\nline\tand tab", "control \x01\x1f",
          "Иванов Пётр", "emoji 🪖", "", "</script>", "\u2028 line separator"]


def test_entries_of_any_text_hash_alike_in_python_and_in_the_database(store: Store) -> None:
    for i, text in enumerate(TRICKY):
        audit.append(store, actor=text or "x", role="officer", action="person.read",
                     person_id=None if i % 2 else f"P00000000{i}",
                     purpose=None if i % 3 else text,
                     detail={"note": text, "n": i, "nested": {"list": [text, None, 1.5]}})
    result = audit_verify.verify(store)
    assert result.ok and result.entries == len(TRICKY), result.problems
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.seq)).all()
    for row in rows:
        assert row.hash == entry_hash(row.seq, row.at, row.actor, row.role, row.action,
                                      row.person_id, row.purpose, row.detail, row.prev_hash)
    assert [r.actor for r in rows] == [t or "x" for t in TRICKY]


def test_the_asgi_factory_serves_the_workspace_named_in_the_environment(
        register: Register, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(asgi.WORKSPACE_ENV, raising=False)
    with pytest.raises(WorkspaceError, match=asgi.WORKSPACE_ENV):
        asgi.app()
    register.ok("users", "add", "root", "--role", "administrator", "--password", PASSWORD)
    monkeypatch.setenv(asgi.WORKSPACE_ENV, str(register.root))
    monkeypatch.delenv("MUSTER_SECRET_KEY", raising=False)
    with TestClient(asgi.app()) as client:
        response = client.post("/api/v1/login",
                               json={"username": "root", "password": PASSWORD})
        assert response.status_code == 200
        assert "secure" not in response.headers["set-cookie"].lower()
        assert client.get("/api/v1/me").json()["role"] == "administrator"
    # the key a worker signs sessions with is the workspace's own, made once
    assert (register.root / "service.secret").exists()


def test_the_service_works_on_as_many_requests_at_once_as_it_is_told(
        register: Register, monkeypatch: pytest.MonkeyPatch) -> None:
    """The request threads and the pooled connections: the default, the factory's
    MUSTER_REQUEST_THREADS, and a clear refusal of a value that is no number of threads."""
    def threads(app: FastAPI) -> tuple[int, int | None]:
        with TestClient(app) as client:
            limit = client.portal.call(
                lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)
            pool = app.state.service.store.engine.pool
            return int(limit), pool.size() if isinstance(pool, sa.pool.QueuePool) else None

    monkeypatch.setenv(asgi.WORKSPACE_ENV, str(register.root))
    monkeypatch.delenv(asgi.THREADS_ENV, raising=False)
    limit, pool = threads(asgi.app())
    assert limit == REQUEST_THREADS and pool in (None, REQUEST_THREADS)
    monkeypatch.setenv(asgi.THREADS_ENV, "5")
    limit, pool = threads(asgi.app())
    assert limit == 5 and pool in (None, 5)  # SQLite opens a connection per use
    for wrong in ("0", "two", "-3"):
        monkeypatch.setenv(asgi.THREADS_ENV, wrong)
        with pytest.raises(ConfigError, match=asgi.THREADS_ENV):
            asgi.app()


def test_serve_with_workers_runs_the_factory_in_each_worker(
        register: Register, monkeypatch: pytest.MonkeyPatch) -> None:
    started: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(app=app, **kw))
    monkeypatch.delenv("MUSTER_SECRET_KEY", raising=False)
    for name in (asgi.WORKSPACE_ENV, asgi.SECURE_COOKIE_ENV, asgi.THREADS_ENV):
        monkeypatch.setenv(name, "")  # set by serve: undone after
    out = register.ok("serve", "--port", "8124", "--workers", "2", "--secure-cookie",
                      "--threads", "3")
    assert "http://127.0.0.1:8124/" in out and "2 worker processes" in out
    assert "3 requests at a time each" in out
    assert started["app"] == "muster.service.asgi:app" and started["factory"] is True
    assert started["workers"] == 2 and started["port"] == 8124
    # what the workers will read: this workspace, Secure cookies, and a key made already
    assert Path(os.environ[asgi.WORKSPACE_ENV]) == register.root.resolve()
    assert os.environ[asgi.SECURE_COOKIE_ENV] == "1"
    assert os.environ[asgi.THREADS_ENV] == "3"
    assert (register.root / "service.secret").exists()
