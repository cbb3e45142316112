"""The audit log's hash chain: `muster audit verify` catches an edited, a deleted
(in the middle or at the end) and a reordered entry, on both backends; with anchors
(`muster audit anchor`) also a log rewritten or cut back by someone who recomputed
every hash."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import Register
from muster.errors import BadRequest, ConflictError, NotFound
from muster.service import audit, audit_anchors, audit_verify
from muster.service.audit import GENESIS, entry_hash
from muster.store import Store
from muster.store.schema import audit_head, audit_log

NOON = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


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


def _rehash(row: Any, prev: str) -> str:
    return entry_hash(row.seq, row.at, row.actor, row.role, row.action, row.person_id,
                      row.purpose, row.detail, prev)


def append_past_head(conn: sa.Connection) -> None:
    """An entry, well chained, slipped in after the last one without moving the head."""
    last = conn.execute(sa.select(audit_log).where(audit_log.c.seq == 5)).one()
    digest = entry_hash(6, last.at, last.actor, last.role, last.action, last.person_id,
                        last.purpose, last.detail, last.hash)
    conn.execute(audit_log.insert().values(
        {**last._asdict(), "seq": 6, "prev_hash": last.hash, "hash": digest}))


def insert_before_first(conn: sa.Connection) -> None:
    """An entry numbered 0, chained to nothing, slipped in before the first one: a
    citizen would see it among the entries about them."""
    first = conn.execute(sa.select(audit_log).where(audit_log.c.seq == 1)).one()
    conn.execute(audit_log.insert().values({**first._asdict(), "seq": 0, "actor": "forged"}))


def rewrite_from(conn: sa.Connection, seq: int = 3) -> None:
    """Edit an entry, then recompute its hash, every later one and the head: what
    someone who can write to the database can do, and the chain alone cannot see."""
    conn.execute(audit_log.update().where(audit_log.c.seq == seq).values(purpose="callup"))
    prev = conn.execute(sa.select(audit_log.c.hash).where(
        audit_log.c.seq == seq - 1)).scalar() or GENESIS
    for row in conn.execute(sa.select(audit_log).where(audit_log.c.seq >= seq)
                            .order_by(audit_log.c.seq)).all():
        digest = _rehash(row, prev)
        conn.execute(audit_log.update().where(audit_log.c.seq == row.seq).values(
            prev_hash=prev, hash=digest))
        prev = digest
    conn.execute(audit_head.update().where(audit_head.c.id == 1).values(hash=prev))


def cut_back(conn: sa.Connection, keep: int = 3) -> None:
    """Delete the entries after ``keep`` and set the head back to it, consistently."""
    conn.execute(audit_log.delete().where(audit_log.c.seq > keep))
    kept = conn.execute(sa.select(audit_log.c.hash).where(audit_log.c.seq == keep)).scalar()
    conn.execute(audit_head.update().where(audit_head.c.id == 1).values(seq=keep, hash=kept))


TAMPERING: dict[str, tuple[Callable[[sa.Connection], None], str]] = {
    "edited": (edit, "entry 3 was altered"),
    "deleted": (delete_middle, "entries 3..3 are missing"),
    "deleted-last": (delete_last, "entries 5..5 were deleted"),
    "reordered": (swap, "entry 2 was altered"),
    "reordered-rehashed": (swap_and_rehash, "entry 2 does not follow the entry before it"),
    "appended-past-head": (append_past_head, "1 entries from entry 6 on lie past the "
                           "recorded head"),
    "inserted-before-first": (insert_before_first, "1 entries numbered 0 to 0 lie before "
                              "the first entry"),
}


def test_an_untouched_log_verifies(store: Store) -> None:
    assert audit_verify.verify(store).ok and audit_verify.verify(store).entries == 0
    write_entries(store)
    for chunk in (2, audit_verify.CHUNK):
        result = audit_verify.verify(store, chunk=chunk)
        assert result.ok and result.entries == 5
    rows, total = audit.entries(store, person_id="P000000002")
    assert total == 1 and rows[0].actor == "officer2" and rows[0].detail == {"n": 2}


@pytest.mark.parametrize("kind", list(TAMPERING))
def test_verify_catches_tampering(store: Store, kind: str) -> None:
    """Alike when the log is walked two entries at a time, so that the break also
    falls on the border between two chunks."""
    write_entries(store)
    tamper, problem = TAMPERING[kind]
    with store.engine.begin() as conn:
        tamper(conn)
    result = audit_verify.verify(store)
    assert not result.ok
    assert any(problem in p for p in result.problems), result.problems
    assert audit_verify.verify(store, chunk=2).problems == result.problems


def test_the_database_recomputes_the_hashes_and_python_judges_only_the_odd_ones(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hashes are recomputed set-based; an entry whose JSON the database escapes
    otherwise than Python (a control character) is judged by Python's exact rule and
    is intact."""
    write_entries(store, 4)
    audit.append(store, actor="officer\x1f5", role="officer", action="person.read")
    write_entries(store, 2)
    judged: list[int] = []
    check = audit_verify._check
    monkeypatch.setattr(audit_verify, "_check", lambda row, *args: (
        judged.append(row.seq), check(row, *args)))
    for chunk in (3, audit_verify.CHUNK):
        judged.clear()
        result = audit_verify.verify(store, chunk=chunk)
        assert result.ok and result.entries == 7, result.problems
        assert judged == [5]


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
    result = audit_verify.verify(store)
    assert result.ok, result.problems
    assert result.entries == 40


