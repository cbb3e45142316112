"""The REST API: who may see what (a role × endpoint matrix), the audit entry of every
read, sessions, tokens, the login throttle and problem+json errors. One register per
backend for the whole module."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from muster.service import create_app
from muster.service.accounts import add_account, create_token, disable_account
from muster.service.audit_verify import verify
from muster.service.auth import LoginThrottle
from muster.store import Store, open_store
from muster.store.schema import accounts, audit_log, login_failures
from muster.workspace import create_workspace
from service_data import (
    ALSO_IN_REGION,
    AS_OF,
    IN_REGION,
    MISSING,
    OUT_OF_REGION,
    PASSWORD,
    Clock,
    audit_count,
    build_register,
    register_backend,
)

ROLES = ("admin", "analyst", "officer", "citizen")


@dataclass
class Served:
    client: TestClient
    store: Store
    tokens: dict[str, str]
    clock: Clock
    app: Any
    workspace: Any
    url: str

    def get(self, path: str, role: str | None, **params: str) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return self.client.get(path, params=params, headers=headers)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("service")
    with register_backend(request.param, root) as (workspace, store, url):
        built = build_register(store, workspace.profile())
        clock = Clock()
        app = create_app(workspace, "test-secret", database_url=url,
                         throttle=LoginThrottle(clock=clock))
        with TestClient(app) as client:
            yield Served(client, store, built.tokens, clock, app, workspace, url)


@pytest.fixture
def client(served: Served) -> Iterator[TestClient]:
    """A client with its own cookie jar, on the module's running app (no second lifespan)."""
    fresh = TestClient(served.app)
    yield fresh
    fresh.close()




SEARCH = ("/api/v1/persons", {"name": "Иванов"})
# endpoint -> person it is about -> role -> the exact status expected
MATRIX: list[tuple[str, dict[str, str], str | None, dict[str, int]]] = [
    ("/api/v1/persons", {"name": "Иванов"}, None,
     {"admin": 200, "analyst": 403, "officer": 200, "citizen": 403}),
    (f"/api/v1/persons/{IN_REGION}", {"purpose": "casework"}, IN_REGION,
     {"admin": 200, "analyst": 403, "officer": 200, "citizen": 200}),
    (f"/api/v1/persons/{OUT_OF_REGION}", {"purpose": "casework"}, OUT_OF_REGION,
     {"admin": 200, "analyst": 403, "officer": 404, "citizen": 404}),
    (f"/api/v1/persons/{MISSING}", {"purpose": "casework"}, MISSING,
     {"admin": 404, "analyst": 403, "officer": 404, "citizen": 404}),
    ("/api/v1/stats/regions", {}, None,
     {"admin": 200, "analyst": 200, "officer": 200, "citizen": 403}),
    ("/api/v1/audit", {}, None,
     {"admin": 200, "analyst": 403, "officer": 403, "citizen": 200}),
    ("/api/v1/audit", {"person_id": IN_REGION}, IN_REGION,
     {"admin": 200, "analyst": 403, "officer": 403, "citizen": 200}),
    ("/api/v1/audit", {"person_id": OUT_OF_REGION}, OUT_OF_REGION,
     {"admin": 200, "analyst": 403, "officer": 403, "citizen": 404}),
    ("/api/v1/audit/head", {}, None,
     {"admin": 200, "analyst": 403, "officer": 403, "citizen": 403}),
]
# Reads of no person's data, which write no audit entry.
NO_PERSON = ("/api/v1/stats/regions", "/api/v1/audit/head")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("path", "params", "about", "expected"), MATRIX,
                         ids=[f"{m[0]}?{'&'.join(f'{k}={v}' for k, v in m[1].items())}"
                              for m in MATRIX])
def test_role_endpoint_matrix(served: Served, role: str, path: str, params: dict[str, str],
                              about: str | None, expected: dict[str, int]) -> None:
    before = audit_count(served.store)
    response = served.get(path, role, **params)
    assert response.status_code == expected[role], response.text
    if response.status_code != 200:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == expected[role]
        assert audit_count(served.store) == before  # a refused read reads nothing
    elif path in NO_PERSON:
        assert audit_count(served.store) == before
    else:
        assert audit_count(served.store) > before


