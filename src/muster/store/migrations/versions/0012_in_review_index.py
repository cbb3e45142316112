"""Index the eligibility results that hold a person for records in review.

The review queue puts the pairs of those persons first on every view, and found them
by reading all of the newest evaluation's results (a million at 1,000,000 persons,
twice: once for each side of the pairs).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

IN_REVIEW = sa.text("ground = 'identity_in_review'")


def upgrade() -> None:
    op.create_index("ix_eligibility_results_in_review", "eligibility_results",
                    ["run_id", "person_id"], sqlite_where=IN_REVIEW, postgresql_where=IN_REVIEW)


def downgrade() -> None:
    op.drop_index("ix_eligibility_results_in_review", "eligibility_results")
