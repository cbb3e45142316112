"""Eligibility: evaluation runs (law version, as-of date), per-person results, and a
partial index on the few conflicting golden values.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Conflicting values are few; eligibility looks for unsettled identity conflicts
    # among them on every run without reading every golden value.
    op.create_index("ix_golden_values_conflicts", "golden_values", ["person_id", "field"],
                    sqlite_where=sa.text("conflict = 1"),
                    postgresql_where=sa.text("conflict = 1"))
    op.create_table(
        "eligibility_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("law_name", sa.String(100), nullable=False),
        sa.Column("law_version", sa.String(100), nullable=False),
        sa.Column("law_sha256", sa.String(64), nullable=False),
        sa.Column("law_text", sa.Text, nullable=False),
        sa.Column("profile", sa.String(100), nullable=False),
        sa.Column("resolve_run", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("persons", sa.Integer, nullable=False),
        sa.Column("superseded_by", sa.Integer),
    )
    op.create_index("ix_eligibility_runs_as_of", "eligibility_runs", ["as_of"])
    op.create_table(
        "eligibility_results",
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("person_id", sa.String(20), primary_key=True),
        sa.Column("region", sa.Text),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("ground", sa.String(40), nullable=False),
        sa.Column("grounds", sa.Text, nullable=False),
        sa.Column("until", sa.Date),
        sa.Column("subject_from", sa.Date),
    )


def downgrade() -> None:
    op.drop_table("eligibility_results")
    op.drop_index("ix_eligibility_runs_as_of", "eligibility_runs")
    op.drop_table("eligibility_runs")
    op.drop_index("ix_golden_values_conflicts", "golden_values")
