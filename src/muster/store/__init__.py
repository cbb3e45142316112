"""The system of record: SQLite (embedded default) or PostgreSQL, via SQLAlchemy.

Small reads and writes go through SQLAlchemy; bulk movement goes through Arrow and
ADBC (`store.bulk`). Dialect differences live here and nowhere else.
"""

from muster.store.checkpoints import checkpoints_in_background
from muster.store.database import Reader, Store, open_store, reading

__all__ = ["Reader", "Store", "checkpoints_in_background", "open_store", "reading"]
