"""The casework, plan, notice and review endpoints on the tiny register of service_data
(SQLite and PostgreSQL): who may do what (a role × endpoint matrix with exact statuses),
the audit entry of every person-data read and write, none for a refused request."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from muster.casework.cases import open_case
from muster.eligibility.evaluate import evaluate
from muster.service import create_app
from muster.service.audit_verify import verify
from muster.store import Store
from muster.store.schema import (
    cases,
    notices,
    person_records,
    review_decisions,
    review_pairs,
    source_records,
)
from service_data import (
    ALSO_IN_REGION,
    AS_OF,
    IN_REGION,
    MISSING,
    OUT_OF_REGION,
    PASSWORD,
    Work,
    add_work,
    audit_count,
    build_register,
    register_backend,
)

ROLES = ("admin", "analyst", "officer", "citizen")
NO_SUCH = 999_999


@dataclass
class Served:
    client: TestClient
    store: Store
    tokens: dict[str, str]
    work: Work

    def call(self, method: str, path: str, role: str | None, json: Any = None,
             **params: str) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return self.client.request(method, path, params=params, json=json, headers=headers)

    def case(self, person_id: str, kind: str = "clarification") -> int:
        """A fresh open case (the matrix decides one per call)."""
        if person_id == MISSING:
            return NO_SUCH
        return open_case(self.store, person_id, kind, "set up by the test", {}, "tests").id

    def issued(self, person_id: str) -> int:
        """The person's notice, put back to "issued" so every call may move it."""
        if person_id == MISSING:
            return NO_SUCH
        notice_id = self.work.notices[person_id]
        with self.store.engine.begin() as conn:
            conn.execute(notices.update().where(notices.c.id == notice_id).values(
                status="issued"))
        return notice_id


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("work")
    with register_backend(request.param, root) as (workspace, store, url):
        profile = workspace.profile()
        built = build_register(store, profile)
        work = add_work(store, profile, root / "notices")
        with TestClient(create_app(workspace, "test-secret", database_url=url)) as client:
            yield Served(client, store, built.tokens, work)




def expect(admin: int, analyst: int, officer: int, citizen: int) -> dict[str, int]:
    return {"admin": admin, "analyst": analyst, "officer": officer, "citizen": citizen}


