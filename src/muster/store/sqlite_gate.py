"""SQLite: keep the process's two copies of the SQLite library from meeting.

SQLAlchemy reaches SQLite through Python's sqlite3 module (the system library), and
bulk work through the ADBC driver, which bundles a copy of its own. SQLite
coordinates connections with POSIX locks, and POSIX locks do not exclude each other
within one process: two copies of the library cannot see each other's locks
(https://sqlite.org/howtocorrupt.html, "multiple copies of SQLite"). A
standard-library connection that closes while an ADBC one is open takes itself for
the last one, checkpoints and deletes the write-ahead log under the other's feet;
a checkpoint by one copy overwrites pages a reader of the other still needs. The
result is a lost commit or a "database disk image is malformed".

So, per database file, connections of one library and of the other are never open
at the same time. Any number of either kind may be open together; a thread asking
for the other kind waits until the last one closes, and while it waits no new
connection of the first kind is let in (so a busy service cannot starve a bulk
read). A thread that holds one kind and asks for the other would wait for itself:
that is a bug in the caller, and it is raised as one.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, Literal

Library = Literal["stdlib", "adbc"]


class _Gate:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._library: Library | None = None
        self._open = 0
        self._waiting: Library | None = None
        self._held: dict[int, tuple[Library, int]] = {}  # thread -> (library, count)

    def enter(self, library: Library, alongside: bool = False) -> int:
        me = threading.get_ident()
        with self._cond:
            held = self._held.get(me)
            if held is not None and held[0] != library and held[1] > 0:
                raise RuntimeError(
                    f"This thread has a {held[0]} SQLite connection open and asked for a "
                    f"{library} one: close the first before opening the second.")
            count = held[1] if held is not None else 0
            try:
                while count == 0 and not self._may_enter(library, alongside):
                    if self._library not in (None, library) and self._waiting is None:
                        self._waiting = library
                    self._cond.wait()
            finally:  # entering, or giving up (interrupted): others may go on
                if self._waiting == library:
                    self._waiting = None
                    self._cond.notify_all()
            self._library = library
            self._open += 1
            self._held[me] = (library, count + 1)
            return me

    def _may_enter(self, library: Library, alongside: bool) -> bool:
        if alongside and self._library == library:
            return True
        return self._library in (None, library) and self._waiting in (None, library)

    def leave(self, holder: int) -> None:
        with self._cond:
            library, count = self._held[holder]
            if count <= 1:
                del self._held[holder]
            else:
                self._held[holder] = (library, count - 1)
            self._open -= 1
            if self._open == 0:
                self._library = None
                self._cond.notify_all()


_gates: dict[str, _Gate] = {}
_gates_lock = threading.Lock()


def _gate(path: str) -> _Gate:
    with _gates_lock:
        return _gates.setdefault(os.path.realpath(path), _Gate())


@contextmanager
def adbc_connection(path: str, alongside: bool = False) -> Iterator[None]:
    """Hold the database for the ADBC driver's copy of SQLite for the block.

    ``alongside``: for a connection opened on behalf of one already open (another
    thread's): it joins it even when the other library waits, which would otherwise
    wait for the very connection it serves.
    """
    gate = _gate(path)
    holder = gate.enter("adbc", alongside)
    try:
        yield
    finally:
        gate.leave(holder)


class GatedConnection(sqlite3.Connection):
    """A standard-library connection that holds its database until it is closed
    (pass it as sqlite3's ``factory``)."""

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        self._gate = _gate(str(database))
        self._holder: int | None = self._gate.enter("stdlib")
        try:
            super().__init__(database, *args, **kwargs)
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        holder, self._holder = self._holder, None
        if holder is not None:
            self._gate.leave(holder)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()

    def __del__(self) -> None:  # dropped without close(): close it before letting go
        if getattr(self, "_holder", None) is not None:
            with suppress(sqlite3.Error):
                super().close()
            self._release()
