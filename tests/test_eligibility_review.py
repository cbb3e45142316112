"""Nobody whose records are still in review is called up: a person with a record in an
open pair of the review list, or in an officer's decision that no resolution run has
applied yet, needs clarification, whatever the rest of their file says. Until then a
record that is really theirs (a deferment) may sit in another person's file.

End to end on SQLite and PostgreSQL: real resolution, evaluation, a decision, and the
resolution that applies it."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from conftest import Register
from muster.eligibility.explain import records_in_review
from muster.eligibility.rules import ELIGIBLE, RECORDS_IN_REVIEW_SQL
from muster.store.schema import eligibility_results, eligibility_runs
from test_resolve import _links, resolved  # noqa: F401  (the fixture)

AS_OF = "2024-06-01"
GROUND = "identity_in_review"
REASON = ("--reason", "documents checked at the office")


def _in_review(register: Register) -> set[str]:
    """Persons with a record in review, straight from the review list and decisions."""
    with register.store().engine.connect() as conn:
        return set(conn.execute(sa.text(
            f"SELECT DISTINCT p.person_id FROM person_records p JOIN ({RECORDS_IN_REVIEW_SQL}) k "
            "ON k.source = p.source AND k.record_id = p.record_id")).scalars())


def _evaluate(register: Register) -> dict[str, dict[str, str]]:
    register.ok("eligibility", "evaluate", "--as-of", AS_OF)
    with register.store().engine.connect() as conn:
        run = conn.execute(sa.select(sa.func.max(eligibility_runs.c.id))).scalar()
        return {r["person_id"]: dict(r) for r in conn.execute(sa.select(
            eligibility_results).where(eligibility_results.c.run_id == run)).mappings()}


def _check(register: Register) -> tuple[set[str], dict[str, dict[str, str]]]:
    """The ground is on exactly the persons in review, and none of them is eligible;
    one person's explanation finds their records in review by the same rule."""
    in_review, results = _in_review(register), _evaluate(register)
    flagged = {p for p, r in results.items() if GROUND in r["grounds"].split(",")}
    assert flagged == in_review
    with register.store().engine.connect() as conn:
        assert {p for p in results if records_in_review(conn, p)} == in_review
    assert not [p for p in in_review if results[p]["status"] in ELIGIBLE]
    return in_review, results


def test_records_in_review_hold_their_person_until_a_resolution_applies_the_decision(
        resolved: Register, tmp_path: Path) -> None:  # noqa: F811
    in_review, results = _check(resolved)
    links = _links(resolved, tmp_path / "links.csv")
    bare, tver = links[("cases", "ns-bare")], links[("cases", "ns-tver")]
    assert {bare, tver} <= in_review  # ns-bare fits two namesakes: ambiguous
    assert GROUND in resolved.ok("eligibility", "explain", bare, "--as-of", AS_OF)
    assert "cases:ns-bare" in resolved.ok("eligibility", "explain", bare, "--as-of", AS_OF)
    # Persons with no record in review are decided as before: some are eligible.
    assert any(r["status"] in ELIGIBLE for p, r in results.items() if p not in in_review)
    # The review list puts the pairs that hold a call-up decision first.
    cells = [line.split("│") for line in resolved.ok("review", "list", "--limit", "1000")
             .splitlines() if line.count("│") == 9 and line.split("│")[1].strip().isdigit()]
    holds = [row[7].strip() == "call-up" for row in cells]
    assert any(holds) and holds == sorted(holds, reverse=True)

    resolved.ok("review", "decide", "cases:ns-tver", "cases:ns-bare", "--same", *REASON)
    # Decided but not yet applied: the two records are still in separate files.
    in_review, _ = _check(resolved)
    assert {bare, tver} <= in_review

    resolved.ok("resolve")
    in_review, _ = _check(resolved)
    links = _links(resolved, tmp_path / "after.csv")
    assert links[("cases", "ns-bare")] == links[("cases", "ns-tver")]
    with resolved.store().engine.connect() as conn:
        open_pairs = conn.execute(sa.text(
            "SELECT count(*) FROM review_pairs WHERE status = 'open' AND "
            "'cases:ns-bare' IN (source_l || ':' || record_id_l, source_r || ':' || record_id_r)"
        )).scalar()
    assert (links[("cases", "ns-bare")] in in_review) == bool(open_pairs)