# (name, method, path for (served, person), body, person -> role -> status, roles whose
# success reads no person's data)
Path_ = Callable[[Served, str], str]
MATRIX: list[tuple[str, str, Path_, Any, dict[str, dict[str, int]], set[str]]] = [
    ("queue", "GET", lambda s, p: "/api/v1/cases", None,
     {"-": expect(200, 403, 200, 403)}, set()),
    ("case", "GET", lambda s, p: f"/api/v1/cases/{s.case(p)}", None,
     {IN_REGION: expect(200, 403, 200, 200), OUT_OF_REGION: expect(200, 403, 404, 404),
      MISSING: expect(404, 403, 404, 404)}, set()),
    ("clarify", "POST", lambda s, p: f"/api/v1/persons/{p}/clarifications",
     {"reason": "two addresses in one month"},
     {IN_REGION: expect(201, 403, 201, 403), OUT_OF_REGION: expect(201, 403, 404, 403),
      MISSING: expect(404, 403, 404, 403)}, set()),
    # Values that fail the register's checks: 400 shows the request got past access
    # (the successful path resolves again; test_service_casework covers it).
    ("verified", "POST", lambda s, p: f"/api/v1/cases/{s.case(p)}/verified",
     {"values": {"birth_date": "31.02.1999"}, "reason": "passport seen"},
     {IN_REGION: expect(400, 403, 400, 403), OUT_OF_REGION: expect(400, 403, 404, 403),
      MISSING: expect(404, 403, 404, 403)}, set()),
    ("correct", "POST", lambda s, p: f"/api/v1/persons/{p}/corrections",
     {"values": {"address": "Тверь, ул. Советская, 5"}, "reason": "I moved"},
     {IN_REGION: expect(201, 403, 201, 201), OUT_OF_REGION: expect(201, 403, 404, 404),
      MISSING: expect(404, 403, 404, 404)}, set()),
    ("claim", "POST", lambda s, p: f"/api/v1/persons/{p}/claims",
     {"ground": "student", "evidence": "university letter 12", "reason": "I study"},
     {IN_REGION: expect(201, 403, 201, 201), OUT_OF_REGION: expect(201, 403, 404, 404),
      MISSING: expect(404, 403, 404, 404)}, set()),
    ("appeal", "POST", lambda s, p: f"/api/v1/persons/{p}/appeals",
     {"plan_id": 1, "reason": "I care for my mother"},
     {IN_REGION: expect(201, 403, 201, 201), OUT_OF_REGION: expect(201, 403, 404, 404),
      MISSING: expect(404, 403, 404, 404)}, set()),
    ("decide", "POST", lambda s, p: f"/api/v1/cases/{s.case(p)}/decision",
     {"outcome": "closed", "reason": "nothing to clarify"},
     {IN_REGION: expect(200, 403, 200, 403), OUT_OF_REGION: expect(200, 403, 404, 403),
      MISSING: expect(404, 403, 404, 403)}, set()),
    ("plans", "GET", lambda s, p: "/api/v1/plans", None,
     {"-": expect(200, 200, 200, 403)}, set(ROLES)),
    ("plan", "GET", lambda s, p: f"/api/v1/plans/{s.work.plan_id if p else NO_SUCH}", None,
     {"-": expect(200, 200, 200, 403), "": expect(404, 404, 404, 403)}, {"analyst"}),
    ("verify", "POST", lambda s, p: f"/api/v1/plans/{s.work.plan_id if p else NO_SUCH}/verify",
     None, {"-": expect(200, 200, 200, 403), "": expect(404, 404, 404, 403)}, set()),
    ("notices", "GET", lambda s, p: f"/api/v1/persons/{p}/notices", None,
     {IN_REGION: expect(200, 403, 200, 200), OUT_OF_REGION: expect(200, 403, 404, 404),
      MISSING: expect(404, 403, 404, 404)}, set()),
    ("pdf", "GET", lambda s, p: f"/api/v1/notices/{s.work.notices.get(p, NO_SUCH)}.pdf", None,
     {IN_REGION: expect(200, 403, 200, 200), OUT_OF_REGION: expect(200, 403, 404, 404),
      MISSING: expect(404, 403, 404, 404)}, set()),
    ("event", "POST", lambda s, p: f"/api/v1/notices/{s.issued(p)}/events",
     {"to": "sent", "reason": "posted today"},
     {IN_REGION: expect(200, 403, 200, 403), OUT_OF_REGION: expect(200, 403, 404, 403),
      MISSING: expect(404, 403, 404, 403)}, set()),
    ("review", "GET", lambda s, p: "/api/v1/review", None,
     {"-": expect(200, 403, 200, 403)}, set()),
]
CASES = [(name, method, path, body, person, statuses, quiet)
         for name, method, path, body, by_person, quiet in MATRIX
         for person, statuses in by_person.items()]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method", "path", "body", "person", "statuses", "quiet"),
                         CASES, ids=[f"{c[0]}-{c[4] or 'missing'}" for c in CASES])
def test_role_endpoint_matrix(served: Served, role: str, name: str, method: str,
                              path: Path_, body: Any, person: str,
                              statuses: dict[str, int], quiet: set[str]) -> None:
    url = path(served, person)
    if name in ("claim", "appeal"):  # each role asks anew: one open case per question
        with served.store.engine.begin() as conn:
            conn.execute(cases.update().where(cases.c.person_id == person,
                                              cases.c.status == "open").values(status="closed"))
    before = audit_count(served.store)
    about = person if person.startswith("P") else None
    before_about = audit_count(served.store, actor=role, person_id=about)
    response = served.call(method, url, role, json=body)
    assert response.status_code == statuses[role], response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == statuses[role]
        assert audit_count(served.store) == before  # refused: nothing read, nothing written
    elif role in quiet:
        assert audit_count(served.store) == before  # counts only: no person's data
    else:
        assert audit_count(served.store) > before
        if about is not None:  # the entry names the person the request was about
            assert audit_count(served.store, actor=role, person_id=about) > before_about


