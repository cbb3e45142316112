"""Re-ingesting is harmless; a later batch updates rows and keeps their history."""

from __future__ import annotations

import sqlalchemy as sa

from helpers import count, declare, records

DECL = {"format": "csv", "record_id": "ID", "fields": {"family_name": "FAM", "address": "ADDR"}}


def test_same_file_twice_adds_nothing_and_says_so(register, tmp_path):
    extract = tmp_path / "a.csv"
    extract.write_text("ID,FAM,ADDR\n1,Иванов,ул. Ленина 1\n1,Иванов,ул. Ленина 1\n1,X,Y\n")
    register.ok("sources", "add", declare(tmp_path / "s.toml", v=DECL))
    register.ok("ingest", "v", extract)
    store = register.store()
    before = {t: count(store, t) for t in ("source_records", "quarantine", "batches",
                                            "record_flags", "record_versions")}
    again = register.ok("ingest", "v", extract)
    assert "already ingested as batch 1; nothing added" in again
    assert {t: count(store, t) for t in before} == before


def test_same_rows_in_a_new_file_are_unchanged(register, tmp_path):
    register.ok("sources", "add", declare(tmp_path / "s.toml", v=DECL))
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("ID,FAM,ADDR\n1,Иванов,A\n2,Петров,B\n")
    second.write_text("ID,FAM,ADDR\n2,Петров,B\n1,Иванов,A\n")  # same rows, other order
    register.ok("ingest", "v", first)
    out = register.ok("ingest", "v", second)
    assert "new 0 + updated 0 + unchanged 2" in out
    assert "Nothing new" in out
    assert count(register.store(), "record_versions") == 0


def test_later_batch_updates_changed_rows_keeps_history_adds_new(register, tmp_path):
    register.ok("sources", "add", declare(tmp_path / "s.toml", v=DECL))
    first, second = tmp_path / "jan.csv", tmp_path / "feb.csv"
    first.write_text("ID,FAM,ADDR\n1,Иванов,ул. Старая 1\n2,Петров,ул. Прямая 2\n")
    second.write_text("ID,FAM,ADDR\n1,Иванов,ул. Новая 5\n3,Сидоров,ул. Кривая 3\n")
    register.ok("ingest", "v", first)
    out = register.ok("ingest", "v", second)
    assert "new 1 + updated 1 + unchanged 0" in out
    store = register.store()
    recs = records(store, "v")
    assert recs["1"]["address"] == "ул. Новая 5"
    assert recs["1"]["batch_id"] == 2 and recs["1"]["first_batch_id"] == 1
    assert recs["2"]["address"] == "ул. Прямая 2", "rows absent from a later batch stay"
    assert recs["3"]["first_batch_id"] == 2
    with store.engine.connect() as conn:
        history = conn.execute(sa.text(
            "SELECT record_id, batch_id, superseded_by_batch_id, raw FROM record_versions"
        )).all()
    assert [tuple(h) for h in history] == [("1", 1, 2, "1,Иванов,ул. Старая 1")]


def test_extracts_are_archived_for_provenance(register, tmp_path):
    extract = tmp_path / "a.csv"
    extract.write_text("ID,FAM,ADDR\n1,Иванов,A\n")
    register.ok("sources", "add", declare(tmp_path / "s.toml", v=DECL))
    register.ok("ingest", "v", extract)
    archived = list((register.root / "extracts" / "v").iterdir())
    assert [p.read_bytes() for p in archived] == [extract.read_bytes()]
