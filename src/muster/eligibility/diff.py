"""The impact of a proposed law: who would change status on a date, where, and why.

Both laws' flags are computed in one pass over the golden records (two flag words
per person, in a temporary table); moves are counted per pair of flag words, whose
statuses come from the same precedence as `evaluate`. Nothing is written to the
register.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from muster.eligibility.evaluate import (
    build_flags,
    context_for,
    distinct_verdicts,
    require_resolved,
)
from muster.eligibility.law import Law, load_law, officer_source, parse_law
from muster.eligibility.rules import RULES, DateOf
from muster.profile import Profile
from muster.store import Store
from muster.store.bulk import bulk_transaction


@dataclass(frozen=True)
class LawDiff:
    as_of: date
    base: Law
    other: Law
    persons: int
    moved: int  # persons whose status changes
    regrounded: int  # persons whose status stays but whose grounds or dates change
    parameters: list[tuple[str, Any, Any]]  # (name, value in force now, proposed)
    moves: list[tuple[str, str, int]]  # (status now, proposed status, persons)
    by_region: list[tuple[str | None, str, str, int]]
    sample: list[dict[str, Any]]


def _dates_differ_sql() -> str:
    dated = [r.ground for r in RULES if isinstance(r.date, DateOf)]
    parts = [f"d_{g}_a IS DISTINCT FROM d_{g}_b" for g in dated]
    return "(" + " OR ".join(parts) + ")" if parts else "(1 = 0)"


def diff_law(store: Store, profile: Profile, as_of: date, other_path: Path,
             sample: int = 3) -> LawDiff:
    base = load_law(profile)
    other = parse_law(other_path)
    now_ctx, new_ctx = context_for(store, base, as_of), context_for(store, other, as_of)
    with bulk_transaction(store) as db:
        require_resolved(db)
        build_flags(db, "elig_pair", {"_a": now_ctx, "_b": new_ctx}, officer_source(profile))
        now = distinct_verdicts(db, "elig_pair", "_a")
        new = distinct_verdicts(db, "elig_pair", "_b")
        groups = db.fetch_arrow(
            f"SELECT region, bits_a, bits_b, count(*) AS n, sum(CASE WHEN {_dates_differ_sql()} "
            "THEN 1 ELSE 0 END) AS redated FROM elig_pair GROUP BY region, bits_a, bits_b"
        ).to_pylist()
        moving = [(g["bits_a"], g["bits_b"]) for g in groups
                  if now[g["bits_a"]].status != new[g["bits_b"]].status]
        rows = _sample(db, sorted(set(moving)), sample) if moving else []
    db_rows = [{"person_id": r["person_id"], "region": r["region"],
                "before": now[r["bits_a"]].status, "grounds_before": now[r["bits_a"]].grounds,
                "after": new[r["bits_b"]].status, "grounds_after": new[r["bits_b"]].grounds}
               for r in rows]
    moves: dict[tuple[str, str], int] = {}
    regions: dict[tuple[str | None, str, str], int] = {}
    persons = regrounded = 0
    for g in groups:
        n = int(g["n"])
        persons += n
        a, b = now[g["bits_a"]], new[g["bits_b"]]
        if a.status != b.status:
            moves[(a.status, b.status)] = moves.get((a.status, b.status), 0) + n
            key = (g["region"], a.status, b.status)
            regions[key] = regions.get(key, 0) + n
        elif g["bits_a"] != g["bits_b"]:
            regrounded += n
        else:
            regrounded += int(g["redated"] or 0)
    return LawDiff(
        as_of=as_of, base=base, other=other, persons=persons, moved=sum(moves.values()),
        regrounded=regrounded,
        parameters=[(n, now_ctx.values[n], new_ctx.values[n]) for n in now_ctx.values
                    if now_ctx.values[n] != new_ctx.values[n]],
        moves=sorted(((a, b, n) for (a, b), n in moves.items()), key=lambda m: -m[2]),
        by_region=sorted(((r, a, b, n) for (r, a, b), n in regions.items()),
                         key=lambda r: (r[0] or "", -r[3])),
        sample=_per_move(db_rows, sample),
    )


def _sample(db: Any, pairs: list[tuple[int, int]], sample: int) -> list[dict[str, Any]]:
    """Up to ``sample`` persons (lowest ids) for each pair of flag words that moves."""
    keys = " OR ".join(f"(bits_a = {a} AND bits_b = {b})" for a, b in pairs)
    return list(db.fetch_arrow(
        f"SELECT person_id, region, bits_a, bits_b FROM (SELECT person_id, region, bits_a, "
        f"bits_b, row_number() OVER (PARTITION BY bits_a, bits_b ORDER BY person_id) AS k "
        f"FROM elig_pair WHERE {keys}) s WHERE k <= {int(sample)} ORDER BY person_id"
    ).to_pylist())


def _per_move(rows: list[dict[str, Any]], sample: int) -> list[dict[str, Any]]:
    kept: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        bucket = kept.setdefault((r["before"], r["after"]), [])
        if len(bucket) < sample:
            bucket.append(r)
    return [r for key in sorted(kept) for r in kept[key]]


__all__ = ["LawDiff", "diff_law"]
