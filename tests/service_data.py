"""A tiny register for the service tests: three persons in two regions, one source
record each, an eligibility evaluation, and one account of each role with a token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from conftest import _postgres_database
from eligibility_data import man, write_register
from muster.callup import create_plan
from muster.eligibility.evaluate import evaluate
from muster.notices import issue_notices
from muster.profile import Profile
from muster.service.accounts import add_account, create_token
from muster.store import Store, open_store
from muster.store.schema import (
    audit_log,
    golden_records,
    notices,
    person_events,
    person_records,
    persons,
    review_pairs,
    source_records,
)
from muster.workspace import Workspace, create_workspace

PASSWORD = "correct horse battery"
IN_REGION = "P000000001"  # TVE: the officer's region; the citizen is this person
OUT_OF_REGION = "P000000002"  # MOW
ALSO_IN_REGION = "P000000003"  # TVE, with a conflicting birth date
MISSING = "P000000999"
AS_OF = date(2024, 6, 1)


@dataclass
class Accounts:
    tokens: dict[str, str]  # username -> API token


def build_register(store: Store, profile: Profile) -> Accounts:
    people = [
        man(IN_REGION, family_name="Иванов", given_name="Иван", region="TVE"),
        man(OUT_OF_REGION, family_name="Иванов", given_name="Пётр", region="MOW"),
        man(ALSO_IN_REGION, family_name="Иванов", given_name="Олег", region="TVE",
            student_until=date(2026, 6, 30),
            conflicts={"birth_date": [(date(1999, 3, 11), "voters")]}),
    ]
    write_register(store, people)
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        for p in people:  # the search keys ingest computes
            conn.execute(golden_records.update().where(
                golden_records.c.person_id == p["person_id"]).values(
                family_key=profile.names.key(p["family_name"]),
                given_key=profile.names.key(p["given_name"])))
        conn.execute(persons.insert(), [
            {"person_id": p["person_id"], "status": "active", "created_run": 1}
            for p in people])
        conn.execute(source_records.insert(), [
            {"source": "passports", "record_id": f"R{i}", "batch_id": 1,
             "first_batch_id": 1, "line": i + 1, "row_hash": "0" * 32,
             "raw": json.dumps({"FAM": p["family_name"]}, ensure_ascii=False), "flags": 0,
             "family_name": p["family_name"], "given_name": p["given_name"],
             "region": p["region"]} for i, p in enumerate(people)])
        conn.execute(person_records.insert(), [
            {"source": "passports", "record_id": f"R{i}", "person_id": p["person_id"],
             "run_id": 1} for i, p in enumerate(people)])
        conn.execute(person_events.insert(), [
            {"run_id": 1, "at": now, "kind": "created", "person_id": p["person_id"],
             "old_ids": "[]", "new_ids": json.dumps([p["person_id"]]), "detail": "new"}
            for p in people])
    evaluate(store, profile, AS_OF)
    regions = profile.regions.codes
    add_account(store, "admin", PASSWORD, "administrator")
    add_account(store, "analyst", PASSWORD, "analyst")
    add_account(store, "officer", PASSWORD, "officer", regions=["TVE"], known_regions=regions)
    add_account(store, "citizen", PASSWORD, "citizen", person_id=IN_REGION)
    return Accounts(tokens={name: create_token(store, name, "tests")
                            for name in ("admin", "analyst", "officer", "citizen")})


@dataclass
class Work:
    plan_id: int
    notices: dict[str, int]  # person_id -> notice id


def add_work(store: Store, profile: Profile, out: Path) -> Work:
    """Casework material on top of ``build_register``: a call-up plan selecting
    IN_REGION and OUT_OF_REGION with a notice each (PDFs in ``out``), and two open review
    pairs (one within TVE, one within MOW: a second record of OUT_OF_REGION)."""
    with store.engine.begin() as conn:
        conn.execute(source_records.insert().values(
            source="voters", record_id="V1", batch_id=2, first_batch_id=2, line=2,
            row_hash="1" * 32, raw="{}", flags=0, family_name="Иванов", given_name="Пётр",
            region="MOW"))
        conn.execute(person_records.insert().values(
            source="voters", record_id="V1", person_id=OUT_OF_REGION, run_id=1))
        conn.execute(review_pairs.insert(), [
            {"run_id": 1, "kind": "uncertain", "source_l": "passports", "record_id_l": "R0",
             "source_r": "passports", "record_id_r": "R2", "match_weight": 3.5,
             "person_l": IN_REGION, "person_r": ALSO_IN_REGION,
             "region_l": "TVE", "region_r": "TVE",
             "detail": "same family name, different given names", "status": "open"},
            {"run_id": 1, "kind": "ambiguous", "source_l": "passports", "record_id_l": "R1",
             "source_r": "voters", "record_id_r": "V1", "match_weight": 7.0,
             "person_l": OUT_OF_REGION, "person_r": OUT_OF_REGION,
             "region_l": "MOW", "region_r": "MOW",
             "detail": "one voter record, two candidates", "status": "open"}])
    report = create_plan(store, AS_OF, {"TVE": 1, "MOW": 1}, "planner", seed="00c0ffee")
    issue_notices(store, profile, report.plan.id, out, "planner")
    with store.engine.connect() as conn:
        ids = {str(p): int(i) for p, i in conn.execute(sa.select(notices.c.person_id,
                                                                 notices.c.id))}
    assert set(ids) == {IN_REGION, OUT_OF_REGION}, ids
    return Work(plan_id=report.plan.id, notices=ids)


class Clock:
    """The login throttle's clock, moved by the tests."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def register_backend(backend: str, root: Path) -> Iterator[tuple[Workspace, Store, str]]:
    """A workspace and an empty register on ``backend`` (sqlite | postgresql, a fresh
    database dropped afterwards): (workspace, open store, database url)."""
    workspace = create_workspace(root / "ws")
    urls: Iterator[str] = (iter([f"sqlite:///{root / 'register.db'}"])
                           if backend == "sqlite" else _postgres_database())
    url = next(urls)
    try:
        store = open_store(url)
        try:
            yield workspace, store, url
        finally:
            store.close()
    finally:
        for _ in urls:  # drops the PostgreSQL database
            pass


def audit_count(store: Store, **where: Any) -> int:
    """Audit entries, all of them or those whose columns equal ``where``."""
    query = sa.select(sa.func.count()).select_from(audit_log)
    for column, value in where.items():
        query = query.where(audit_log.c[column] == value)
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)
