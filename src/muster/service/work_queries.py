"""The few reads the service needs scoped to an account's regions, which the stage
packages do not offer: a person's first record, a person's notices, notice statuses
of a page of a plan's selection (the review queue is casework.review_queue). Plain
reads; access and audit stay in actions_*."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from muster.errors import NotFound
from muster.store import Reader, Store, reading
from muster.store.schema import notice_events, notices, person_records
from muster.store.together import Query, Rows, fetch_together


def first_record(conn: sa.Connection, person_id: str) -> tuple[str, str]:
    """(source, record_id) of the person's first record: a decision on one record of
    each of two files joins or parts the files."""
    p = person_records.c
    row = conn.execute(sa.select(p.source, p.record_id).where(p.person_id == person_id)
                       .order_by(p.source, p.record_id).limit(1)).first()
    if row is None:
        raise NotFound(f"Person {person_id} has no source records.",
                       hint="Resolve the register again.")
    return str(row.source), str(row.record_id)


def _with_events(notice_rows: Rows, events: Rows) -> list[dict[str, Any]]:
    """The notices, each with its ``events`` (of ``events``, in their order)."""
    by_notice: dict[int, Rows] = {int(n["id"]): [] for n in notice_rows}
    for event in events:
        by_notice[int(event["notice_id"])].append(event)
    return [{**n, "events": by_notice[int(n["id"])]} for n in notice_rows]


def _notice_queries() -> dict[str, Query]:
    pid = sa.bindparam("person_id", type_=sa.String)
    n, e = notices.c, notice_events.c
    return {
        "notices": Query(sa.select(notices).where(n.person_id == pid), (n.id.desc(),)),
        "notice_events": Query(sa.select(notice_events).where(
            e.notice_id.in_(sa.select(n.id).where(n.person_id == pid))), (e.id,)),
    }


# A person's notices and their events (``notices_of``): the service reads them with the
# rest of the person.
NOTICE_QUERIES = _notice_queries()


def notices_of(rows: dict[str, Rows]) -> list[dict[str, Any]]:
    """A person's notices, newest first, each with its ``events``."""
    return _with_events(rows["notices"], rows["notice_events"])


def person_notices(db: Reader, person_id: str) -> list[dict[str, Any]]:
    """A person's notices, newest first, each with its ``events``."""
    with reading(db) as conn:
        return notices_of(fetch_together(conn, NOTICE_QUERIES, {"person_id": person_id}))


def notice(store: Store, notice_id: int) -> dict[str, Any] | None:
    """One notice with its ``events``, or None."""
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(notices).where(notices.c.id == notice_id)
                           ).mappings().first()
        if row is None:
            return None
        events = conn.execute(sa.select(notice_events).where(
            notice_events.c.notice_id == notice_id).order_by(notice_events.c.id)).mappings()
        return _with_events([dict(row)], [dict(e) for e in events])[0]


def notice_statuses(store: Store, plan_id: int, regions: tuple[str, ...] | None,
                    person_ids: list[str]) -> tuple[dict[str, int], dict[str, str]]:
    """(status -> notices of the plan in ``regions``, person -> status for ``person_ids``)."""
    n = notices.c
    counts = sa.select(n.status, sa.func.count()).where(n.plan_id == plan_id)
    if regions is not None:
        counts = counts.where(n.region.in_(regions))
    with store.engine.connect() as conn:
        by_status = {str(s): int(c) for s, c in conn.execute(counts.group_by(n.status))}
        by_person = {str(p): str(s) for p, s in conn.execute(sa.select(n.person_id, n.status)
                     .where(n.plan_id == plan_id, n.person_id.in_(person_ids)))}
    return by_status, by_person
