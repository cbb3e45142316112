"""Anchors: the audit log's head, noted where the database's administrator cannot write.

The hash chain (``audit``) proves nothing against someone who can write to the database:
they can edit an entry and recompute every later hash and the head. An anchor file, a
plain text file kept off the database host (printed, mailed, on write-once storage),
holds heads as they were: ``anchor`` appends one line per head, ``verify`` checks that
every anchored entry is still there and still carries the anchored hash. A rewrite or a
cut below any anchor is then caught.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from muster.errors import BadRequest, ConflictError, NotFound
from muster.service.audit_verify import Verification
from muster.service.audit_verify import verify as verify_chain
from muster.store import Reader, Store, reading
from muster.store.schema import audit_log

_LINE = re.compile(r"(\d+) ([0-9a-f]{64}) (\S+)")
FORMAT = "<seq> <hash> <UTC time>, e.g. 1234 <64 hex digits> 2026-12-01T10:00:00Z"


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    at: datetime  # when the head was anchored, by the anchoring machine's clock
    line: int = 0  # its line in the anchor file

    def text(self) -> str:
        return f"{self.seq} {self.hash} {_time_text(self.at)}"


def _time_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str) -> datetime | None:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None  # a time without its offset is ambiguous


def read(path: Path) -> list[Anchor]:
    """The anchors in a file, one a line; blank lines and ``#`` comments are skipped
    (people annotate the files they print and keep)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"There is no anchor file {path}.",
                       hint="Make one with `muster audit anchor FILE`.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The anchor file {path} cannot be read: {exc}.") from None
    found = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        at = _parse_time(match.group(3)) if match else None
        if match is None or at is None or int(match.group(1)) < 1:
            raise BadRequest(f"{path}, line {number}, is not an anchor: {line!r}.",
                             hint=f"Each line reads {FORMAT}; # starts a comment.")
        found.append(Anchor(int(match.group(1)), match.group(2), at, number))
    return found


def check(db: Reader, path: Path, anchors: Sequence[Anchor], end: int) -> list[str]:
    """Every anchor (read from ``path``, which only names it) whose entry is gone or no
    longer carries the anchored hash; ``end``: the head the chain was walked to."""
    with reading(db) as conn:
        hashes: dict[int, str] = {}
        seqs = sorted({a.seq for a in anchors})
        for i in range(0, len(seqs), 1000):  # years of daily anchors, in few queries
            hashes.update((r.seq, r.hash) for r in conn.execute(
                sa.select(audit_log.c.seq, audit_log.c.hash).where(
                    audit_log.c.seq.in_(seqs[i:i + 1000]))))
    problems = []
    for a in anchors:
        where, when = f"({path}, line {a.line})", _time_text(a.at)
        if a.seq not in hashes:
            how = f"the log was cut back to entry {end}" if a.seq > end else "it was deleted"
            problems.append(f"entry {a.seq}, anchored at {when}, is gone: {how} {where}")
        elif hashes[a.seq] != a.hash:
            problems.append(f"entry {a.seq} no longer has the hash anchored at {when}: "
                            f"the log was rewritten up to there {where}")
    return problems


def verify(store: Store, paths: Sequence[Path],
           progress: Callable[[str], None] | None = None) -> Verification:
    """``audit_verify.verify``, and every anchor of the files that the log no longer
    matches."""
    files = {path: read(path) for path in paths}  # a bad file fails before the long walk
    result = verify_chain(store, progress=progress)
    for path, anchors in files.items():
        result.anchors += len(anchors)
        result.problems.extend(check(store, path, anchors, result.head_seq))
    return result


class ChainBroken(ConflictError):
    """The log does not verify, so its head is not anchored."""

    def __init__(self, result: Verification) -> None:
        super().__init__("The audit log does not verify; anchoring its head would vouch "
                         "for it.", hint="Find out what happened to the entries named.")
        self.result = result


def anchor(store: Store, path: Path, *, now: datetime | None = None) -> Anchor:
    """Append the head to the anchor file (made if absent), once the chain and the
    anchors already in the file verify; raises ``ChainBroken`` otherwise."""
    result = verify(store, [path] if path.exists() else [])
    if not result.ok:
        raise ChainBroken(result)
    if result.head_seq == 0:
        raise ConflictError("The audit log is empty: there is no entry to anchor yet.")
    mark = Anchor(result.head_seq, result.head_hash, now or datetime.now(UTC))
    # A hand-edited last line without its newline must not swallow this one.
    text = ("\n" if _ends_mid_line(path) else "") + mark.text() + "\n"
    with path.open("ab") as f:  # one write in append mode: earlier lines stay as they are
        f.write(text.encode("utf-8"))
        f.flush()
        os.fsync(f.fileno())  # on the disk before we say it is anchored
    return mark


def _ends_mid_line(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) != b"\n"
