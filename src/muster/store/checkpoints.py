"""SQLite: copy committed bulk writes from the WAL into the database beside the work.

In WAL mode a commit only appends pages to the write-ahead log; a checkpoint later
copies them into the database file. By default the committing connection does that
copy itself, or, being the last connection to close, does it then: either way a bulk
load of one source waits for its 600 MB to be copied before the next source can
start (a quarter of `ingest --all` on a million persons). Inside
`checkpoints_in_background`, each bulk commit hands the copy to a second thread,
which checkpoints passively (it copies what is committed and never blocks a writer
or a reader) while the work goes on. Whatever is left when the block ends is copied
then, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from muster.store.database import Store
from muster.store.sqlite_gate import adbc_connection


class BackgroundCheckpoints:
    def __init__(self, path: str) -> None:
        self._path = path
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def request(self) -> None:
        """Start copying everything committed so far. Returns once the copying
        connection is open: the committing connection, closing after this, is then not
        the last one, and leaves the copy to it."""
        self.wait()
        opened = threading.Event()
        self._thread = threading.Thread(target=self._checkpoint, args=(opened,),
                                        name="muster-checkpoint", daemon=True)
        self._thread.start()
        opened.wait()

    def wait(self) -> None:
        """Until the copy in progress, if any, is done."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _checkpoint(self, opened: threading.Event) -> None:
        # Through the ADBC driver, whose copy of SQLite is the bulk writer's: see
        # store.sqlite_gate. It joins the committing connection, still open.
        import adbc_driver_sqlite.dbapi as driver

        try:
            with adbc_connection(self._path, alongside=True):
                conn = driver.connect(self._path, autocommit=True)
                try:
                    with conn.cursor() as cur:
                        cur.execute("PRAGMA busy_timeout=30000")
                        # A first read makes the connection hold the database (WAL mode
                        # keeps a shared lock from then on).
                        cur.execute("SELECT count(*) FROM sqlite_master")
                        cur.fetchall()
                        opened.set()
                        cur.execute("PRAGMA wal_checkpoint(PASSIVE)")
                        cur.fetchall()
                finally:
                    conn.close()
        except BaseException as exc:  # handed to the thread that waits for us
            self._error = exc
        finally:
            opened.set()


@contextmanager
def checkpoints_in_background(store: Store) -> Iterator[None]:
    """Bulk commits inside this block are checkpointed by a second thread (SQLite)."""
    if store.dialect != "sqlite" or store.checkpoints is not None:
        yield
        return
    checkpoints = BackgroundCheckpoints(store.adbc_uri())
    store.checkpoints = checkpoints
    try:
        yield
    finally:
        store.checkpoints = None
        checkpoints.wait()
