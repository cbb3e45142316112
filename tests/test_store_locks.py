"""One writer of the register at a time on PostgreSQL: an ingest that arrives while a
resolution (or any run holding the register) is reading waits for it, so the run
never notes a batch as resolved that it did not read."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from conftest import Register
from helpers import count, declare
from muster.ingest import declaration_for, ingest_file
from muster.store.bulk import bulk_transaction
from muster.store.locks import lock_register

DECL = {"format": "csv", "record_id": "ID", "fields": {"family_name": "FAM"}}


def test_an_ingest_waits_for_the_run_holding_the_register(register: Register,
                                                          tmp_path: Path) -> None:
    if not register.database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer by design; a stale run fails when it writes")
    register.ok("sources", "add", declare(tmp_path / "s.toml", v=DECL))
    extract = tmp_path / "a.csv"
    extract.write_text("ID,FAM\n1,Иванов\n2,Петров\n", encoding="utf-8")
    ws = register.workspace()
    store = register.store()
    decl = declaration_for(ws.sources, "v", ws.root)
    done = threading.Event()
    errors: list[BaseException] = []

    def ingest() -> None:
        try:
            ingest_file(store, ws.profile(), decl, extract, ws.archive_dir)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            done.set()

    with bulk_transaction(store) as run:  # a resolution, say, holding the register
        lock_register(run)
        writer = threading.Thread(target=ingest)
        writer.start()
        assert not done.wait(1.5), "the ingest went ahead while the register was held"
        assert count(store, "source_records") == 0
        run.commit()
    assert done.wait(30) and not errors, errors
    writer.join()
    assert count(store, "source_records") == 2