@pytest.mark.parametrize(("name", "method", "path", "body", "person"),
                         [c[:5] for c in CASES if c[4] in (IN_REGION, "-")],
                         ids=[c[0] for c in CASES if c[4] in (IN_REGION, "-")])
def test_anonymous_gets_401(served: Served, name: str, method: str, path: Path_, body: Any,
                            person: str) -> None:
    response = served.call(method, path(served, person), None, json=body)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_officer_queue_and_review_hold_own_regions_only(served: Served) -> None:
    served.case(IN_REGION)
    served.case(OUT_OF_REGION)
    admin = served.call("GET", "/api/v1/cases", "admin", kind="clarification",
                        limit="500").json()
    officer = served.call("GET", "/api/v1/cases", "officer", kind="clarification",
                          limit="500").json()
    assert {c["person_id"] for c in admin["cases"]} >= {IN_REGION, OUT_OF_REGION}
    assert {c["person_id"] for c in officer["cases"]} <= {IN_REGION, ALSO_IN_REGION}
    assert officer["total"] == len(officer["cases"]) < admin["total"]
    # pagination: a page of one, then the next one
    first = served.call("GET", "/api/v1/cases", "admin", limit="1").json()
    second = served.call("GET", "/api/v1/cases", "admin", limit="1", offset="1").json()
    assert first["total"] == second["total"] >= 2
    assert first["cases"][0]["id"] < second["cases"][0]["id"]
    assert served.call("GET", "/api/v1/cases", "admin", kind="bogus").status_code == 422
    # an officer sees the TVE pair only; its persons are on record as read
    before = audit_count(served.store, action="review.read", person_id=ALSO_IN_REGION)
    pairs = served.call("GET", "/api/v1/review", "officer").json()
    assert [(p["person_l"], p["person_r"]) for p in pairs["pairs"]] == [
        (IN_REGION, ALSO_IN_REGION)]
    assert audit_count(served.store, action="review.read",
                       person_id=ALSO_IN_REGION) == before + 1
    everything = served.call("GET", "/api/v1/review", "admin").json()
    assert everything["total"] == 2 and everything["pairs"][0]["match_weight"] == 7.0


def test_plan_shows_selection_by_scope_and_counts_to_analysts(served: Served) -> None:
    plan = f"/api/v1/plans/{served.work.plan_id}"
    admin = served.call("GET", plan, "admin").json()
    assert {s["person_id"] for s in admin["selection"]} == {IN_REGION, OUT_OF_REGION}
    assert {r["region"]: r["quota"] for r in admin["regions"]} == {"MOW": 1, "TVE": 1}
    assert sum(admin["notices"].values()) == 2
    officer = served.call("GET", plan, "officer").json()
    assert [s["person_id"] for s in officer["selection"]] == [IN_REGION]
    assert officer["selection_total"] == 1 and len(officer["regions"]) == 2
    analyst = served.call("GET", plan, "analyst")
    assert analyst.json()["selection"] is None and analyst.json()["selection_total"] == 2
    assert "P0000" not in analyst.text  # counts only: no person id anywhere
    check = served.call("POST", f"{plan}/verify", "analyst").json()
    assert check["ok"] is True and check["differences"] == []
    assert check["not_callable"] is None


def test_notice_pdf_is_the_issued_file(served: Served) -> None:
    notice_id = served.work.notices[IN_REGION]
    before = audit_count(served.store, action="notice.read", person_id=IN_REGION,
                         actor="citizen")
    response = served.call("GET", f"/api/v1/notices/{notice_id}.pdf", "citizen")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert audit_count(served.store, action="notice.read", person_id=IN_REGION,
                       actor="citizen") == before + 1
    with served.store.engine.connect() as conn:
        path = Path(conn.execute(sa.select(notices.c.file).where(
            notices.c.id == notice_id)).scalar_one())
    assert path.read_bytes() == response.content
    original = path.read_bytes()
    try:  # a changed file is refused, never served as if it were the notice sent
        path.write_bytes(original + b"%tampered")
        response = served.call("GET", f"/api/v1/notices/{notice_id}.pdf", "citizen")
        assert response.status_code == 409
        assert "changed" in response.json()["detail"]
    finally:
        path.write_bytes(original)


