"""Index links by their right record only where they cross persons (refused, review).

A link inside one person is always found from its left record, so the full index on
the right record was ten million keys that a full resolution at 1,000,000 persons spent
20 to 30 s sorting, for lookups of a few hundred thousand links.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CROSS_PERSON = sa.text("outcome IN ('refused', 'review')")


def upgrade() -> None:
    op.drop_index("ix_link_edges_r", "link_edges")
    op.create_index("ix_link_edges_r_across", "link_edges", ["source_r", "record_id_r"],
                    sqlite_where=CROSS_PERSON, postgresql_where=CROSS_PERSON)


def downgrade() -> None:
    op.drop_index("ix_link_edges_r_across", "link_edges")
    op.create_index("ix_link_edges_r", "link_edges", ["source_r", "record_id_r"])
