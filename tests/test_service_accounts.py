"""`muster users add|list|disable|token`: roles, bindings, Argon2 hashes, clear errors."""

from __future__ import annotations

import stat
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import Register
from muster.service.accounts import account_for_token, authenticate
from muster.store.schema import accounts, persons

PASSWORD = "correct horse battery"


def test_users_add_list_disable_token(register: Register) -> None:
    store = register.store()
    with store.engine.begin() as conn:
        conn.execute(persons.insert().values(person_id="P000000042", status="active",
                                             created_run=1))
    register.ok("users", "add", "root", "--role", "administrator", "--password", PASSWORD)
    out = register.ok("users", "add", "olga", "--role", "officer", "--region", "TVE",
                      "--region", "MOW", "--password", PASSWORD)
    assert "officer (TVE, MOW)" in out
    register.ok("users", "add", "ivan", "--role", "citizen", "--person", "P000000042",
                "--password", PASSWORD)
    register.ok("users", "add", "stat", "--role", "analyst", "--password", PASSWORD)
    listing = register.ok("users", "list")
    for name in ("root", "olga", "ivan", "stat", "P000000042", "TVE, MOW"):
        assert name in listing
    assert "4 accounts" in listing
    with store.engine.connect() as conn:
        hashes = conn.execute(sa.select(accounts.c.password_hash)).scalars().all()
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert authenticate(store, "olga", PASSWORD).regions == ("TVE", "MOW")

    token = register.ok("users", "token", "olga", "--name", "export").strip()
    assert token.startswith("mst_") and account_for_token(store, token).username == "olga"
    register.ok("users", "disable", "olga")
    assert "disabled" in register.ok("users", "list")
    assert register.run("users", "token", "nobody").exit_code == 2


def test_users_add_reports_every_problem_at_once(register: Register) -> None:
    result = register.run("users", "add", "olga", "--role", "officer", "--region", "XXX",
                          "--password", "short")
    assert result.exit_code == 2
    assert "region 'XXX' is not in the profile" in result.err
    assert "at least 10" in result.err
    result = register.run("users", "add", "ivan", "--role", "citizen", "--person",
                          "P000000404", "--password", PASSWORD)
    assert result.exit_code == 2 and "No person P000000404" in result.err
    result = register.run("users", "add", "x", "--role", "general", "--password", PASSWORD)
    assert result.exit_code == 2 and "role 'general'" in result.err
    register.ok("users", "add", "root", "--role", "administrator", "--password", PASSWORD)
    result = register.run("users", "add", "root", "--role", "administrator",
                          "--password", PASSWORD)
    assert result.exit_code == 2 and "already exists" in result.err
    # Stored on SQLite, but "Unexpected error: DataError" on PostgreSQL.
    result = register.run("users", "add", "u" * 101, "--role", "analyst", "--password", PASSWORD)
    assert result.exit_code == 2 and "the username has 101 characters; give at most 100" in (
        result.err) and "Unexpected" not in result.err


def test_serve_starts_the_app_on_the_workspace(register: Register,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn
    from fastapi.testclient import TestClient

    started: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(app=app, **kw))
    monkeypatch.delenv("MUSTER_SECRET_KEY", raising=False)
    register.ok("users", "add", "root", "--role", "administrator", "--password", PASSWORD)
    out = register.ok("serve", "--port", "8123")
    assert "http://127.0.0.1:8123/" in out
    assert started["host"] == "127.0.0.1" and started["port"] == 8123
    secret = register.root / "service.secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    with TestClient(started["app"]) as client:
        response = client.post("/api/v1/login",
                               json={"username": "root", "password": PASSWORD})
        assert response.status_code == 200
        assert client.get("/api/v1/me").json()["role"] == "administrator"