def test_notice_events_follow_the_life_cycle(served: Served) -> None:
    notice_id = served.issued(IN_REGION)
    url = f"/api/v1/notices/{notice_id}/events"
    assert served.call("POST", url, "officer", json={"to": "sent"}).status_code == 200
    refused = served.call("POST", url, "officer", json={"to": "delivered"})
    assert refused.status_code == 409 and "evidence" in refused.json()["detail"]
    done = served.call("POST", url, "officer", json={"to": "delivered",
                                                     "evidence": "receipt RR123"})
    assert done.status_code == 200 and done.json()["status"] == "delivered"
    assert done.json()["events"][-1]["evidence"] == "receipt RR123"
    assert done.json()["events"][-1]["actor"] == "officer"
    mine = served.call("GET", f"/api/v1/persons/{IN_REGION}/notices", "citizen").json()
    assert [n["status"] for n in mine["notices"]] == ["delivered"]


def test_case_errors_say_what_to_do(served: Served) -> None:
    case_id = served.case(IN_REGION)
    wrong = served.call("POST", f"/api/v1/cases/{case_id}/decision", "officer",
                        json={"outcome": "granted", "reason": "x"})
    assert wrong.status_code == 400 and "resolved or closed" in wrong.json()["detail"]
    ok = served.call("POST", f"/api/v1/cases/{case_id}/decision", "officer",
                     json={"outcome": "closed", "reason": "checked, nothing wrong"})
    assert ok.status_code == 200 and ok.json()["case"]["status"] == "closed"
    again = served.call("POST", f"/api/v1/cases/{case_id}/decision", "officer",
                        json={"outcome": "closed", "reason": "again"})
    assert again.status_code == 409 and again.json()["hint"]
    claim = served.call("POST", f"/api/v1/persons/{IN_REGION}/claims", "citizen",
                        json={"ground": "astrology", "evidence": "x", "reason": "y"})
    assert claim.status_code == 400 and "student" in claim.json()["hint"]
    not_selected = served.call("POST", f"/api/v1/persons/{ALSO_IN_REGION}/appeals", "officer",
                               json={"plan_id": served.work.plan_id, "reason": "y"})
    assert not_selected.status_code == 404
    correction = served.call("POST", f"/api/v1/persons/{IN_REGION}/corrections", "citizen",
                             json={"values": {"shoe_size": "44"}, "reason": "y"})
    assert correction.status_code == 400 and "shoe_size" in correction.json()["detail"]
    verified = served.call("POST", f"/api/v1/cases/{served.case(IN_REGION, 'appeal')}/verified",
                           "officer", json={"values": {"sex": "M"}, "reason": "y"})
    assert verified.status_code == 409 and "decision" in verified.json()["hint"]


def test_person_record_lists_cases_and_notices(served: Served) -> None:
    case_id = served.case(IN_REGION)
    body = served.call("GET", f"/api/v1/persons/{IN_REGION}", "citizen").json()
    assert body["cases"][0]["id"] == case_id  # newest first
    assert body["cases"][0]["status"] == "open"
    assert body["cases"][0]["reason"] == "set up by the test"
    assert [n["id"] for n in body["notices"]] == [served.work.notices[IN_REGION]]
    assert verify(served.store).ok


Side = tuple[str, str, str, str]  # source, record id, and its person and their region


def _pair(store: Store, left: Side, right: Side) -> int:
    """A new open review pair between two records (with each record's person and their
    region, as resolution keeps them on the pair); returns its id."""
    with store.engine.begin() as conn:
        return int(conn.execute(review_pairs.insert().values(
            run_id=1, kind="uncertain", match_weight=21.0, detail="test pair", status="open",
            **{f"{column}_{side}": value for side, record in (("l", left), ("r", right))
               for column, value in zip(("source", "record_id", "person", "region"), record,
                                        strict=True)})).inserted_primary_key[0])