@pytest.mark.parametrize(("path", "params"), [(m[0], m[1]) for m in MATRIX])
def test_anonymous_gets_401(served: Served, path: str, params: dict[str, str]) -> None:
    served.client.cookies.clear()
    response = served.get(path, None, **params)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


def test_officer_search_sees_own_regions_only(served: Served) -> None:
    admin = served.get(*SEARCH[:1], "admin", **SEARCH[1]).json()
    officer = served.get(*SEARCH[:1], "officer", **SEARCH[1]).json()
    assert {p["person_id"] for p in admin["persons"]} == {IN_REGION, OUT_OF_REGION,
                                                         ALSO_IN_REGION}
    assert {p["person_id"] for p in officer["persons"]} == {IN_REGION, ALSO_IN_REGION}


def test_analyst_sees_counts_and_no_person(served: Served) -> None:
    body = served.get("/api/v1/stats/regions", "analyst").json()
    assert body["eligibility_as_of"] == AS_OF.isoformat()
    by_region = {r["region"]: r for r in body["regions"]}
    assert {k: v["persons"] for k, v in by_region.items()} == {"MOW": 1, "TVE": 2}
    assert by_region["TVE"]["statuses"] == {"eligible_conscript": 1,
                                              "needs_clarification": 1}
    text = served.get("/api/v1/stats/regions", "analyst").text
    assert "P00000000" not in text and "Иванов" not in text
    officer = served.get("/api/v1/stats/regions", "officer").json()
    assert [r["region"] for r in officer["regions"]] == ["TVE"]


def test_every_person_read_writes_an_audit_entry(served: Served) -> None:
    for role, person, purpose in (("admin", OUT_OF_REGION, None),
                                  ("officer", IN_REGION, "clarification"),
                                  ("citizen", IN_REGION, None)):
        before = audit_count(served.store, person_id=person, action="person.read",
                             actor=role)
        params = {"purpose": purpose} if purpose else {}
        assert served.get(f"/api/v1/persons/{person}", role, **params).status_code == 200
        assert audit_count(served.store, person_id=person, action="person.read",
                           actor=role) == before + 1
    with served.store.engine.connect() as conn:
        last = conn.execute(sa.select(audit_log).where(audit_log.c.actor == "officer",
                                                       audit_log.c.action == "person.read")
                            .order_by(audit_log.c.seq.desc())).first()
    assert last is not None and last.purpose == "clarification" and last.role == "officer"
    # a search writes one entry per person it returned
    before = {p: audit_count(served.store, person_id=p, action="person.search")
              for p in (IN_REGION, OUT_OF_REGION, ALSO_IN_REGION)}
    served.get(*SEARCH[:1], "officer", **SEARCH[1])
    assert audit_count(served.store, person_id=IN_REGION, action="person.search") == \
        before[IN_REGION] + 1
    assert audit_count(served.store, person_id=ALSO_IN_REGION, action="person.search") == \
        before[ALSO_IN_REGION] + 1
    assert audit_count(served.store, person_id=OUT_OF_REGION, action="person.search") == \
        before[OUT_OF_REGION]
    assert verify(served.store).ok


def test_officer_must_give_a_purpose_from_the_list(served: Served) -> None:
    path = f"/api/v1/persons/{IN_REGION}"
    for params in ({}, {"purpose": "curiosity"}):
        before = audit_count(served.store)
        response = served.get(path, "officer", **params)
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        assert "purpose" in response.json()["detail"]
        assert "casework" in response.json()["hint"]
        assert audit_count(served.store) == before


def test_person_record_has_provenance_conflicts_records_history_eligibility(
        served: Served) -> None:
    body = served.get(f"/api/v1/persons/{ALSO_IN_REGION}", "admin").json()
    assert body["golden"]["given_name"] == "Олег"
    assert "family_key" not in body["golden"]
    chosen = {v["field"]: v["source"] for v in body["provenance"] if v["chosen"]}
    assert chosen["student_until"] == "education"
    assert {v["value"] for v in body["conflicts"]["birth_date"]} == {"1999-03-10",
                                                                     "1999-03-11"}
    assert [r["record_id"] for r in body["records"]] == ["R2"]
    assert body["history"][0]["kind"] == "created"
    [result] = body["eligibility"]
    assert result["as_of"] == AS_OF.isoformat()
    # the conflicting birth date stops a decision until an officer clarifies it
    assert result["status"] == "needs_clarification" and result["law_sha256"]