def test_verify_ignores_an_entry_appended_while_it_walks(store: Store) -> None:
    """A live service appends while `verify` (and so `anchor`) runs: an entry written
    after the head was read is no deleted entry, nor one past the head."""
    write_entries(store)
    appended: list[int] = []

    def append_once(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not appended and statement.lstrip().upper().startswith("SELECT") \
                and "audit_head" in statement:
            appended.append(audit.append(store, actor="late", role="officer",
                                         action="person.read"))

    sa.event.listen(store.engine, "after_cursor_execute", append_once)
    try:
        result = audit_verify.verify(store)
    finally:
        sa.event.remove(store.engine, "after_cursor_execute", append_once)
    assert appended == [6]
    assert result.ok, result.problems
    assert (result.entries, result.head_seq) == (5, 5)
    assert audit_verify.verify(store).head_seq == 6


# --- Anchors ---------------------------------------------------------------------------


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_anchor_appends_the_head_and_never_rewrites_a_line(store: Store,
                                                           tmp_path: Path) -> None:
    path = tmp_path / "anchors.txt"
    path.write_text("# kept on the write-once share", encoding="utf-8")  # no newline
    write_entries(store, 3)
    first = audit_anchors.anchor(store, path, now=NOON)
    head = audit.head(store)
    assert (first.seq, first.hash) == (3, head.hash) == (
        head.seq, audit_verify.verify(store).head_hash)
    assert head.at is not None and head.at.tzinfo is not None
    assert lines(path) == ["# kept on the write-once share",
                           f"3 {head.hash} 2026-12-01T10:00:00Z"]
    before = path.read_text(encoding="utf-8")
    write_entries(store, 2)
    second = audit_anchors.anchor(store, path)
    assert path.read_text(encoding="utf-8").startswith(before)
    assert len(lines(path)) == 3 and lines(path)[2] == second.text()
    assert second.seq == 5 and second.hash == audit.head(store).hash != first.hash
    # a fresh file is made
    assert audit_anchors.anchor(store, tmp_path / "new.txt").seq == 5


def test_anchored_verify_passes_on_an_intact_log(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "anchors.txt"
    write_entries(store, 2)
    audit_anchors.anchor(store, path)
    write_entries(store, 3)
    audit_anchors.anchor(store, path)
    path.write_text(path.read_text() + "\n# checked by the auditor\n\n", encoding="utf-8")
    mailed = tmp_path / "mailed.txt"  # the first anchor, kept elsewhere as well
    mailed.write_text(lines(path)[0] + "\n", encoding="utf-8")
    result = audit_anchors.verify(store, [path, mailed])
    assert result.ok, result.problems
    assert (result.entries, result.anchors) == (5, 3)


def test_a_complete_rewrite_passes_the_chain_but_not_the_anchors(store: Store,
                                                                 tmp_path: Path) -> None:
    path = tmp_path / "anchors.txt"
    write_entries(store, 2)
    audit_anchors.anchor(store, path, now=NOON)  # entry 2: before the rewrite, still holds
    write_entries(store, 3)
    audit_anchors.anchor(store, path, now=NOON)  # entry 5: after it
    with store.engine.begin() as conn:
        rewrite_from(conn, 3)
    assert audit_verify.verify(store).ok  # the chain alone is fooled: that is the point
    result = audit_anchors.verify(store, [path])
    assert result.problems == [
        f"entry 5 no longer has the hash anchored at 2026-12-01T10:00:00Z: the log was "
        f"rewritten up to there ({path}, line 2)"]


@pytest.mark.parametrize(("refill", "problem"), [
    (0, "entry 5, anchored at 2026-12-01T10:00:00Z, is gone: the log was cut back to "
        "entry 3"),
    (2, "entry 5 no longer has the hash anchored at 2026-12-01T10:00:00Z"),
], ids=["cut", "cut-and-refilled"])
def test_a_log_cut_back_below_an_anchor_is_caught(store: Store, tmp_path: Path, refill: int,
                                                  problem: str) -> None:
    path = tmp_path / "anchors.txt"
    write_entries(store)
    audit_anchors.anchor(store, path, now=NOON)
    with store.engine.begin() as conn:
        cut_back(conn, 3)
    write_entries(store, refill)  # new entries where the anchored ones were
    assert audit_verify.verify(store).ok
    result = audit_anchors.verify(store, [path])
    assert len(result.problems) == 1 and problem in result.problems[0], result.problems


def test_an_anchored_entry_deleted_in_the_middle_is_named(store: Store,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "anchors.txt"
    write_entries(store, 3)
    audit_anchors.anchor(store, path, now=NOON)
    write_entries(store, 2)
    with store.engine.begin() as conn:
        conn.execute(audit_log.delete().where(audit_log.c.seq == 3))
    problems = audit_anchors.verify(store, [path]).problems
    assert "entries 3..3 are missing (deleted)" in problems
    assert any("entry 3, anchored at 2026-12-01T10:00:00Z, is gone: it was deleted" in p
               for p in problems), problems


HASH = "ab" * 32
MALFORMED = {
    "short hash": f"5 {HASH[:40]} 2026-12-01T10:00:00Z",
    "no seq": f"five {HASH} 2026-12-01T10:00:00Z",
    "seq 0": f"0 {HASH} 2026-12-01T10:00:00Z",
    "no time": f"5 {HASH}",
    "not a time": f"5 {HASH} yesterday",
    "no offset": f"5 {HASH} 2026-12-01T10:00:00",
    "upper-case hash": f"5 {HASH.upper()} 2026-12-01T10:00:00Z",
}


@pytest.mark.parametrize("line", list(MALFORMED.values()), ids=list(MALFORMED))
def test_a_malformed_anchor_line_names_its_file_and_line(store: Store, tmp_path: Path,
                                                         line: str) -> None:
    path = tmp_path / "anchors.txt"
    path.write_text(f"# anchors\n{line}\n", encoding="utf-8")
    with pytest.raises(BadRequest) as caught:
        audit_anchors.verify(store, [path])
    assert f"{path}, line 2, is not an anchor" in caught.value.message
    assert "<seq> <hash> <UTC time>" in (caught.value.hint or "")
    with pytest.raises(BadRequest):  # nor is a head anchored after it
        audit_anchors.anchor(store, path)
    assert lines(path) == ["# anchors", line]


def test_anchoring_a_broken_chain_is_refused(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "anchors.txt"
    with pytest.raises(ConflictError, match="empty"):
        audit_anchors.anchor(store, path)
    write_entries(store)
    with store.engine.begin() as conn:
        edit(conn)
    with pytest.raises(audit_anchors.ChainBroken) as caught:
        audit_anchors.anchor(store, path)
    assert any("entry 3 was altered" in p for p in caught.value.result.problems)
    assert not path.exists()


def test_anchoring_over_anchors_the_log_no_longer_matches_is_refused(
        store: Store, tmp_path: Path) -> None:
    """A rewrite passes the chain; the anchors already in the file stop it being blessed."""
    path = tmp_path / "anchors.txt"
    write_entries(store)
    audit_anchors.anchor(store, path)
    with store.engine.begin() as conn:
        rewrite_from(conn, 3)
    with pytest.raises(audit_anchors.ChainBroken) as caught:
        audit_anchors.anchor(store, path)
    assert any("entry 5 no longer has the hash" in p for p in caught.value.result.problems)
    assert len(lines(path)) == 1


def test_cli_audit_anchor_and_verify_with_anchors(register: Register, tmp_path: Path) -> None:
    store = register.store()
    path = tmp_path / "anchors.txt"
    write_entries(store)
    out = register.ok("audit", "anchor", path)
    head = audit.head(store)
    assert f"Anchored in {path}: 5 {head.hash} " in out
    assert lines(path)[0].startswith(f"5 {head.hash} ")
    out = register.ok("audit", "verify", "--anchors", path)
    assert "intact: 5 entries" in out and "1 anchor held" in out and head.hash in out
    with store.engine.begin() as conn:
        rewrite_from(conn, 2)
    assert register.run("audit", "verify").exit_code == 0
    result = register.run("audit", "verify", "--anchors", path)
    assert result.exit_code == 1
    assert "tampered with" in result.out
    assert "entry 5 no longer has the hash anchored at" in result.out
    refused = register.run("audit", "anchor", path)
    assert refused.exit_code == 1 and "Not anchored" in refused.out
    assert "entry 5 no longer has the hash" in refused.out and len(lines(path)) == 1


def test_cli_bad_anchor_files_are_errors_not_tracebacks(register: Register,
                                                        tmp_path: Path) -> None:
    write_entries(register.store())
    path = tmp_path / "anchors.txt"
    path.write_text(f"5 {HASH} 2026-12-01T10:00:00Z\n5 {HASH}\n", encoding="utf-8")
    for args in (("verify", "--anchors", path), ("anchor", path)):
        result = register.run("audit", *args)
        assert result.exit_code == 2
        assert f"{path}, line 2, is not an anchor" in result.err
        assert "Traceback" not in result.err + result.out
    result = register.run("audit", "verify", "--anchors", tmp_path / "missing.txt")
    assert result.exit_code == 2 and "There is no anchor file" in result.err


def test_reading_a_missing_anchor_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        audit_anchors.read(tmp_path / "missing.txt")
