"""One writer of the register at a time, on PostgreSQL as on SQLite.

SQLite has a single writer, and a run whose snapshot went stale fails when it comes
to write (nothing is lost). PostgreSQL would let an ingest commit in the middle of a
resolution: the run would then note the new batch as resolved without having read
its records, and no later incremental run would look at them again, a record
silently dropped. So ingest, resolution and eligibility runs take one
transaction-scoped advisory lock before they read: they run one after another, in
the order they asked, while reads (the service, exports) go on. The lock ends with
the transaction, also when a process dies.
"""

from __future__ import annotations

from muster.store.bulk import BulkConnection

REGISTER_LOCK = 0x6D757374  # "must": any fixed key shared by every muster process


def lock_register(db: BulkConnection) -> None:
    """Wait until no other ingest, resolution or eligibility run holds the register."""
    if db.dialect == "postgresql":
        db.execute(f"SELECT pg_advisory_xact_lock({REGISTER_LOCK})")
