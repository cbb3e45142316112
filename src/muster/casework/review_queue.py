"""The review queue: open review pairs, first those that hold someone's call-up decision.

It reads what resolution wrote (the pairs, with the person of each record and their
golden region) and what eligibility decided (who is held for records in review), so it
sits with the casework that works it; the CLI's `muster review list` and the
service's queue both read it.

The question a pair asks is whether its two persons are one human, and an answer on
one pair answers every open pair between the same two persons
(``decisions._close_between_persons``). So the queue lists one entry per pair of
persons, the strongest of their record pairs, with ``pairs_between``: at 100,000
persons 1,152 uncertain record pairs were 288 questions.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from muster.eligibility.explain import newest_evaluation
from muster.store import Store
from muster.store.schema import IN_REVIEW, eligibility_results, eligibility_runs, review_pairs


def _held_persons() -> sa.Select[Any]:
    """The persons whom the newest current eligibility evaluation holds for records in
    review (ground IN_REVIEW_GROUND, before any other): a few thousand, found by their
    partial index (the condition spelt out for it)."""
    e = eligibility_results.c
    run = newest_evaluation().with_only_columns(eligibility_runs.c.id).scalar_subquery()
    return sa.select(e.person_id).where(e.run_id == run, sa.text(IN_REVIEW))


def _open_pairs(regions: tuple[str, ...] | None, kind: str | None = None,
                *columns: Any) -> sa.Select[Any]:
    """The open pairs (of ``kind``), their ``columns`` (default: all) with ``holds``:
    whether a person of the pair is held for it (``_held_persons``); ``regions`` keeps
    pairs with a record of a person in them. Both read the persons and regions
    resolution keeps on each pair: the pairs are all that is read, however many."""
    r = review_pairs.c
    held = sa.case((sa.or_(r.person_l.in_(_held_persons()), r.person_r.in_(_held_persons())),
                    1), else_=0).label("holds")
    query = sa.select(*(columns or (review_pairs,)), held).where(r.status == "open")
    if kind:
        query = query.where(r.kind == kind)
    if regions is not None:
        query = query.where(sa.or_(r.region_l.in_(regions), r.region_r.in_(regions)))
    return query


def _persons_key() -> sa.ColumnElement[str]:
    """The two persons of a pair in either order; the pair's own id where there are not
    two (a record without a person, or both of one person: no answer spreads there)."""
    r = review_pairs.c
    two = sa.and_(r.person_l.is_not(None), r.person_r.is_not(None), r.person_l != r.person_r)
    ordered = sa.case((r.person_l < r.person_r, r.person_l + " " + r.person_r),
                      else_=r.person_r + " " + r.person_l)
    return sa.case((two, ordered), else_="#" + sa.cast(r.id, sa.String)).label("persons")


def open_entries() -> sa.Select[Any]:
    """How many entries the whole review list has: one per two persons."""
    r = review_pairs.c
    return sa.select(sa.func.count(sa.distinct(_persons_key()))).where(r.status == "open")


def open_review_pair(store: Store, pair_id: int,
                     regions: tuple[str, ...] | None) -> dict[str, Any] | None:
    """One open review pair as ``review_page`` gives it, or None."""
    with store.engine.connect() as conn:
        row = conn.execute(_open_pairs(regions).where(
            review_pairs.c.id == pair_id)).mappings().first()
    return dict(row) if row is not None else None


def review_page(store: Store, kind: str | None, regions: tuple[str, ...] | None,
                limit: int, offset: int,
                every_pair: bool = False) -> tuple[list[dict[str, Any]], int]:
    """Open review pairs with the person of each record (``person_l``, ``person_r``), one
    per pair of persons (the strongest; ``pairs_between`` counts theirs), or each one
    with ``every_pair``: first those that hold a call-up decision (``holds``), then the
    strongest first; ``regions`` keeps pairs with a record of a person in those regions.
    Returns the page and how many entries there are in all.

    The page and the total come from one pass over the pairs (the total as a window
    count), which ranks the pairs by their id, hold and weight alone; the page's 25 are
    read whole after. At 1,000,000 persons an officer's page took 1.1 s on PostgreSQL
    while the pairs were joined to their persons and golden records to filter and order
    them; the administrator's took 0.17 s while the count held every open pair whole
    (73,048 of them, spilled to disk)."""
    r = review_pairs.c
    strongest = (r.match_weight.desc().nulls_last(), r.id)
    persons = _persons_key() if not every_pair else r.id
    pairs = _open_pairs(regions, kind, r.id, r.match_weight).add_columns(
        sa.func.row_number().over(partition_by=persons, order_by=strongest).label("nth"),
        sa.func.count().over(partition_by=persons).label("pairs_between")).subquery("pairs")
    # A pair's persons are held or not whoever its records are: one hold for all of them.
    ranked = (sa.select(pairs, sa.func.count().over().label("total"))
              .where(pairs.c.nth == 1)
              .order_by(pairs.c.holds.desc(), pairs.c.match_weight.desc().nulls_last(),
                        pairs.c.id)
              .limit(limit).offset(offset).subquery("ranked"))
    page = (sa.select(review_pairs, ranked.c.holds, ranked.c.pairs_between, ranked.c.total)
            .join(ranked, ranked.c.id == r.id)
            .order_by(ranked.c.holds.desc(), ranked.c.match_weight.desc().nulls_last(),
                      ranked.c.id))
    with store.engine.connect() as conn:
        rows = conn.execute(page).mappings().all()
        if rows:
            total = int(rows[0]["total"])
        else:  # past the end, or nothing at all: count without a page
            total = int(conn.execute(sa.select(sa.func.count()).where(
                pairs.c.nth == 1)).scalar() or 0)
    return [{k: v for k, v in row.items() if k != "total"} for row in rows], total
