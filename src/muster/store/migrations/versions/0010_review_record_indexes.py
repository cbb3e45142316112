"""Index review pairs and officers' decisions by the record on each side.

Eligibility holds a person whose record is in review: finding whether one person's
few records are gathered the whole review list, 260 ms per person at 1,000,000
persons, on every citizen's page and every person casework re-decides.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_review_pairs_l", "review_pairs", ["source_l", "record_id_l"])
    op.create_index("ix_review_pairs_r", "review_pairs", ["source_r", "record_id_r"])
    op.create_index("ix_review_decisions_r", "review_decisions", ["source_r", "record_id_r"])


def downgrade() -> None:
    op.drop_index("ix_review_decisions_r", "review_decisions")
    op.drop_index("ix_review_pairs_r", "review_pairs")
    op.drop_index("ix_review_pairs_l", "review_pairs")
