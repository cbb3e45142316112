"""The system of record: SQLite (embedded default) or PostgreSQL, via SQLAlchemy.

Small reads and writes go through SQLAlchemy; bulk movement goes through Arrow and
ADBC (`store.bulk`). Dialect differences live here and nowhere else.
"""

from muster.store.database import Store, open_store

__all__ = ["Store", "open_store"]
