"""A newer record that the trust order did not choose, and that says the man is deferred,
holds him: a social office's three dependents after the civil registry's none lost to
civil's place in the trust order, and without this ground the man was eligible. On
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from conftest import Register
from test_eligibility_newer_exam import AS_OF, _results, add_records_of_men
from test_resolve import resolved  # noqa: F401  (the fixture)

GROUND = "newer_deferment"


def _eligible_men_without_dependents(register: Register, results: dict[str, Any]
                                     ) -> list[dict[str, Any]]:
    """Eligible men whose records agree on fewer dependents than defer (all of them
    dated), with the dates of the oldest and the newest of those records."""
    with register.store().engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(
            "SELECT g.person_id, g.family_name, g.given_name, g.middle_name, g.birth_date, "
            "g.region, d.dependents, d.oldest, d.newest FROM golden_records g JOIN ("
            "SELECT p.person_id, max(r.dependents) AS dependents, "
            "min(r.record_date) AS oldest, max(r.record_date) AS newest "
            "FROM person_records p JOIN source_records r "
            "ON r.source = p.source AND r.record_id = p.record_id "
            "WHERE r.dependents IS NOT NULL GROUP BY p.person_id "
            "HAVING max(r.dependents) < 2 AND min(r.dependents) = max(r.dependents) "
            "AND count(r.record_date) = count(*)) d "
            "ON d.person_id = g.person_id WHERE g.middle_name IS NOT NULL "
            "AND g.region IS NOT NULL ORDER BY g.person_id")).mappings()
            if results[r["person_id"]][0].startswith("eligible")]


def _day(value: Any, days: int) -> str:
    return (date.fromisoformat(str(value)) + timedelta(days=days)).isoformat()


def test_a_newer_record_that_defers_him_holds_him(resolved: Register,  # noqa: F811
                                                   tmp_path: Path) -> None:
    before = _results(resolved)
    men = _eligible_men_without_dependents(resolved, before)[:4]
    assert len(men) == 4
    # (dependents, record date) of each man's social records: three after his newest
    # record; three before his oldest; another number too few to defer after his
    # newest; three after it, then too few: the newest record not chosen counts
    few = [1 - man["dependents"] for man in men]
    records = [[(3, _day(men[0]["newest"], 10))],
               [(3, _day(men[1]["oldest"], -30))],
               [(few[2], _day(men[2]["newest"], 10))],
               [(3, _day(men[3]["newest"], 10)), (few[3], _day(men[3]["newest"], 20))]]
    add_records_of_men(resolved, tmp_path, "social",
                       {"dependents": "DEP", "record_date": "DATA"},
                       [(f"s{i}{j}", man, [str(dependents), dated])
                        for i, (man, rows) in enumerate(zip(men, records, strict=True))
                        for j, (dependents, dated) in enumerate(rows)])
    after = _results(resolved)
    held = {man["person_id"] for man in men if GROUND in after[man["person_id"]][1].split(",")}
    assert held == {men[0]["person_id"]}
    assert after[men[0]["person_id"]][0] == "needs_clarification"
    for man in men[1:]:  # an older record, a newer one without the deferment, the newest
        assert after[man["person_id"]][0] == before[man["person_id"]][0]
    out = " ".join(resolved.ok("eligibility", "explain", men[0]["person_id"],
                               "--as-of", AS_OF).split())
    assert (f"Records newer than the chosen values: social:s00 dependents 3 "
            f"({records[0][0][1]})") in out
    assert "Agrees with the stored evaluation" in out
