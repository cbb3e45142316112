"""Officers' answers to the review list: these two records are the same person, or
they are different persons.

The register never links an uncertain pair on its own; an officer who has looked at
the evidence decides. The decision is kept (who, when, why; the newest one on a
pair holds) and every resolution run after it honours it:

- "same": the pair is linked like an identifier link (rule "confirmed by officer"),
  still subject to the cannot-link rules: two records that cannot be one person
  (different sex, valid national ids that differ...) are corrected through a
  clarification, not by forcing them together;
- "different": the pair is a cannot-link, so no chain of other links can put the
  two records into one person, nor their two persons into one (outcomes.py).

Either answer is also the answer to the other open pairs between the two persons,
which leave the review list with it.

A decided pair leaves the review list at once; the persons change at the next
``muster resolve`` (incremental: the persons of the pair are re-decided).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import sqlalchemy as sa

from muster.errors import BadRequest, NotFound
from muster.store import Store
from muster.store.bulk import BulkConnection
from muster.store.schema import (
    person_records,
    review_decisions,
    review_pairs,
    source_records,
)

DECISIONS = ("same", "different")
CONFIRMED_RULE = "confirmed by officer"
DIFFERENT_REASON = "an officer decided these records are different persons"


@dataclass(frozen=True)
class PairDecision:
    left: tuple[str, str]  # (source, record_id), the smaller of the two
    right: tuple[str, str]
    decision: str
    actor: str
    reason: str
    decided_at: datetime
    review_closed: int  # open review entries now marked decided: the pair's, and
    # every other between the two persons


def parse_record(text: str) -> tuple[str, str]:
    """``SOURCE:RECORD_ID`` as (source, record_id)."""
    source, sep, record_id = text.partition(":")
    if not sep or not source or not record_id:
        raise BadRequest(f"{text!r} does not name a record.",
                         hint="Write SOURCE:RECORD_ID, e.g. voters:000123.")
    return source, record_id


def decide_pair(store: Store, left: tuple[str, str], right: tuple[str, str], decision: str,
                actor: str, reason: str) -> PairDecision:
    """Record an officer's decision on a pair and close its open review entries."""
    if decision not in DECISIONS:
        raise BadRequest(f"Decision {decision!r} is not one of {', '.join(DECISIONS)}.",
                         hint="Say 'same' (one person) or 'different' (two persons).")
    if not reason.strip():
        raise BadRequest("A decision on a review pair needs a reason.",
                         hint="Say what settled it, e.g. 'passport copy checked'.")
    first, second = sorted((left, right))
    if first == second:
        raise BadRequest("A record cannot be paired with itself.",
                         hint="Name two different records.")
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        for source, record_id in (first, second):
            if conn.execute(sa.select(source_records.c.record_id).where(
                    source_records.c.source == source,
                    source_records.c.record_id == record_id)).first() is None:
                raise NotFound(f"No record {source}:{record_id}.",
                               hint="See the pair's records with: muster review list")
        conn.execute(review_decisions.insert().values(
            source_l=first[0], record_id_l=first[1], source_r=second[0],
            record_id_r=second[1], decision=decision, actor=actor, reason=reason.strip(),
            decided_at=now))
        r = review_pairs.c
        same_pair = sa.or_(
            sa.and_(r.source_l == first[0], r.record_id_l == first[1],
                    r.source_r == second[0], r.record_id_r == second[1]),
            sa.and_(r.source_l == second[0], r.record_id_l == second[1],
                    r.source_r == first[0], r.record_id_r == first[1]))
        closed = conn.execute(review_pairs.update().where(same_pair, r.status == "open")
                              .values(status="decided")).rowcount
        closed += _close_between_persons(conn, first, second)
    return PairDecision(first, second, decision, actor, reason.strip(), now, int(closed or 0))


def _close_between_persons(conn: sa.Connection, first: tuple[str, str],
                           second: tuple[str, str]) -> int:
    """Close the open pairs between the persons of two records an officer answered:
    the answer is theirs too. "Different": resolution refuses them
    (outcomes._persons_apart); "same": they end inside one person (or, if the rules
    keep the two apart, come back open). Returns how many. Nothing when the two are
    one person yet: a "different" there is to be undone, not spread."""
    p, r = person_records.c, review_pairs.c
    a, b = (conn.execute(sa.select(p.person_id).where(
        p.source == source, p.record_id == record_id)).scalar() for source, record_id in (
        first, second))
    if a is None or b is None or a == b:
        return 0
    between = sa.or_(sa.and_(r.person_l == a, r.person_r == b),
                     sa.and_(r.person_l == b, r.person_r == a))
    return int(conn.execute(review_pairs.update().where(between, r.status == "open")
                            .values(status="decided")).rowcount or 0)


def pending_count(db: BulkConnection) -> int:
    """Decisions no resolution run has applied yet."""
    return int(db.scalar("SELECT count(*) FROM review_decisions WHERE applied_run IS NULL")
               or 0)


def mark_applied(db: BulkConnection, run_id: int) -> None:
    db.execute(f"UPDATE review_decisions SET applied_run = {int(run_id)} "
               "WHERE applied_run IS NULL")


def load_decisions(db: BulkConnection, con: duckdb.DuckDBPyConnection) -> None:
    """``decision_keys(source_l, record_id_l, source_r, record_id_r, decision, pending)``:
    the newest decision on every pair; pending when no run has applied it yet."""
    con.register("decisions_arrow", db.fetch_arrow(
        "SELECT id, source_l, record_id_l, source_r, record_id_r, decision, "
        "applied_run IS NULL AS pending FROM review_decisions"))
    con.execute("""
        CREATE OR REPLACE TABLE decision_keys AS
        SELECT CAST(source_l AS VARCHAR) AS source_l, CAST(record_id_l AS VARCHAR) AS record_id_l,
               CAST(source_r AS VARCHAR) AS source_r, CAST(record_id_r AS VARCHAR) AS record_id_r,
               CAST(decision AS VARCHAR) AS decision, CAST(pending AS BOOLEAN) AS pending
        FROM decisions_arrow
        QUALIFY row_number() OVER (PARTITION BY source_l, record_id_l, source_r, record_id_r
                                   ORDER BY id DESC) = 1
    """)
    con.unregister("decisions_arrow")


def add_decided_pairs(con: duckdb.DuckDBPyConnection) -> None:
    """``decided(rid_l, rid_r, decision)`` over the loaded ``records``; each "same" pair
    joins ``id_pairs`` as a link of its own rule."""
    con.execute("""
        CREATE OR REPLACE TABLE decided AS
        SELECT least(l.rid, r.rid) AS rid_l, greatest(l.rid, r.rid) AS rid_r, d.decision
        FROM decision_keys d
        JOIN records l ON l.source = d.source_l AND l.record_id = d.record_id_l
        JOIN records r ON r.source = d.source_r AND r.record_id = d.record_id_r
    """)
    con.execute(f"""
        CREATE OR REPLACE TABLE id_pairs AS
        SELECT rid_l, rid_r, string_agg(rule, ',' ORDER BY rule) AS rule,
               CASE WHEN bool_or(rule = '{CONFIRMED_RULE}') THEN NULL
                    ELSE any_value(conflict) END AS conflict
        FROM (
          SELECT rid_l, rid_r, rule, conflict FROM id_pairs
          UNION ALL
          SELECT rid_l, rid_r, '{CONFIRMED_RULE}', NULL FROM decided WHERE decision = 'same'
        ) GROUP BY rid_l, rid_r
    """)
