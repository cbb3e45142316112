"""Casework through the REST API on a real register (synthetic extracts ingested,
resolved, evaluated, a plan drawn and its notices issued), SQLite and PostgreSQL:
a citizen's claim decided by an officer changes the citizen's eligibility at once;
officer-verified values win with the registration office as their source; a granted
appeal withdraws the notice."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from conftest import _postgres_database
from muster.service import create_app
from muster.service.accounts import add_account, create_token
from muster.store import Store
from muster.store.schema import callup_selection, eligibility_results, golden_records, notices
from web_register import muster_ok, synthetic_register

AS_OF = "2024-06-01"
PASSWORD = "correct horse battery"


@dataclass
class Register:
    client: TestClient
    store: Store
    tokens: dict[str, str]
    appellant: str  # selected in plan 1, holds a notice
    claimant: str  # an eligible reservist, not selected
    clarified: str  # awaiting a fitness examination

    def call(self, method: str, path: str, role: str, json: Any = None, **params: str) -> Any:
        return self.client.request(method, path, params=params, json=json,
                                   headers={"Authorization": f"Bearer {self.tokens[role]}"})


def _with_status(store: Store, *grounds: str) -> list[tuple[str, str]]:
    """(region, person) of the persons whose status rests on one of ``grounds``, with a
    region and no conflicting sources."""
    g, e = golden_records.c, eligibility_results.c
    with store.engine.connect() as conn:
        return [(str(r), str(p)) for r, p in conn.execute(
            sa.select(g.region, e.person_id).join(golden_records, g.person_id == e.person_id)
            .where(e.ground.in_(grounds), g.region.is_not(None), g.conflicts == 0)
            .order_by(e.person_id))]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def reg(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Register]:
    root: Path = tmp_path_factory.mktemp("casework")
    urls: Iterator[str] = (iter([f"sqlite:///{root / 'ws' / 'muster.db'}"])
                           if request.param == "sqlite" else _postgres_database())
    url = next(urls)
    try:
        with pytest.MonkeyPatch.context() as env:
            # Reservists in two regions, whose records are not in review.
            workspace, store = synthetic_register(root, url, env, AS_OF, persons=1500)
            # A small synthetic population has few men of conscription age: the plan
            # calls up reservists.
            reserve = _with_status(store, "reserve")
            (region, _), (_, claimant) = next((a, b) for a in reserve for b in reserve
                                              if a[0] != b[0])
            [(_, clarified), *_] = _with_status(store, "fitness_outdated", "fitness_unknown")
            quotas = root / "quotas.csv"
            quotas.write_text(f"region,quota\n{region},1\n", encoding="utf-8")
            muster_ok(workspace.root, "callup", "plan", "--as-of", AS_OF, "--quotas", quotas,
                      "--seed", "00c0ffee", "--category", "reserve")
            muster_ok(workspace.root, "notices", "issue", "1", "--out", root / "notices")
            with store.engine.connect() as conn:
                appellant = str(conn.execute(sa.select(callup_selection.c.person_id)
                                             ).scalar_one())
            with store.engine.connect() as conn:
                regions = sorted({str(r) for r in conn.execute(
                    sa.select(golden_records.c.region).where(golden_records.c.person_id.in_(
                        [appellant, claimant, clarified]))).scalars()})
            add_account(store, "admin", PASSWORD, "administrator")
            add_account(store, "officer", PASSWORD, "officer", regions=regions,
                        known_regions=workspace.profile().regions.codes)
            add_account(store, "appellant", PASSWORD, "citizen", person_id=appellant)
            add_account(store, "claimant", PASSWORD, "citizen", person_id=claimant)
            tokens = {n: create_token(store, n, "tests")
                      for n in ("admin", "officer", "appellant", "claimant")}
            with TestClient(create_app(workspace, "test-secret", database_url=url)) as client:
                yield Register(client, store, tokens, appellant, claimant, clarified)
            store.close()
    finally:
        for _ in urls:  # drops the PostgreSQL database
            pass


def _chosen(person: dict[str, Any], field: str) -> dict[str, Any]:
    [value] = [v for v in person["provenance"] if v["field"] == field and v["chosen"]]
    return value


def test_claim_filed_by_citizen_decided_by_officer_defers_at_once(reg: Register) -> None:
    person = f"/api/v1/persons/{reg.claimant}"
    before = reg.call("GET", person, "claimant").json()
    assert before["eligibility"][0]["status"] == "eligible_reserve"
    filed = reg.call("POST", f"{person}/claims", "claimant", json={
        "ground": "student", "evidence": "university certificate 2024/118",
        "reason": "I study full time until 2027"})
    assert filed.status_code == 201, filed.text
    case = filed.json()
    assert (case["kind"], case["status"], case["opened_by"]) == (
        "deferment_claim", "open", "claimant")
    queue = reg.call("GET", "/api/v1/cases", "officer", kind="deferment_claim").json()
    assert case["id"] in [c["id"] for c in queue["cases"]]

    decided = reg.call("POST", f"/api/v1/cases/{case['id']}/decision", "officer", json={
        "outcome": "granted", "reason": "certificate checked",
        "values": {"student_until": "2027-06-30"}})
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["case"]["status"] == "granted" and body["case"]["decided_by"] == "officer"
    assert body["record"] == f"registration_office:case-{case['id']}-1"
    assert (AS_OF, reg.claimant, "deferred", "student") in {
        (e["as_of"], e["person_id"], e["status"], e["ground"]) for e in body["eligibility"]}

    after = reg.call("GET", person, "claimant").json()
    assert after["eligibility"][0]["status"] == "deferred"
    assert after["eligibility"][0]["ground"] == "student"
    assert after["golden"]["student_until"] == "2027-06-30"
    assert _chosen(after, "student_until")["source"] == "registration_office"
    assert after["cases"][0]["id"] == case["id"] and after["cases"][0]["status"] == "granted"
    assert any("granted: certificate checked" in h["detail"] for h in after["history"])
    # the citizen sees who decided about them, and why
    entries = reg.call("GET", "/api/v1/audit", "claimant").json()["entries"]
    assert any(e["actor"] == "officer" and e["action"] == "case.decide"
               and e["purpose"] == "claim" for e in entries)
    # a decided case stays decided
    again = reg.call("POST", f"/api/v1/cases/{case['id']}/decision", "officer",
                     json={"outcome": "refused", "reason": "changed my mind"})
    assert again.status_code == 409


def test_officer_verified_values_win_with_registration_office_provenance(
        reg: Register) -> None:
    person = f"/api/v1/persons/{reg.clarified}"
    opened = reg.call("POST", f"{person}/clarifications", "officer",
                      json={"reason": "fitness examination is due"})
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    verified = reg.call("POST", f"/api/v1/cases/{case_id}/verified", "officer", json={
        "values": {"fitness_category": "B", "fitness_date": "2024-04-02"},
        "reason": "examined by the medical board"})
    assert verified.status_code == 200, verified.text
    assert verified.json()["case"]["status"] == "resolved"
    assert verified.json()["resolve_run"] is not None
    record = f"case-{case_id}-1"
    assert verified.json()["record"] == f"registration_office:{record}"
    body = reg.call("GET", person, "admin").json()
    assert body["golden"]["fitness_category"] == "B"
    chosen = _chosen(body, "fitness_category")
    assert (chosen["source"], chosen["record_id"]) == ("registration_office", record)
    assert ("registration_office", record) in {(r["source"], r["record_id"])
                                               for r in body["records"]}


def test_granted_appeal_withdraws_the_notice(reg: Register) -> None:
    mine = reg.call("GET", f"/api/v1/persons/{reg.appellant}/notices", "appellant").json()
    [notice] = mine["notices"]
    events = f"/api/v1/notices/{notice['id']}/events"
    assert reg.call("POST", events, "officer", json={"to": "sent"}).status_code == 200
    assert reg.call("POST", events, "officer", json={
        "to": "delivered", "evidence": "registered mail RR123456789"}).status_code == 200
    pdf = reg.call("GET", f"/api/v1/notices/{notice['id']}.pdf", "appellant")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    lodged = reg.call("POST", f"/api/v1/persons/{reg.appellant}/appeals", "appellant",
                      json={"plan_id": notice["plan_id"], "reason": "I care for my mother"})
    assert lodged.status_code == 201, lodged.text
    with reg.store.engine.connect() as conn:
        status = conn.execute(sa.select(notices.c.status).where(
            notices.c.id == notice["id"])).scalar_one()
    assert status == "appealed"
    decided = reg.call("POST", f"/api/v1/cases/{lodged.json()['id']}/decision", "officer",
                       json={"outcome": "granted", "reason": "care duty proven"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["notices"] == [{"notice_id": notice["id"],
                                          "from_status": "appealed",
                                          "to_status": "withdrawn"}]
    after = reg.call("GET", f"/api/v1/persons/{reg.appellant}/notices", "appellant").json()
    [withdrawn] = after["notices"]
    assert withdrawn["status"] == "withdrawn"
    assert [e["to_status"] for e in withdrawn["events"]] == [
        "issued", "sent", "delivered", "appealed", "withdrawn"]
    assert "care duty proven" in withdrawn["events"][-1]["reason"]
