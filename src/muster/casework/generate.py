"""Clarification requests for everyone the register cannot decide on without an officer.

One open clarification per person, opened for every person whose status on the
date is ``needs_clarification`` and every person with a golden-record conflict that
no officer-verified value settles. A person who already has an open clarification
gets no second one. Set-based: one pass over the results and the conflicts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pyarrow as pa

from muster.casework.cases import OPEN
from muster.eligibility.dialect import date_sql, text_sql
from muster.errors import MusterError
from muster.store import Store
from muster.store.bulk import bulk_transaction


@dataclass(frozen=True)
class Generated:
    as_of: date
    opened: int
    already_open: int
    needs_clarification: int
    with_conflicts: int


def generate_clarifications(store: Store, as_of: date, actor: str,
                            officer: str | None) -> Generated:
    now = datetime.now(UTC)
    with bulk_transaction(store) as db:
        run = db.scalar("SELECT max(id) FROM eligibility_runs WHERE as_of = "
                        f"{date_sql(as_of, store.dialect)} AND superseded_by IS NULL")
        if run is None:
            raise MusterError(f"There is no evaluation for {as_of}.",
                              hint=f"Run `muster eligibility evaluate --as-of {as_of}` first.")
        statuses = db.fetch_arrow(
            "SELECT person_id, grounds FROM eligibility_results WHERE run_id = ? "
            "AND status = 'needs_clarification'", (int(run),)).to_pylist()
        settled = f" AND source <> {text_sql(officer)}" if officer else ""
        conflicts = db.fetch_arrow(
            "SELECT person_id, field FROM golden_values WHERE conflict = 1 AND chosen = 1"
            f"{settled}").to_pylist()
        open_now = set(db.fetch_arrow(
            "SELECT DISTINCT person_id FROM cases WHERE kind = 'clarification' AND status = ?",
            (OPEN,)).column("person_id").to_pylist())
        wanted: dict[str, dict[str, list[str]]] = {}
        for r in statuses:
            wanted.setdefault(r["person_id"], {"grounds": [], "conflicts": []})["grounds"] = \
                [g for g in r["grounds"].split(",") if g]
        for r in conflicts:
            wanted.setdefault(r["person_id"], {"grounds": [], "conflicts": []})[
                "conflicts"].append(r["field"])
        new = {p: w for p, w in sorted(wanted.items()) if p not in open_now}
        rows = []
        for person_id, w in new.items():
            parts = []
            if w["grounds"]:
                parts.append(f"needs clarification on {as_of} ({', '.join(w['grounds'])})")
            if w["conflicts"]:
                parts.append(f"sources disagree on {', '.join(sorted(w['conflicts']))}")
            detail = {"as_of": as_of.isoformat(), "grounds": w["grounds"],
                      "conflicts": sorted(w["conflicts"])}
            rows.append({"person_id": person_id, "kind": "clarification", "status": OPEN,
                         "reason": "; ".join(parts),
                         "detail": json.dumps(detail, sort_keys=True),
                         "opened_by": actor, "opened_at": now})
        if rows:
            first = int(db.scalar("SELECT coalesce(max(id), 0) FROM cases")) + 1
            db.append("cases", pa.Table.from_pylist(rows))
            db.execute(
                "INSERT INTO case_events (case_id, person_id, at, actor, action, detail) "
                "SELECT id, person_id, opened_at, opened_by, 'opened', reason FROM cases "
                "WHERE id >= ? AND kind = 'clarification'", (first,))
            db.execute(
                "INSERT INTO person_events (run_id, at, kind, person_id, old_ids, new_ids, "
                "detail) SELECT 0, opened_at, 'case_opened', person_id, '[]', "
                "'[\"' || person_id || '\"]', 'case ' || CAST(id AS TEXT) || "
                "' (clarification) opened by ' || opened_by || ': ' || reason "
                "FROM cases WHERE id >= ? AND kind = 'clarification'", (first,))
        db.commit()
    return Generated(as_of, len(rows), len(set(wanted) & open_now), len(statuses),
                     len({r["person_id"] for r in conflicts}))
