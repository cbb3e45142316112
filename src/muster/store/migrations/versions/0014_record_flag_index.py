"""Index the field flags by record.

Eligibility holds a person while a record of theirs has a value about a ground
that ingest could not read (rules.UNREADABLE_GROUND); explaining one person reads
the flags of their records, which were indexed by source alone.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_record_flags_record", "record_flags", ["source", "record_id"])


def downgrade() -> None:
    op.drop_index("ix_record_flags_record", "record_flags")
