"""The audit log's hash chain: `muster audit verify` catches an edited, a deleted
(in the middle or at the end) and a reordered entry, on both backends."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from conftest import Register
from muster.service import audit
from muster.service.audit import entry_hash
from muster.store import Store
from muster.store.schema import audit_log


def write_entries(store: Store, n: int = 5) -> None:
    for i in range(1, n + 1):
        audit.append(store, actor=f"officer{i}", role="officer", action="person.read",
                     person_id=f"P00000000{i}", purpose="casework", detail={"n": i})


def edit(conn: sa.Connection) -> None:
    conn.execute(audit_log.update().where(audit_log.c.seq == 3).values(purpose="callup"))


def delete_middle(conn: sa.Connection) -> None:
    conn.execute(audit_log.delete().where(audit_log.c.seq == 3))


def delete_last(conn: sa.Connection) -> None:
    conn.execute(audit_log.delete().where(audit_log.c.seq == 5))


def swap(conn: sa.Connection) -> None:
    """Entries 2 and 3 change places."""
    for old, new in ((2, -1), (3, 2), (-1, 3)):
        conn.execute(audit_log.update().where(audit_log.c.seq == old).values(seq=new))


def swap_and_rehash(conn: sa.Connection) -> None:
    """Entries 2 and 3 change places and each gets a hash that fits its new content."""
    swap(conn)
    for row in conn.execute(sa.select(audit_log).where(audit_log.c.seq.in_((2, 3)))).all():
        conn.execute(audit_log.update().where(audit_log.c.seq == row.seq).values(
            hash=entry_hash(row.seq, row.at, row.actor, row.role, row.action, row.person_id,
                            row.purpose, row.detail, row.prev_hash)))


TAMPERING: dict[str, tuple[Callable[[sa.Connection], None], str]] = {
    "edited": (edit, "entry 3 was altered"),
    "deleted": (delete_middle, "entries 3..3 are missing"),
    "deleted-last": (delete_last, "entries 5..5 were deleted"),
    "reordered": (swap, "entry 2 was altered"),
    "reordered-rehashed": (swap_and_rehash, "entry 2 does not follow the entry before it"),
}


def test_an_untouched_log_verifies(store: Store) -> None:
    assert audit.verify(store).ok and audit.verify(store).entries == 0
    write_entries(store)
    result = audit.verify(store)
    assert result.ok and result.entries == 5
    rows, total = audit.entries(store, person_id="P000000002")
    assert total == 1 and rows[0].actor == "officer2" and rows[0].detail == {"n": 2}


@pytest.mark.parametrize("kind", list(TAMPERING))
def test_verify_catches_tampering(store: Store, kind: str) -> None:
    write_entries(store)
    tamper, problem = TAMPERING[kind]
    with store.engine.begin() as conn:
        tamper(conn)
    result = audit.verify(store)
    assert not result.ok
    assert any(problem in p for p in result.problems), result.problems


def test_cli_audit_verify_and_list(register: Register) -> None:
    store = register.store()
    write_entries(store)
    out = register.ok("audit", "verify")
    assert "intact: 5 entries" in out
    assert "officer4" in register.ok("audit", "list", "--person", "P000000004")
    with store.engine.begin() as conn:
        edit(conn)
    result = register.run("audit", "verify")
    assert result.exit_code == 1
    assert "tampered with" in result.out and "entry 3 was altered" in result.out


def test_concurrent_writers_keep_one_chain(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def write(worker: int) -> None:
        for i in range(10):
            audit.append(store, actor=f"w{worker}", role="officer", action="person.read",
                         person_id="P000000001", purpose="casework", detail={"i": i})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(4)))
    result = audit.verify(store)
    assert result.ok, result.problems
    assert result.entries == 40
