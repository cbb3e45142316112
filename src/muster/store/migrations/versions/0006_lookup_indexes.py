"""Indexes for looking persons up one at a time (the service): search by name, birth
date or identifier, and the few history events that name a person's former ids.

Without them each lookup read a whole table: at 1,000,000 persons a search or an
opened record took tens to hundreds of milliseconds instead of about one.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Search ORs the three name keys (and the three identifiers): an index on each lets the
# database combine them instead of scanning every golden record.
GOLDEN_LOOKUPS = ("family_key", "given_key", "middle_key", "birth_date", "national_id",
                  "tax_id", "passport_no")


def upgrade() -> None:
    for column in GOLDEN_LOOKUPS:
        op.create_index(f"ix_golden_records_{column}", "golden_records", [column])
    # Merges and splits name former ids; they are few among millions of events.
    op.create_index("ix_person_events_renames", "person_events", ["id"],
                    sqlite_where=sa.text("old_ids <> '[]'"),
                    postgresql_where=sa.text("old_ids <> '[]'"))


def downgrade() -> None:
    op.drop_index("ix_person_events_renames", "person_events")
    for column in reversed(GOLDEN_LOOKUPS):
        op.drop_index(f"ix_golden_records_{column}", "golden_records")
