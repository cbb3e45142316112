"""Officers' decisions on review pairs: the same person, or different persons.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source_l", sa.String(100), nullable=False),
        sa.Column("record_id_l", sa.Text, nullable=False),
        sa.Column("source_r", sa.String(100), nullable=False),
        sa.Column("record_id_r", sa.Text, nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_run", sa.Integer),
    )
    op.create_index("ix_review_decisions_pair", "review_decisions",
                    ["source_l", "record_id_l", "source_r", "record_id_r"])


def downgrade() -> None:
    op.drop_index("ix_review_decisions_pair", "review_decisions")
    op.drop_table("review_decisions")
