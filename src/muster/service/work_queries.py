"""The few reads the service needs scoped to an account's regions, which the stage
packages do not offer: review pairs by region, a person's notices, notice statuses
of a page of a plan's selection. Plain reads; access and audit stay in actions_*."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from muster.eligibility.explain import newest_evaluation
from muster.eligibility.rules import IN_REVIEW_GROUND
from muster.errors import NotFound
from muster.store import Reader, Store, reading
from muster.store.schema import (
    eligibility_results,
    eligibility_runs,
    golden_records,
    notice_events,
    notices,
    person_records,
    review_pairs,
)


def _open_pairs(regions: tuple[str, ...] | None, holds: bool = True) -> sa.Select[Any]:
    """Open review pairs with the person and region of each record (``person_l``,
    ``region_l``, ...) and (``holds``) whether the newest current eligibility evaluation
    holds a person of the pair for it (ground IN_REVIEW_GROUND, before any other);
    ``regions`` keeps pairs with a record of a person in them."""
    left, right = person_records.alias("pl"), person_records.alias("pr")
    gl, gr = golden_records.alias("gl"), golden_records.alias("gr")
    r = review_pairs.c
    query = (sa.select(review_pairs, left.c.person_id.label("person_l"),
                       right.c.person_id.label("person_r"), gl.c.region.label("region_l"),
                       gr.c.region.label("region_r"))
             .outerjoin(left, sa.and_(left.c.source == r.source_l,
                                      left.c.record_id == r.record_id_l))
             .outerjoin(right, sa.and_(right.c.source == r.source_r,
                                       right.c.record_id == r.record_id_r))
             .outerjoin(gl, gl.c.person_id == left.c.person_id)
             .outerjoin(gr, gr.c.person_id == right.c.person_id)
             .where(r.status == "open"))
    if holds:
        el, er = eligibility_results.alias("el"), eligibility_results.alias("er")
        run = newest_evaluation().with_only_columns(eligibility_runs.c.id).scalar_subquery()
        held = sa.or_(el.c.ground == IN_REVIEW_GROUND, er.c.ground == IN_REVIEW_GROUND)
        query = (query.add_columns(sa.case((held, 1), else_=0).label("holds"))
                 .outerjoin(el, sa.and_(el.c.run_id == run,
                                        el.c.person_id == left.c.person_id))
                 .outerjoin(er, sa.and_(er.c.run_id == run,
                                        er.c.person_id == right.c.person_id)))
    if regions is not None:
        query = query.where(sa.or_(gl.c.region.in_(regions), gr.c.region.in_(regions)))
    return query


def open_review_pair(store: Store, pair_id: int,
                     regions: tuple[str, ...] | None) -> dict[str, Any] | None:
    """One open review pair as ``review_page`` gives it, or None."""
    with store.engine.connect() as conn:
        row = conn.execute(_open_pairs(regions).where(review_pairs.c.id == pair_id)
                           ).mappings().first()
    return dict(row) if row is not None else None


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


def review_page(store: Store, kind: str | None, regions: tuple[str, ...] | None,
                limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Open review pairs with the person of each record (``person_l``, ``person_r``):
    first those that hold a call-up decision (``holds``), then the strongest first;
    ``regions`` keeps pairs with a record of a person in those regions."""
    r = review_pairs.c
    query = _open_pairs(regions)
    # Counting needs the persons' regions only to keep an officer's: at 1,000,000
    # persons on SQLite, each lookup of the tens of thousands of pairs costs a second.
    counted = (_open_pairs(regions, holds=False) if regions is not None
               else sa.select(r.id).where(r.status == "open"))
    if kind:
        query, counted = query.where(r.kind == kind), counted.where(r.kind == kind)
    with store.engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(counted.subquery())
                             ).scalar()
        rows = conn.execute(query.order_by(sa.literal_column("holds").desc(),
                                           r.match_weight.desc().nulls_last(), r.id)
                            .limit(limit).offset(offset)).mappings().all()
    return [dict(row) for row in rows], int(total or 0)


def _with_events(conn: sa.Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = [int(n["id"]) for n in rows]
    events: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        for e in conn.execute(sa.select(notice_events).where(
                notice_events.c.notice_id.in_(ids)).order_by(notice_events.c.id)).mappings():
            events[int(e["notice_id"])].append(dict(e))
    return [{**n, "events": events[int(n["id"])]} for n in rows]


def person_notices(db: Reader, person_id: str) -> list[dict[str, Any]]:
    """A person's notices, newest first, each with its ``events``."""
    with reading(db) as conn:
        rows = [dict(r) for r in conn.execute(sa.select(notices).where(
            notices.c.person_id == person_id).order_by(notices.c.id.desc())).mappings()]
        return _with_events(conn, rows)


def notice(store: Store, notice_id: int) -> dict[str, Any] | None:
    """One notice with its ``events``, or None."""
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(notices).where(notices.c.id == notice_id)
                           ).mappings().first()
        return _with_events(conn, [dict(row)])[0] if row is not None else None


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
