"""The web pages: login and logout, CSRF refusal, who may open which page (a role ×
page matrix), the audit entry of every page that shows a person, typed page contexts
that cannot carry personal data to a role that may not see it, and the casework
forms end to end. One register per backend for the whole module."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import BaseModel

from conftest import _postgres_database
from muster.casework.cases import open_case
from muster.service import create_app
from muster.service.audit_verify import verify
from muster.service.auth import LoginThrottle
from muster.service.web import contexts
from muster.store import Store
from muster.store.schema import (
    audit_log,
    cases,
    golden_records,
    link_edges,
    person_records,
    review_decisions,
    review_pairs,
)
from service_data import (
    ALSO_IN_REGION,
    IN_REGION,
    MISSING,
    OUT_OF_REGION,
    PASSWORD,
    Clock,
    audit_count,
    build_register,
    register_backend,
)
from web_register import RealRegister, build_real_register

ROLES = ("admin", "analyst", "officer", "citizen")
# Names in service_data: every person is an Иванов; the given names tell them apart.
GIVEN = {IN_REGION: "Иван", OUT_OF_REGION: "Пётр", ALSO_IN_REGION: "Олег"}
PERSONAL_FIELDS = {"family_name", "given_name", "middle_name", "birth_date", "birth_place",
                   "national_id", "tax_id", "passport_no", "address", "phone", "email",
                   "person_id", "person_left", "person_right", "record", "golden", "records",
                   "fields", "accesses", "selection", "not_callable", "results"}


@dataclass
class Served:
    store: Store
    clock: Clock
    app: Any


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("web")
    with register_backend(request.param, root) as (workspace, store, url):
        build_register(store, workspace.profile())
        clock = Clock()
        app = create_app(workspace, "test-secret", database_url=url,
                         throttle=LoginThrottle(clock=clock))
        with TestClient(app):  # runs the lifespan once for the module
            yield Served(store, clock, app)


@pytest.fixture
def browser(served: Served) -> Iterator[TestClient]:
    """A browser of its own (its own cookies), not following redirects."""
    client = TestClient(served.app, follow_redirects=False)
    yield client
    client.close()


def token_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has no form token"
    return match.group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    form = client.get("/login")
    return client.post("/login", data={"username": username, "password": password,
                                        "csrf": token_of(form.text)})




# --- Logging in and out ---------------------------------------------------------------------

def test_login_form_is_labelled_and_sends_each_role_home(browser: TestClient) -> None:
    form = browser.get("/login").text
    assert '<label for="username">Username</label>' in form
    assert '<label for="password">Password</label>' in form
    assert '<button type="submit">Log in</button>' in form
    for username, home in (("officer", "/"), ("admin", "/"), ("analyst", "/"),
                           ("citizen", "/portal")):
        browser.cookies.clear()
        response = log_in(browser, username)
        assert response.status_code == 303, response.text
        assert response.headers["location"] == home
        cookie = response.headers["set-cookie"].lower()
        assert "muster_session=" in cookie and "httponly" in cookie
        assert "samesite=strict" in cookie
        assert browser.get(home).status_code == 200


def test_logout_ends_the_session(browser: TestClient) -> None:
    log_in(browser, "officer")
    page = browser.get("/")
    assert 'action="/logout"' in page.text and ">Log out</button>" in page.text
    response = browser.post("/logout", data={"csrf": token_of(page.text)})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert browser.get("/").headers["location"] == "/login?next=/"


def test_not_logged_in_goes_to_the_login_form_and_back(browser: TestClient) -> None:
    response = browser.get("/queues")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/queues"
    form = browser.get(response.headers["location"]).text
    assert 'name="next" value="/queues"' in form
    response = browser.post("/login", data={"username": "officer", "password": PASSWORD,
                                            "next": "/queues", "csrf": token_of(form)})
    assert response.headers["location"] == "/queues"
    # never forwarded off the site
    browser.cookies.clear()
    form = browser.get("/login").text
    response = browser.post("/login", data={"username": "officer", "password": PASSWORD,
                                            "next": "//evil.example/", "csrf": token_of(form)})
    assert response.headers["location"] == "/"


def test_wrong_password_and_throttling(served: Served, browser: TestClient) -> None:
    response = log_in(browser, "analyst", "not the password")
    assert response.status_code == 401
    assert "Wrong username or password." in response.text
    assert "muster_session" not in browser.cookies
    for _ in range(4):
        log_in(browser, "analyst", "not the password")
    response = log_in(browser, "analyst")  # the right password waits too
    assert response.status_code == 429 and "Too many failed logins" in response.text
    assert 1 <= int(response.headers["retry-after"]) <= 61
    served.clock.now += 61
    assert log_in(browser, "analyst").status_code == 303


# --- CSRF ---------------------------------------------------------------------------------

def test_forms_without_the_right_token_are_refused(served: Served,
                                                   browser: TestClient) -> None:
    form = browser.get("/login").text
    for token in (None, "forged", token_of(form)[:-3] + "abc"):
        data = {"username": "officer", "password": PASSWORD}
        if token is not None:
            data["csrf"] = token
        response = browser.post("/login", data=data)
        assert response.status_code == 403
        assert "security token is missing or wrong" in response.text
        assert "muster_session" not in browser.cookies
    log_in(browser, "officer")
    page = browser.get(f"/persons/{IN_REGION}", params={"purpose": "casework"}).text
    with served.store.engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(cases)).scalar()
    # a token of another session (an attacker's own account) is no token for this one
    other = TestClient(served.app, follow_redirects=False)
    log_in(other, "admin")
    foreign = token_of(other.get("/").text)
    for data in ({"reason": "forged"}, {"reason": "forged", "csrf": foreign}):
        response = browser.post(f"/persons/{IN_REGION}/clarification", data=data)
        assert response.status_code == 403
    with served.store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(cases)).scalar() == before
    assert browser.post("/logout", data={}).status_code == 403
    assert browser.get("/").status_code == 200  # still logged in
    assert browser.post("/logout", data={"csrf": token_of(page)}).status_code == 303


def test_api_writes_by_cookie_must_be_json_or_carry_the_token(browser: TestClient) -> None:
    log_in(browser, "officer")
    refused = browser.post("/api/v1/logout")
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert "X-CSRF-Token" in refused.json()["detail"]
    assert browser.post("/api/v1/logout", content=b"x",
                        headers={"content-type": "text/plain"}).status_code == 403
    token = token_of(browser.get("/").text)
    assert browser.post("/api/v1/logout", headers={"X-CSRF-Token": token}).status_code == 204
    log_in(browser, "officer")
    assert browser.post("/api/v1/logout", json={}).status_code == 204
    # a cross-site form cannot log anyone in through the API either
    browser.cookies.clear()
    assert browser.post("/api/v1/login", content=b'{"username":"officer","password":"x"}',
                        headers={"content-type": "text/plain"}).status_code == 403


# --- Who may open which page ----------------------------------------------------------------

PERSON = "/persons/{}?purpose=casework"
PAGES: list[tuple[str, str | None, dict[str, int]]] = [
    # path, the person it shows, role -> status (303: sent to the role's own page)
    ("/", None, {"admin": 200, "analyst": 200, "officer": 200, "citizen": 303}),
    ("/persons?name=Иванов", "search", {"admin": 200, "analyst": 403, "officer": 200,
                                        "citizen": 403}),
    (PERSON.format(IN_REGION), IN_REGION,
     {"admin": 200, "analyst": 403, "officer": 200, "citizen": 303}),
    (PERSON.format(OUT_OF_REGION), OUT_OF_REGION,
     {"admin": 200, "analyst": 403, "officer": 404, "citizen": 404}),
    (PERSON.format(MISSING), MISSING,
     {"admin": 404, "analyst": 403, "officer": 404, "citizen": 404}),
    (f"/persons/{OUT_OF_REGION}", OUT_OF_REGION,  # officer without a purpose: still 404
     {"admin": 200, "analyst": 403, "officer": 404, "citizen": 404}),
    ("/queues", "queue", {"admin": 200, "analyst": 403, "officer": 200, "citizen": 403}),
    ("/plans", None, {"admin": 200, "analyst": 200, "officer": 200, "citizen": 403}),
    ("/portal", IN_REGION, {"admin": 403, "analyst": 403, "officer": 403, "citizen": 200}),
]


@pytest.fixture(scope="module")
def sessions(served: Served) -> Iterator[dict[str, TestClient]]:
    clients = {}
    for role in ROLES:
        clients[role] = TestClient(served.app, follow_redirects=False)
        assert log_in(clients[role], role).status_code == 303
    yield clients
    for client in clients.values():
        client.close()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("path", "about", "expected"), PAGES, ids=[p[0] for p in PAGES])
def test_role_page_matrix(served: Served, sessions: dict[str, TestClient], role: str,
                          path: str, about: str | None, expected: dict[str, int]) -> None:
    before = audit_count(served.store)
    response = sessions[role].get(path)
    assert response.status_code == expected[role], response.text
    if response.status_code == 200:
        assert response.headers["content-type"].startswith("text/html")
        assert '<a class="skip" href="#main">' in response.text
        if about in (IN_REGION, OUT_OF_REGION, "search"):
            assert audit_count(served.store) > before  # a page with a person is audited
        elif about is None:
            assert audit_count(served.store) == before  # counts are no person's data
    else:
        assert audit_count(served.store) == before  # refused: nothing read, nothing written
    if response.status_code in (403, 404):
        assert response.headers["content-type"].startswith("text/html")
        assert f"{response.status_code} " in response.text


def test_officer_chooses_a_purpose_before_anything_is_read(served: Served,
                                                           sessions: dict[str, TestClient]
                                                           ) -> None:
    officer = sessions["officer"]
    results = officer.get("/persons", params={"name": "Иванов"}).text
    assert '<label for="purpose-P000000001">Purpose</label>' in results
    assert ">Open</button>" in results
    before = audit_count(served.store, person_id=IN_REGION, action="person.read")
    chooser = officer.get(f"/persons/{IN_REGION}")
    assert chooser.status_code == 200 and GIVEN[IN_REGION] not in chooser.text
    assert '<label for="purpose">Purpose</label>' in chooser.text
    assert audit_count(served.store, person_id=IN_REGION, action="person.read") == before
    assert officer.get(f"/persons/{IN_REGION}", params={"purpose": "curiosity"}
                       ).status_code == 400
    opened = officer.get(f"/persons/{IN_REGION}", params={"purpose": "correction"})
    assert opened.status_code == 200 and GIVEN[IN_REGION] in opened.text
    with served.store.engine.connect() as conn:
        last = conn.execute(sa.select(audit_log).where(audit_log.c.action == "person.read")
                            .order_by(audit_log.c.seq.desc())).first()
    assert last is not None
    assert (last.actor, last.person_id, last.purpose) == ("officer", IN_REGION, "correction")


def test_search_writes_one_entry_per_person_shown(served: Served,
                                                  sessions: dict[str, TestClient]) -> None:
    before = {p: audit_count(served.store, person_id=p, action="person.search")
              for p in GIVEN}
    page = sessions["officer"].get("/persons", params={"name": "Иванов"}).text
    assert GIVEN[IN_REGION] in page and GIVEN[ALSO_IN_REGION] in page
    after = {p: audit_count(served.store, person_id=p, action="person.search") for p in GIVEN}
    assert after == {IN_REGION: before[IN_REGION] + 1, OUT_OF_REGION: before[OUT_OF_REGION],
                     ALSO_IN_REGION: before[ALSO_IN_REGION] + 1}



def test_a_search_that_cannot_be_made_shows_the_form_again_with_what_to_change(
        served: Served, sessions: dict[str, TestClient]) -> None:
    # Was a bare error page, without the form or the words typed (and the live search,
    # which does not swap in an error, kept showing the previous results).
    def entries() -> int:
        with served.store.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar())

    before = entries()
    for params, says in (({"birth_date": "10.03.1999"}, "is not a date written YYYY-MM-DD"),
                         ({"name": "%"}, "has no letters to look for")):
        page = sessions["officer"].get("/persons", params=params)
        assert page.status_code == 422 and 'role="alert"' in page.text and says in page.text
        assert f'value="{next(iter(params.values()))}"' in page.text
        assert '<form method="get" action="/persons"' in page.text
    assert entries() == before


# --- Typed page contexts: no personal field where the role may not see it --------------------

def _fields(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    """Every field name of the model and of the models nested in it, however deep."""
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    names = set()
    for name, info in model.model_fields.items():
        names.add(name)
        stack = [info.annotation]
        while stack:
            t = stack.pop()
            if isinstance(t, type) and issubclass(t, BaseModel):
                names |= _fields(t, seen)
            stack.extend(typing.get_args(t))
    return names


def test_counts_only_pages_have_no_field_that_could_hold_a_person() -> None:
    for model in (contexts.AnalystDashboard, contexts.StaffDashboard, contexts.PlansPage,
                  contexts.LoginPage, contexts.ErrorPage, contexts.Layout):
        assert not _fields(model) & PERSONAL_FIELDS, model.__name__
        for info in model.model_fields.values():  # nor a free-form mapping that could
            assert "Any" not in str(info.annotation), model.__name__
    # the same walk does find personal fields where they belong
    assert {"family_name", "person_id"} <= _fields(contexts.SearchPage)
    assert {"golden", "records", "accesses"} <= _fields(contexts.Portal)


def test_pages_show_no_one_outside_the_roles_scope(served: Served,
                                                   sessions: dict[str, TestClient]) -> None:
    # an open case of a person the officer may not see, to be kept out of their queues
    open_case(served.store, OUT_OF_REGION, "clarification", "address unclear", {}, "admin")
    out_of_scope = {
        "analyst": ["Иванов", "P0000000"],
        "officer": [GIVEN[OUT_OF_REGION], OUT_OF_REGION],
        "citizen": [GIVEN[OUT_OF_REGION], OUT_OF_REGION, GIVEN[ALSO_IN_REGION],
                    ALSO_IN_REGION],
    }
    shown = 0
    for role, absent in out_of_scope.items():
        for path, _, expected in PAGES:
            if expected[role] != 200:
                continue
            html = sessions[role].get(path).text
            shown += 1
            for text in absent:
                assert text not in html, f"{text} on {path} for {role}"
    assert shown == 8  # analyst 2, officer 5, citizen 1
    admin_queue = sessions["admin"].get("/queues").text
    assert OUT_OF_REGION in admin_queue  # the case is there, for those who may see it


# --- The casework forms, end to end --------------------------------------------------------

def test_officer_requests_and_closes_a_clarification_through_the_forms(
        served: Served, sessions: dict[str, TestClient]) -> None:
    officer = sessions["officer"]
    url = f"/persons/{ALSO_IN_REGION}?purpose=clarification"
    page = officer.get(url).text
    assert "Conflicting values" in page and "1999-03-11" in page  # side by side
    response = officer.post(f"/persons/{ALSO_IN_REGION}/clarification",
                            data={"reason": "two birth dates", "csrf": token_of(page),
                                  "back": url})
    assert response.status_code == 303 and response.headers["location"] == url
    page = officer.get(url).text
    match = re.search(r'action="/cases/(\d+)/verified"', page)
    assert match, "an open clarification offers the verified-values form"
    case_id = int(match.group(1))
    assert f'<label for="vfield-{case_id}">Field</label>' in page
    assert f'<label for="vvalue-{case_id}">Value</label>' in page
    assert ">Record</button>" in page
    # an empty value is refused with a page that says which field, and nothing changes
    response = officer.post(f"/cases/{case_id}/verified", data={
        "field": "birth_date", "value": " ", "reason": "x", "csrf": token_of(page)})
    assert response.status_code == 400 and "Value is empty" in response.text
    response = officer.post(f"/cases/{case_id}/decide", data={
        "outcome": "closed", "reason": "the passport office confirms 1999-03-10",
        "csrf": token_of(page), "back": url})
    assert response.status_code == 303 and response.headers["location"] == url
    page = officer.get(url).text
    assert (f'Case {case_id}: clarification</strong> <span class="tag">closed'
            in page)
    assert "the passport office confirms 1999-03-10" in page
    with served.store.engine.connect() as conn:
        done = set(conn.execute(sa.select(audit_log.c.action).where(
            audit_log.c.person_id == ALSO_IN_REGION, audit_log.c.actor == "officer"
        )).scalars())
    assert {"person.read", "case.open", "case.decide"} <= done
    assert verify(served.store).ok


def test_citizen_proposes_and_officer_decides_in_the_queue(
        served: Served, sessions: dict[str, TestClient]) -> None:
    citizen, officer = sessions["citizen"], sessions["officer"]
    portal = citizen.get("/portal").text
    assert "The rules applied to you" in portal and "conscription" in portal
    assert "Who accessed your record" in portal
    response = citizen.post("/portal/correction", data={
        "field": "address", "value": "Тверь, ул. Советская, 1", "reason": "I moved",
        "csrf": token_of(portal)})
    assert response.status_code == 303
    portal = citizen.get("/portal").text
    assert "correction</strong> <span class=\"tag warn\">open" in portal
    queue = officer.get("/queues").text
    match = re.search(r'action="/cases/(\d+)/decide"[^>]*hx-post="[^"]*"[^>]*'
                      r'hx-target="#queue-correction"', queue)
    assert match, "the correction waits in the officer's queue with a decide form"
    case_id = match.group(1)
    response = officer.post(f"/cases/{case_id}/decide", data={
        "outcome": "rejected", "reason": "no proof of address", "csrf": token_of(queue),
        "back": "/queues#queue-correction"})
    assert response.status_code == 303
    assert response.headers["location"] == "/queues#queue-correction"
    portal = citizen.get("/portal").text
    assert "no proof of address" in portal  # the citizen sees the decision and why
    # the citizen saw who opened their record, and why
    assert re.search(r"<td>officer</td><td>officer</td><td>person.read</td>"
                     r"<td>(casework|correction)</td>", portal)
    # a citizen may not decide
    assert citizen.post(f"/cases/{case_id}/decide", data={
        "outcome": "approved", "reason": "x", "csrf": token_of(portal)}).status_code == 403


def test_officer_answers_a_review_pair_in_the_queue(
        served: Served, sessions: dict[str, TestClient]) -> None:
    with served.store.engine.begin() as conn:  # two records of TVE persons
        pair = int(conn.execute(review_pairs.insert().values(
            run_id=1, kind="uncertain", source_l="passports", record_id_l="R0",
            source_r="passports", record_id_r="R2", match_weight=22.5,
            person_l=IN_REGION, person_r=ALSO_IN_REGION, region_l="TVE", region_r="TVE",
            detail="same family name, different given names", status="open"
        )).inserted_primary_key[0])
    officer, citizen = sessions["officer"], sessions["citizen"]
    queue = officer.get("/queues").text
    assert f'action="/review/{pair}/decide"' in queue
    assert f'<label for="reason-pair-{pair}">Reason</label>' in queue
    assert citizen.post(f"/review/{pair}/decide", data={
        "decision": "same", "reason": "x", "csrf": token_of(citizen.get("/portal").text)
    }).status_code == 403
    assert officer.post(f"/review/{pair}/decide", data={  # a reason is required
        "decision": "different", "reason": " ", "csrf": token_of(queue)}).status_code == 400
    response = officer.post(f"/review/{pair}/decide", data={
        "decision": "different", "reason": "two brothers", "csrf": token_of(queue)})
    assert response.status_code == 303
    assert response.headers["location"] == "/queues#queue-review"
    assert f'action="/review/{pair}/decide"' not in officer.get("/queues").text
    with served.store.engine.connect() as conn:
        kept = conn.execute(sa.select(review_decisions.c.decision, review_decisions.c.actor,
                                      review_decisions.c.reason)).all()
    assert ("different", "officer", "two brothers") in [tuple(k) for k in kept]


# --- Recording a verified value on a real register ---------------------------------------

@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def real(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RealRegister, Any]]:
    root: Path = tmp_path_factory.mktemp("web-real")
    urls: Iterator[str] = (iter([f"sqlite:///{root / 'ws' / 'muster.db'}"])
                           if request.param == "sqlite" else _postgres_database())
    url = next(urls)
    try:
        with pytest.MonkeyPatch.context() as env:
            register = build_real_register(root, url, env)
            app = create_app(register.workspace, "test-secret", database_url=url)
            with TestClient(app):
                yield register, app
            register.store.close()
    finally:
        for _ in urls:  # drops the PostgreSQL database
            pass


def test_verified_value_wins_with_the_office_as_its_source(
        real: tuple[RealRegister, Any]) -> None:
    register, app = real
    officer = TestClient(app, follow_redirects=False)
    log_in(officer, "officer")
    url = f"/persons/{register.citizen}?purpose=clarification"
    page = officer.get(url).text
    officer.post(f"/persons/{register.citizen}/clarification",
                 data={"reason": "address to confirm", "csrf": token_of(page)})
    page = officer.get(url).text
    case_id = re.search(r'action="/cases/(\d+)/verified"', page).group(1)  # type: ignore[union-attr]
    response = officer.post(f"/cases/{case_id}/verified", data={
        "field": "address", "value": "Тверь, ул. Советская, 7", "reason": "seen in person",
        "csrf": token_of(page), "back": url})
    assert response.status_code == 303, response.text
    page = officer.get(url).text
    address = re.search(r'<th scope="row">address</th><td>(.*?)</td>\s*<td>(.*?)</td>',
                        page, re.S)
    assert address and "Тверь, ул. Советская, 7" in address.group(1)
    assert "registration_office" in address.group(2)  # the badge names the office
    assert f'Case {case_id}: clarification</strong> <span class="tag">resolved' in page
    # the citizen sees the new value and who opened the record, and why
    citizen = TestClient(app, follow_redirects=False)
    log_in(citizen, "citizen")
    portal = citizen.get("/portal").text
    assert "Тверь, ул. Советская, 7" in portal
    assert re.search(r"<td>officer</td><td>officer</td><td>person.read</td>"
                     r"<td>clarification</td>", portal)


def test_a_match_link_is_explained_comparison_by_comparison(
        real: tuple[RealRegister, Any]) -> None:
    register, app = real
    e, p, g = link_edges.c, person_records.c, golden_records.c
    with register.store.engine.connect() as conn:  # a Splink link of a person the officer sees
        person = conn.execute(sa.select(p.person_id).join(link_edges, sa.and_(
            e.source_l == p.source, e.record_id_l == p.record_id)).join(
            golden_records, g.person_id == p.person_id).where(
            e.rule == "match", e.outcome == "linked", g.region == register.region)
            .order_by(p.person_id).limit(1)).scalar_one()
    officer = TestClient(app, follow_redirects=False)
    log_in(officer, "officer")
    page = officer.get(f"/persons/{person}?purpose=clarification").text
    for comparison in ("family_name", "given_name", "birth_date", "sex"):
        assert re.search(rf'<th scope="row">{comparison}: -?\d+</th><td class="num">-?[\d.]+',
                         page), comparison
    links = officer.get(f"/api/v1/persons/{person}", params={"purpose": "clarification"}
                        ).json()["links"]
    match = next(link for link in links if link["rule"] == "match")
    level, weight = match["contributions"]["birth_date"]
    assert isinstance(level, int) and isinstance(weight, float)
    assert set(match["contributions"]) <= {"family_name", "given_name", "middle_name",
                                           "birth_date", "sex", "region", "address"}


def test_an_id_no_row_can_have_is_refused_not_a_server_error(
        served: Served, sessions: dict[str, TestClient]) -> None:
    # SQLite's integer overflowed: the pages answered 500, and the API said "There is
    # no call-up plan 0" about plan 99999999999999999999.
    huge = "99999999999999999999"
    for path in (f"/plans/{huge}", f"/plans/{huge}/verify", f"/notices/{huge}.pdf"):
        assert sessions["admin"].get(path).status_code == 400, path
    for path in (f"/api/v1/plans/{huge}", f"/api/v1/cases/{huge}",
                 f"/api/v1/notices/{huge}.pdf"):
        response = sessions["admin"].get(path)
        assert response.status_code == 422, path
        assert "less than or equal to 2147483647" in response.json()["detail"]