def test_citizen_sees_who_read_their_record(served: Served) -> None:
    served.get(f"/api/v1/persons/{IN_REGION}", "officer", purpose="correction")
    body = served.get("/api/v1/audit", "citizen").json()
    assert body["entries"] and all(e["person_id"] == IN_REGION for e in body["entries"])
    assert any(e["actor"] == "officer" and e["purpose"] == "correction"
               for e in body["entries"])
    everything = served.get("/api/v1/audit", "admin", limit="500").json()
    assert {e["person_id"] for e in everything["entries"]} >= {IN_REGION, OUT_OF_REGION}


def test_audit_head_is_the_head_the_chain_ends_at(served: Served) -> None:
    """What a machine client anchors: the head `muster audit verify` walks to, and it
    stays put however often it is read."""
    served.get(f"/api/v1/persons/{IN_REGION}", "admin")  # at least one entry
    body = served.get("/api/v1/audit/head", "admin").json()
    result = verify(served.store)
    assert result.ok, result.problems
    assert (body["seq"], body["hash"]) == (result.head_seq, result.head_hash)
    assert body["seq"] == audit_count(served.store) > 0
    with served.store.engine.connect() as conn:
        newest = conn.execute(sa.select(audit_log.c.at).where(
            audit_log.c.seq == body["seq"])).scalar_one()
    assert datetime.fromisoformat(body["at"]) == newest.replace(tzinfo=newest.tzinfo or UTC)
    assert served.get("/api/v1/audit/head", "admin").json() == body


def test_login_sets_a_signed_httponly_strict_cookie(client: TestClient) -> None:
    response = client.post("/api/v1/login",
                           json={"username": "officer", "password": PASSWORD})
    assert response.status_code == 200, response.text
    assert response.json() == {"username": "officer", "role": "officer",
                               "regions": ["TVE"], "person_id": None}
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert client.get("/api/v1/me").json()["username"] == "officer"
    assert client.get(f"/api/v1/persons/{IN_REGION}",
                      params={"purpose": "casework"}).status_code == 200
    assert client.get(f"/api/v1/persons/{OUT_OF_REGION}",
                      params={"purpose": "casework"}).status_code == 404
    # a forged cookie is no session
    value = client.cookies["muster_session"]
    client.cookies.clear()
    client.cookies.set("muster_session", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert client.get("/api/v1/me").status_code == 401
    client.cookies.clear()
    assert client.post("/api/v1/logout").status_code == 204


def test_login_throttled_after_five_failures(served: Served, client: TestClient) -> None:
    add_account(served.store, "throttled", PASSWORD, "analyst")
    for _ in range(5):
        response = client.post("/api/v1/login",
                               json={"username": "throttled", "password": "wrong!"})
        assert response.status_code == 401
    # even the right password waits now; other accounts are not affected
    response = client.post("/api/v1/login",
                           json={"username": "throttled", "password": PASSWORD})
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert 1 <= int(response.headers["retry-after"]) <= 61
    assert client.post("/api/v1/login", json={"username": "analyst",
                                              "password": PASSWORD}).status_code == 200
    served.clock.now += 61
    assert client.post("/api/v1/login", json={"username": "throttled",
                                              "password": PASSWORD}).status_code == 200


def test_every_worker_counts_the_same_failed_logins(served: Served,
                                                    client: TestClient) -> None:
    """Failures on one process of the service count on another, and on one started
    after them (a second worker, or a restart): N workers do not allow N × 5 guesses."""
    add_account(served.store, "guessed", PASSWORD, "analyst")
    wrong = {"username": "guessed", "password": "wrong!"}
    for _ in range(3):
        assert client.post("/api/v1/login", json=wrong).status_code == 401
    second = create_app(served.workspace, "test-secret", database_url=served.url,
                        throttle=LoginThrottle(clock=served.clock))
    with TestClient(second) as other:
        for _ in range(2):
            assert other.post("/api/v1/login", json=wrong).status_code == 401
        right = {"username": "guessed", "password": PASSWORD}
        assert other.post("/api/v1/login", json=right).status_code == 429
        assert client.post("/api/v1/login", json=right).status_code == 429
        served.clock.now += 61
        assert other.post("/api/v1/login", json=right).status_code == 200
    # a right password clears the count
    for _ in range(4):
        assert client.post("/api/v1/login", json=wrong).status_code == 401
    assert client.post("/api/v1/login", json=right).status_code == 200
    # failures that are over go with the next failure of anyone: no rows pile up
    assert client.post("/api/v1/login", json=wrong).status_code == 401
    served.clock.now += 61
    assert client.post("/api/v1/login", json={"username": "no-such-name",
                                              "password": "x"}).status_code == 401
    with served.store.engine.connect() as conn:
        left = conn.execute(sa.select(login_failures.c.username)).scalars().all()
    assert "guessed" not in left and "no-such-name" in left


def test_disabled_account_loses_tokens_and_sessions(served: Served,
                                                    client: TestClient) -> None:
    add_account(served.store, "leaver", PASSWORD, "administrator")
    token = create_token(served.store, "leaver", "tests")
    assert client.post("/api/v1/login", json={"username": "leaver",
                                              "password": PASSWORD}).status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    disable_account(served.store, "leaver")
    assert client.get("/api/v1/me").status_code == 401
    client.cookies.clear()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}
                      ).status_code == 401
    assert client.post("/api/v1/login", json={"username": "leaver",
                                              "password": PASSWORD}).status_code == 401


