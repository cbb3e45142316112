"""The service makes the other-file hold workable: an officer sees the files that may be
a held person's (never a citizen: such a file may be another human's) and answers, in
the API or on the person page; the answer is an officer's decision on a record of each
file, audited for both persons, and once a resolution has applied "different" the
person is decided again without the hold. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from eligibility_data import man, write_register
from muster.eligibility.evaluate import evaluate
from muster.service import create_app
from muster.service.accounts import add_account, create_token
from muster.store import Store
from muster.store.schema import person_records, persons, review_decisions, source_records
from service_data import AS_OF, PASSWORD, audit_count, register_backend
from test_service_web import log_in, token_of

HELD = "P000000001"  # TVE; his education record sits in OTHER, names swapped and misspelt
OTHER = "P000000002"  # TVE, a student
HELD_TOO = "P000000003"  # TVE; his other file is in MOW
OTHER_MOW = "P000000004"
STUDENT = {"student_until": date(2025, 6, 30)}


def _people() -> list[dict[str, Any]]:
    ivanov = {"family_key": "ivanov", "given_key": "ivan", "middle_key": "petrovich"}
    sidorov = {"family_key": "sidorov", "given_key": "oleg", "middle_key": None,
               "birth_date": date(2001, 2, 3)}
    return [man(HELD, **ivanov),
            man(OTHER, **{**ivanov, "family_key": "ivn", "given_key": "ivanov"}, **STUDENT),
            man(HELD_TOO, **sidorov),
            man(OTHER_MOW, **sidorov, region="MOW", **STUDENT)]


@dataclass
class Served:
    client: TestClient
    store: Store
    tokens: dict[str, str]

    def call(self, method: str, path: str, role: str, **kwargs: Any) -> Any:
        return self.client.request(method, path, headers={
            "Authorization": f"Bearer {self.tokens[role]}"}, **kwargs)

    def evaluate(self, profile: Any) -> None:
        evaluate(self.store, profile, AS_OF)


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Served, Any]]:
    with register_backend(request.param, tmp_path) as (workspace, store, url):
        people = _people()
        write_register(store, people)
        with store.engine.begin() as conn:
            conn.execute(persons.insert(), [{"person_id": p["person_id"], "status": "active",
                                             "created_run": 1} for p in people])
            conn.execute(source_records.insert(), [
                {"source": "passports", "record_id": f"R{i}", "batch_id": 1,
                 "first_batch_id": 1, "line": i + 1, "row_hash": "0" * 32,
                 "raw": json.dumps({}), "flags": 0} for i in range(len(people))])
            conn.execute(person_records.insert(), [
                {"source": "passports", "record_id": f"R{i}", "person_id": p["person_id"],
                 "run_id": 1} for i, p in enumerate(people)])
        profile = workspace.profile()
        evaluate(store, profile, AS_OF)
        add_account(store, "admin", PASSWORD, "administrator")
        add_account(store, "analyst", PASSWORD, "analyst")
        add_account(store, "officer", PASSWORD, "officer", regions=["TVE"],
                    known_regions=profile.regions.codes)
        add_account(store, "citizen", PASSWORD, "citizen", person_id=HELD)
        tokens = {n: create_token(store, n, "tests")
                  for n in ("admin", "analyst", "officer", "citizen")}
        app = create_app(workspace, "test-secret", database_url=url)
        with TestClient(app, follow_redirects=False) as client:
            yield Served(client, store, tokens), profile


def _person(s: Served, role: str, person_id: str = HELD) -> Any:
    response = s.call("GET", f"/api/v1/persons/{person_id}", role,
                      params={"purpose": "casework"} if role != "citizen" else {})
    assert response.status_code == 200, response.text
    return response.json()


def _answer(s: Served, role: str, person_id: str, other_id: str, decision: str) -> Any:
    return s.call("POST", f"/api/v1/persons/{person_id}/other-files/{other_id}/decision",
                  role, json={"decision": decision, "reason": "school records checked"})


def test_officers_see_the_files_that_hold_a_person_and_citizens_do_not(
        served: tuple[Served, Any]) -> None:
    s, _ = served
    held = _person(s, "officer")
    assert held["eligibility"][0]["ground"] == "possible_other_file"
    assert held["other_files"] == [OTHER]
    assert _person(s, "admin")["other_files"] == [OTHER]
    assert _person(s, "citizen")["other_files"] == []
    assert _person(s, "officer", OTHER)["other_files"] == []  # OTHER is not held
    log_in(s.client, "officer")
    page = s.client.get(f"/persons/{HELD}", params={"purpose": "casework"}).text
    assert "Other files that may be this person" in page
    assert f'action="/persons/{HELD}/other-files/{OTHER}/decide"' in page
    s.client.cookies.clear()
    log_in(s.client, "citizen")
    portal = s.client.get("/portal").text
    assert "possible_other_file" in portal and OTHER not in portal


def test_who_may_answer_and_what_the_answer_records(served: tuple[Served, Any]) -> None:
    s, profile = served
    assert _answer(s, "analyst", HELD, OTHER, "different").status_code == 403
    assert _answer(s, "citizen", HELD, OTHER, "different").status_code == 403
    # Not a file that holds him (OTHER holds HELD, not the other way round).
    assert _answer(s, "officer", OTHER, HELD, "different").status_code == 404
    assert _answer(s, "officer", HELD, HELD_TOO, "different").status_code == 404
    # The other file in a region not the officer's: for an administrator.
    assert _answer(s, "officer", HELD_TOO, OTHER_MOW, "different").status_code == 403
    assert _answer(s, "admin", HELD_TOO, OTHER_MOW, "different").status_code == 200
    with s.store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(review_decisions)
                            ).scalar() == 1

    before = audit_count(s.store, action="review.decide")
    answered = _answer(s, "officer", HELD, OTHER, "different")
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert (body["decision"], body["record_l"], body["record_r"]) == (
        "different", "passports:R0", "passports:R1")
    assert audit_count(s.store, action="review.decide") == before + 2
    assert audit_count(s.store, action="review.decide", person_id=OTHER) == 1
    # Pending until a resolution applies it: held for the decision in review meanwhile.
    s.evaluate(profile)
    assert _person(s, "officer")["eligibility"][0]["ground"] == "identity_in_review"
    with s.store.engine.begin() as conn:
        conn.execute(review_decisions.update().values(applied_run=1))
    s.evaluate(profile)
    freed = _person(s, "officer")
    assert freed["eligibility"][0]["status"] == "eligible_conscript"
    assert freed["other_files"] == []


def test_the_person_page_form_answers_with_a_reason(served: tuple[Served, Any]) -> None:
    s, _ = served
    log_in(s.client, "officer")
    page = s.client.get(f"/persons/{HELD}", params={"purpose": "casework"}).text
    url = f"/persons/{HELD}/other-files/{OTHER}/decide"
    missing = s.client.post(url, data={"decision": "same", "csrf": token_of(page)})
    assert missing.status_code == 400
    done = s.client.post(url, data={"decision": "same", "reason": "same school card",
                                    "csrf": token_of(page)})
    assert done.status_code == 303
    with s.store.engine.connect() as conn:
        assert conn.execute(sa.select(review_decisions.c.decision)).scalars().all() == ["same"]
