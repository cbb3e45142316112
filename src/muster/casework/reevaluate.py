"""After a decision: resolve again and re-decide, at once, the persons it touched.

A decision that records values adds a source record, so resolution runs again
(incrementally: only that record's neighbourhood). Every person whose golden
record that run rewrote, and the person the case is about, is then decided again
on the date of every current evaluation run, with the law that run applied, and
the stored result replaced, so a call-up plan made next sees the decision.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from muster.eligibility.evaluate import evaluate
from muster.eligibility.explain import decide_with_other_files, person_facts
from muster.eligibility.expr import Context
from muster.eligibility.law import Law, load_law, officer_source, parse_law
from muster.eligibility.other_files import neighbours
from muster.profile import Profile
from muster.resolve.pipeline import resolve
from muster.store import Store
from muster.store.schema import (
    eligibility_results,
    eligibility_runs,
    golden_records,
    person_records,
    persons,
    resolve_runs,
)

# More touched persons than this: evaluate the whole date again instead (set-based).
PER_PERSON_LIMIT = 2000


@dataclass(frozen=True)
class Reevaluation:
    resolve_run: int | None  # the resolution run the decision caused, if any
    results: tuple[tuple[date, str, str, str], ...]  # (as_of, person_id, status, ground)


def _law_of_run(run: dict[str, Any], current: Law) -> Law:
    """The law the run applied (its stored text), so a result is redone under it."""
    if run["law_sha256"] == current.sha256:
        return current
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "law.toml"
        path.write_text(run["law_text"], encoding="utf-8")
        return parse_law(path)


def _touched(conn: sa.Connection, person_id: str, run_id: int | None) -> tuple[set[str], set[str]]:
    """(persons to decide again, persons retired by the run)."""
    touched = {person_id}
    retired: set[str] = set()
    if run_id is not None:
        touched |= set(conn.execute(sa.select(person_records.c.person_id).where(
            person_records.c.run_id == run_id).distinct()).scalars())
        retired = set(conn.execute(sa.select(persons.c.person_id).where(
            persons.c.retired_run == run_id)).scalars())
    successor = conn.execute(sa.select(persons.c.successor).where(
        persons.c.person_id == person_id)).scalar()
    if successor:
        touched.add(successor)
    touched -= retired
    # A ground gained or lost here may hold or free the person's other files (and
    # theirs him): eligibility.other_files.
    if len(touched) <= PER_PERSON_LIMIT:
        touched |= neighbours(conn, sorted(touched))
    return touched, retired | ({person_id} if successor else set())


def reevaluate(store: Store, profile: Profile, person_id: str,
               resolve_again: bool) -> Reevaluation:
    """Resolve (when a record was added) and decide the touched persons again."""
    with store.engine.connect() as conn:
        latest_before = conn.execute(sa.select(sa.func.max(resolve_runs.c.id))).scalar()
    run_id = resolve(store, profile).run_id if resolve_again else None
    current = load_law(profile)
    officer = officer_source(profile)
    results: list[tuple[date, str, str, str]] = []
    with store.engine.connect() as conn:
        touched, retired = _touched(conn, person_id, run_id)
        runs = [dict(r) for r in conn.execute(sa.select(eligibility_runs).where(
            eligibility_runs.c.superseded_by.is_(None))).mappings().all()]
    for run in runs:
        law = _law_of_run(run, current)
        if len(touched) > PER_PERSON_LIMIT:
            evaluate(store, profile, run["as_of"], law)
            continue
        ctx = Context(run["as_of"], law.values_on(run["as_of"]), store.dialect)
        with store.engine.begin() as conn:
            alive = set(conn.execute(sa.select(golden_records.c.person_id).where(
                golden_records.c.person_id.in_(sorted(touched)))).scalars())
            conn.execute(eligibility_results.delete().where(
                eligibility_results.c.run_id == run["id"],
                eligibility_results.c.person_id.in_(sorted(touched | retired))))
            rows = []
            for pid in sorted(alive):
                facts, _ = person_facts(conn, pid, officer)
                decision, _, _ = decide_with_other_files(conn, pid, facts, ctx, officer)
                rows.append({
                    "run_id": run["id"], "person_id": pid, "region": facts.get("region"),
                    "status": decision.status, "ground": decision.ground,
                    "grounds": ",".join(decision.grounds), "until": decision.until,
                    "subject_from": decision.subject_from})
                results.append((run["as_of"], pid, decision.status, decision.ground))
            if rows:
                conn.execute(eligibility_results.insert(), rows)
            # The run stays current for the register as resolved now: what the new
            # resolution changed has just been decided again.
            if run_id is not None and run["resolve_run"] == latest_before:
                conn.execute(eligibility_runs.update().where(
                    eligibility_runs.c.id == run["id"]).values(resolve_run=run_id))
    return Reevaluation(run_id, tuple(results))
