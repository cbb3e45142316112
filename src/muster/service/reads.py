"""Reading persons through the service: the access check, the library calls and the
audit entry, in one place for the REST API and the web pages alike.

A read uses one connection from start to end (on PostgreSQL in autocommit, so each
query is one round trip) and writes its audit entry last, on the same connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from muster.casework.cases import CASE_QUERIES, Case, cases_of
from muster.eligibility.explain import RESULT_QUERIES, other_files_holding
from muster.errors import BadRequest
from muster.resolve.queries import (
    PERSON_QUERIES,
    PersonView,
    find_persons,
    person_params,
    person_view_of,
)
from muster.service import access, audit
from muster.service.accounts import CITIZEN, Account
from muster.service.state import Service
from muster.service.work_queries import NOTICE_QUERIES, notices_of
from muster.store.together import fetch_together


def search_persons(svc: Service, account: Account, name: str | None, birth_date: str | None,
                   identifier: str | None, limit: int) -> list[dict[str, Any]]:
    """Persons matching every criterion given, within the account's regions. Each person
    returned is a ``person.search`` entry (one entry without a person when none is)."""
    regions = access.require_search(account)
    if not (name or birth_date or identifier):
        raise BadRequest("Say what to look for.",
                         hint="Give name, birth_date (YYYY-MM-DD) or id (any combination).")
    query = {k: v for k, v in (("name", name), ("birth_date", birth_date),
                               ("id", identifier)) if v}
    with svc.store.read_connection() as conn:
        rows = find_persons(conn, name, birth_date, identifier, svc.profile, limit=limit,
                            regions=regions)
        with audit.appending(conn):
            for row in rows or [{"person_id": None}]:
                audit.record(conn, actor=account.username, role=account.role,
                             action="person.search", person_id=row["person_id"],
                             detail={"query": query, "results": len(rows)})
    return rows


@dataclass(frozen=True)
class PersonRead:
    view: PersonView
    eligibility: list[dict[str, Any]]  # stored results, newest date first
    # Files that may be the person's and hold them (eligibility.other_files); never
    # shown to a citizen: such a file may be another human's.
    other_files: list[str]
    cases: list[Case]  # oldest first
    notices: list[dict[str, Any]]  # newest first, each with its events


# Everything a person's page shows, read in one statement on PostgreSQL.
_READ_QUERIES = {**PERSON_QUERIES, **RESULT_QUERIES, **CASE_QUERIES, **NOTICE_QUERIES}


def read_person(svc: Service, account: Account, person_id: str,
                purpose: str | None) -> PersonRead:
    """A person's record with its eligibility results, cases and notices, if the account
    may open it for this purpose (refused before anything is read); writes the
    ``person.read`` entry, which covers all of it."""
    with svc.store.read_connection() as conn:
        access.require_person(conn, account, person_id, purpose)
        rows = fetch_together(conn, _READ_QUERIES, person_params(person_id))
        results = rows["eligibility"]
        read = PersonRead(
            view=person_view_of(conn, person_id, rows), eligibility=results,
            other_files=([] if account.role == CITIZEN
                         else other_files_holding(conn, person_id, results)),
            cases=cases_of(rows), notices=notices_of(rows))
        audit.append(conn, actor=account.username, role=account.role,
                     action="person.read", person_id=person_id, purpose=purpose)
    return read


def read_audit(svc: Service, account: Account, person_id: str | None, limit: int,
               offset: int) -> tuple[list[audit.Entry], int]:
    """Audit entries the account may read (all, or those about one person), newest first,
    and their total. Reading the log is itself an entry."""
    about = access.require_audit(account, person_id)
    rows, total = audit.entries(svc.store, person_id=about, limit=limit, offset=offset)
    audit.append(svc.store, actor=account.username, role=account.role, action="audit.read",
                 person_id=about)
    return rows, total