def test_passwords_are_stored_as_argon2id(served: Served) -> None:
    with served.store.engine.connect() as conn:
        hashes = conn.execute(sa.select(accounts.c.password_hash)).scalars().all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert all(PASSWORD not in h for h in hashes)
    assert PasswordHasher().verify(hashes[0], PASSWORD)


def test_errors_are_problem_json(served: Served) -> None:
    for response, status in (
        (served.get("/api/v1/persons", "admin"), 400),  # nothing to look for
        (served.get("/api/v1/persons", "admin", birth_date="10.03.1999"), 422),
        (served.get("/api/v1/nowhere", "admin"), 404),
        (served.client.get("/api/v1/me", headers={"Authorization": "Basic x"}), 401),
    ):
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == status and body["title"] and body["detail"]


def test_a_search_for_no_letters_finds_nobody_and_logs_nothing(served: Served) -> None:
    with served.store.engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar()
    response = served.get("/api/v1/persons", "admin", name="%")
    assert response.status_code == 400, response.text
    assert "has no letters to look for" in response.json()["detail"]
    with served.store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar() == before


def test_a_nul_character_is_a_bad_request_that_writes_nothing(served: Served) -> None:
    # PostgreSQL cannot hold a NUL as text: these answered 500 there.
    def audit_entries() -> int:
        with served.store.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar())

    before = audit_entries()
    token = {"Authorization": f"Bearer {served.tokens['admin']}"}
    for response in (
        served.get(f"/api/v1/persons/{IN_REGION}%00", "admin", purpose="casework"),
        served.client.post(f"/api/v1/persons/{IN_REGION}/clarifications", headers=token,
                           json={"reason": "address differs\0 between sources"}),
    ):
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "NUL character" in response.json()["detail"]
    assert audit_entries() == before  # nothing written (a clarification writes an entry)


def test_openapi_schema_lists_the_endpoints(served: Served) -> None:
    schema = served.client.get("/openapi.json").json()
    assert {"/api/v1/persons", "/api/v1/persons/{person_id}", "/api/v1/audit",
            "/api/v1/audit/head", "/api/v1/login", "/api/v1/stats/regions"
            } <= set(schema["paths"])
    forbidden = schema["paths"]["/api/v1/persons/{person_id}"]["get"]["responses"]["403"]
    assert forbidden["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"}


def test_an_unresolved_register_answers_409(database_url: str, tmp_path: Path) -> None:
    workspace = create_workspace(tmp_path / "ws")
    store = open_store(database_url)
    try:
        add_account(store, "root", PASSWORD, "administrator")
        token = create_token(store, "root", "tests")
        with TestClient(create_app(workspace, "s", database_url=database_url)) as client:
            response = client.get("/api/v1/persons", params={"name": "Иванов"},
                                  headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"
        assert "muster resolve" in response.json()["hint"]
    finally:
        store.close()
