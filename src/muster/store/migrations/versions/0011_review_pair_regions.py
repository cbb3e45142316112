"""Keep the region of each review pair's persons on the pair.

A regional officer's review queue joined every open pair to the person and golden
record of both of its records to find those of the officer's regions: 1.1 s on
PostgreSQL and 2 s on SQLite at 1,000,000 persons, on the page officers work from.
Resolution now writes the regions with the pairs; this fills them in for the open
pairs of an existing register.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _region(side: str) -> str:
    return (f"(SELECT g.region FROM person_records p JOIN golden_records g "
            f"ON g.person_id = p.person_id WHERE p.source = review_pairs.source_{side} "
            f"AND p.record_id = review_pairs.record_id_{side})")


def upgrade() -> None:
    op.add_column("review_pairs", sa.Column("region_l", sa.Text))
    op.add_column("review_pairs", sa.Column("region_r", sa.Text))
    op.execute(f"UPDATE review_pairs SET region_l = {_region('l')}, "
               f"region_r = {_region('r')} WHERE status = 'open'")


def downgrade() -> None:
    with op.batch_alter_table("review_pairs") as batch:
        batch.drop_column("region_r")
        batch.drop_column("region_l")
