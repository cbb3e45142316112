"""The migrations build exactly the schema the code reads and writes (store/schema.py):
a table, column, type or index declared in one and not the other would surface only
on a register upgraded in the field, as an error or as a query without its index."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from muster.store import Store
from muster.store.schema import metadata


def test_a_register_migrated_to_the_head_has_the_declared_schema(store: Store) -> None:
    assert store.current_revision() == store.head_revision()
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