def test_review_decisions_by_scope_are_kept_and_audited(served: Served) -> None:
    with served.store.engine.begin() as conn:  # a second record of ALSO_IN_REGION (TVE)
        conn.execute(source_records.insert().values(
            source="voters", record_id="V2", batch_id=2, first_batch_id=2, line=3,
            row_hash="2" * 32, raw="{}", flags=0, family_name="Иванов", given_name="Олег",
            region="TVE"))
        conn.execute(person_records.insert().values(
            source="voters", record_id="V2", person_id=ALSO_IN_REGION, run_id=1))
    r0: Side = ("passports", "R0", IN_REGION, "TVE")
    within = _pair(served.store, r0, ("voters", "V2", ALSO_IN_REGION, "TVE"))
    across = _pair(served.store, r0, ("voters", "V1", OUT_OF_REGION, "MOW"))
    body = {"decision": "different", "reason": "brothers: birth certificates seen"}
    url = f"/api/v1/review/{within}/decision"
    for role, status in (("analyst", 403), ("citizen", 403)):
        assert served.call("POST", url, role, json=body).status_code == status
    assert served.call("POST", f"/api/v1/review/{across}/decision", "officer",
                       json=body).status_code == 403  # reaches into MOW: an administrator's
    assert served.call("POST", url, "officer", json={**body, "decision": "maybe"}
                       ).status_code == 422
    before = audit_count(served.store, action="review.decide")
    answer = served.call("POST", url, "officer", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["decision"] == "different"
    assert answer.json()["record_l"] == "passports:R0" and answer.json()["actor"] == "officer"
    assert audit_count(served.store, action="review.decide") == before + 2  # both persons
    assert audit_count(served.store, action="review.decide", person_id=ALSO_IN_REGION) >= 1
    assert served.call("POST", url, "officer", json=body).status_code == 404  # answered
    with served.store.engine.connect() as conn:
        kept = conn.execute(sa.select(review_decisions)).mappings().all()
    assert [(k["decision"], k["actor"], k["applied_run"]) for k in kept] == [
        ("different", "officer", None)]  # applied by the next resolution run
    assert served.call("POST", f"/api/v1/review/{across}/decision", "admin",
                       json={**body, "decision": "same"}).status_code == 200


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_pairs_holding_a_call_up_decision_come_first(backend: str, tmp_path: Path) -> None:
    """Nobody with a record in review is called up: the pairs that hold someone back in
    the newest evaluation are the ones to answer first, whatever their weight."""
    with register_backend(backend, tmp_path) as (workspace, store, url):
        profile = workspace.profile()
        tokens = build_register(store, profile).tokens
        add_work(store, profile, tmp_path / "notices")
        with store.engine.begin() as conn:  # OUT_OF_REGION's pair, out of review for now
            strong = dict(conn.execute(sa.select(review_pairs).where(
                review_pairs.c.record_id_r == "V1")).mappings().one())
            conn.execute(review_pairs.delete().where(review_pairs.c.id == strong["id"]))
        evaluate(store, profile, AS_OF)  # holds IN_REGION: passports:R0 is in review
        with store.engine.begin() as conn:  # the pair is back, after the evaluation
            conn.execute(review_pairs.insert().values(
                {k: v for k, v in strong.items() if k != "id"}))
        with TestClient(create_app(workspace, "test-secret", database_url=url)) as client:
            def review(role: str, **params: str) -> Any:
                return client.get("/api/v1/review", params=params, headers={
                    "Authorization": f"Bearer {tokens[role]}"}).json()

            pairs = review("admin")["pairs"]
            # An officer's page and count hold their regions' pairs only; past the last
            # page the count stays.
            officer = review("officer")
            assert [p["record_id_l"] for p in officer["pairs"]] == ["R0"]
            assert officer["total"] == 1
            assert review("admin", offset="5") == {"pairs": [], "total": 2, "limit": 50,
                                                   "offset": 5}
            assert review("officer", kind="ambiguous")["total"] == 0
            login = client.get("/login").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', login)
            assert csrf is not None
            client.post("/login", data={"username": "admin", "password": PASSWORD,
                                        "csrf": csrf.group(1)})
            rows = client.get("/queues").text.split("<tr>")
    badge = '<br><span class="badge">holds a call-up decision</span>'
    assert [badge in row for row in rows if "passports:R0" in row or "voters:V1" in row] == [
        True, False]
    assert [(p["record_id_l"], p["match_weight"], p["holds_decision"]) for p in pairs] == [
        ("R0", 3.5, True), ("R1", 7.0, False)]
    assert pairs[0]["person_l"] == IN_REGION
