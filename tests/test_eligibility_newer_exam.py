"""A newer examination that the trust order did not choose holds the man: a clinic's
"unfit" after the ministry's "fit" is kept beside it in the golden record, and without
this ground the man was eligible. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from conftest import Register
from helpers import declare
from muster.store.provenance import agreed_source_sql
from test_resolve import _links, resolved  # noqa: F401  (the fixture)

AS_OF = "2024-06-01"
GROUND = "newer_examination"


def _results(register: Register) -> dict[str, tuple[str, str]]:
    register.ok("eligibility", "evaluate", "--as-of", AS_OF)
    with register.store().engine.connect() as conn:
        return {r[0]: (r[1], r[2]) for r in conn.execute(sa.text(
            "SELECT person_id, status, grounds FROM eligibility_results WHERE run_id = "
            "(SELECT max(id) FROM eligibility_runs)"))}


def add_records_of_men(register: Register, tmp_path: Path, source: str,
                       fields: dict[str, str], rows: list[tuple[str, Any, list[str]]]) -> None:
    """Ingest and resolve a new ``source`` of records, each (record id, the man's golden
    record, its values of ``fields`` (field -> column)) with the man's names, birth date
    and region; every record must join its man."""
    path = tmp_path / f"{source}.csv"
    lines = [";".join(["id", "FAM", "IM", "OTCH", "DR", "POL", "REG", *fields.values()])]
    for record_id, man, values in rows:
        lines.append(";".join([record_id, man["family_name"], man["given_name"],
                               man["middle_name"], str(man["birth_date"]), "M", man["region"],
                               *values]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    declare(tmp_path / f"{source}.toml", **{source: {
        "format": "csv", "delimiter": ";", "record_id": "id", "date_format": "%Y-%m-%d",
        "fields": {"family_name": "FAM", "given_name": "IM", "middle_name": "OTCH",
                   "birth_date": "DR", "sex": "POL", "region": "REG", **fields}}})
    register.ok("sources", "add", tmp_path / f"{source}.toml")
    register.ok("ingest", source, path)
    register.ok("resolve")
    links = _links(register, tmp_path / "links.csv")
    assert all(links[(source, record_id)] == man["person_id"] for record_id, man, _ in rows)


def test_a_newer_examination_the_trust_order_did_not_choose_holds_him(
        resolved: Register, tmp_path: Path) -> None:  # noqa: F811
    before = _results(resolved)
    with resolved.store().engine.connect() as conn:
        # the health ministry's category chosen, from a contested field or an agreed one
        health = agreed_source_sql(conn.dialect.name, "a.fields", "'fitness_category'")
        men = [dict(r) for r in conn.execute(sa.text(
            "SELECT g.person_id, g.family_name, g.given_name, g.middle_name, g.birth_date, "
            "g.region, g.fitness_date FROM golden_records g LEFT JOIN golden_values v "
            "ON v.person_id = g.person_id AND v.field = 'fitness_category' AND v.chosen = 1 "
            "JOIN golden_provenance a ON a.person_id = g.person_id "
            f"WHERE coalesce(v.source, {health}) = 'health' AND g.middle_name IS NOT NULL "
            "AND g.fitness_date IS NOT NULL AND g.region IS NOT NULL "
            "ORDER BY g.person_id")).mappings()
            if before[r["person_id"]][0].startswith("eligible")][:4]
    assert len(men) == 4
    # unfit after his examination, unfit after it, fit after it, unfit before it
    findings = [("E", 10), ("E", 30), ("A", 10), ("E", -30)]
    rows = []
    for i, (man, (category, days)) in enumerate(zip(men, findings, strict=True)):
        examined = date.fromisoformat(str(man["fitness_date"])) + timedelta(days=days)
        rows.append((f"k{i}", man, [category, examined.isoformat()]))
    add_records_of_men(resolved, tmp_path, "clinic",
                       {"fitness_category": "KAT", "fitness_date": "DATA"}, rows)
    after = _results(resolved)
    held = {man["person_id"] for man in men if GROUND in after[man["person_id"]][1].split(",")}
    assert held == {men[0]["person_id"], men[1]["person_id"]}
    for man in men[:2]:
        assert after[man["person_id"]][0] == "needs_clarification"
    for man in men[2:]:  # a newer "fit", an older "unfit": as before
        assert after[man["person_id"]][0] == before[man["person_id"]][0]
    out = " ".join(resolved.ok("eligibility", "explain", men[1]["person_id"],
                               "--as-of", AS_OF).split())
    assert "Records newer than the chosen values: clinic:k1 fitness_category E" in out
    assert "Agrees with the stored evaluation" in out
