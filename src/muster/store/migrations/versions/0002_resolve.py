"""Resolution: runs, persons, record membership, link evidence, review, history, golden.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TEXT_FIELDS = (
    "family_name", "given_name", "middle_name", "birth_place", "sex", "national_id",
    "passport_no", "tax_id", "region", "address", "phone", "email", "fitness_category",
    "employer", "occupation", "military_rank", "military_specialty",
)
DATE_FIELDS = ("birth_date", "record_date", "fitness_date", "death_date", "student_until",
               "service_end")
NAME_KEYS = ("family_key", "given_key", "middle_key")


def _pair_columns() -> list[sa.Column[str]]:
    return [
        sa.Column("source_l", sa.String(100), nullable=False),
        sa.Column("record_id_l", sa.Text, nullable=False),
        sa.Column("source_r", sa.String(100), nullable=False),
        sa.Column("record_id_r", sa.Text, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "resolve_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("engine", sa.String(20), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_batch", sa.Integer, nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("persons", sa.Integer, nullable=False),
        sa.Column("links", sa.Integer, nullable=False),
        sa.Column("review", sa.Integer, nullable=False),
        sa.Column("collisions", sa.Integer, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
    )
    op.create_table(
        "persons",
        sa.Column("person_id", sa.String(20), primary_key=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_run", sa.Integer, nullable=False),
        sa.Column("retired_run", sa.Integer),
        sa.Column("successor", sa.String(20)),
    )
    op.create_table(
        "person_records",
        sa.Column("source", sa.String(100), primary_key=True),
        sa.Column("record_id", sa.Text, primary_key=True),
        sa.Column("person_id", sa.String(20), nullable=False),
        sa.Column("run_id", sa.Integer, nullable=False),
    )
    op.create_index("ix_person_records_person_id", "person_records", ["person_id"])
    op.create_table(
        "link_edges",
        sa.Column("run_id", sa.Integer, nullable=False),
        *_pair_columns(),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("match_weight", sa.Float),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("contributions", sa.Text),
    )
    op.create_index("ix_link_edges_l", "link_edges", ["source_l", "record_id_l"])
    op.create_index("ix_link_edges_r", "link_edges", ["source_r", "record_id_r"])
    op.create_table(
        "review_pairs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        *_pair_columns(),
        sa.Column("match_weight", sa.Float),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
    )
    op.create_table(
        "person_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("person_id", sa.String(20), nullable=False),
        sa.Column("old_ids", sa.Text, nullable=False),
        sa.Column("new_ids", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_person_events_person_id", "person_events", ["person_id"])
    op.create_table(
        "golden_values",
        sa.Column("person_id", sa.String(20), nullable=False),
        sa.Column("field", sa.String(40), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("record_id", sa.Text, nullable=False),
        sa.Column("record_date", sa.Date),
        sa.Column("support", sa.Integer, nullable=False),
        sa.Column("chosen", sa.Integer, nullable=False),
        sa.Column("conflict", sa.Integer, nullable=False),
    )
    op.create_index("ix_golden_values_person_id", "golden_values", ["person_id"])
    op.create_table(
        "golden_records",
        sa.Column("person_id", sa.String(20), primary_key=True),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("conflicts", sa.Integer, nullable=False),
        *[sa.Column(name, sa.Text) for name in TEXT_FIELDS],
        *[sa.Column(name, sa.Date) for name in DATE_FIELDS],
        sa.Column("dependents", sa.Integer),
        *[sa.Column(name, sa.Text) for name in NAME_KEYS],
    )


def downgrade() -> None:
    for table in ("golden_records", "golden_values", "person_events", "review_pairs",
                  "link_edges", "person_records", "persons", "resolve_runs"):
        op.drop_table(table)
