"""Sources, batches, source records with history and flags, quarantine.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
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


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("agency", sa.Text),
        sa.Column("declaration", sa.Text, nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("file_size", sa.BigInteger, nullable=False),
        sa.Column("archived_as", sa.Text),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        *[sa.Column(c, sa.Integer, nullable=False) for c in (
            "rows_read", "accepted", "repeated", "quarantined", "flagged", "new", "updated",
            "unchanged")],
        sa.UniqueConstraint("source", "file_sha256", name="uq_batches_source_file"),
    )
    op.create_table(
        "source_records",
        sa.Column("source", sa.String(100), primary_key=True),
        sa.Column("record_id", sa.Text, primary_key=True),
        sa.Column("batch_id", sa.Integer, nullable=False),
        sa.Column("first_batch_id", sa.Integer, nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("row_hash", sa.String(32), nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("flags", sa.Integer, nullable=False),
        *[sa.Column(c, sa.Text) for c in TEXT_FIELDS],
        *[sa.Column(c, sa.Date) for c in DATE_FIELDS],
        sa.Column("dependents", sa.Integer),
        *[sa.Column(c, sa.Text) for c in NAME_KEYS],
    )
    op.create_table(
        "record_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("record_id", sa.Text, nullable=False),
        sa.Column("batch_id", sa.Integer, nullable=False),
        sa.Column("superseded_by_batch_id", sa.Integer, nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("row_hash", sa.String(32), nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
    )
    op.create_index("ix_record_versions_source", "record_versions", ["source"])
    op.create_table(
        "record_flags",
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("record_id", sa.Text, nullable=False),
        sa.Column("field", sa.String(40), nullable=False),
        sa.Column("problem", sa.String(40), nullable=False),
        sa.Column("raw_value", sa.Text),
    )
    op.create_index("ix_record_flags_source", "record_flags", ["source"])
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("batch_id", sa.Integer, nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("record_id", sa.Text),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("raw", sa.Text),
    )
    op.create_index("ix_quarantine_source", "quarantine", ["source"])


def downgrade() -> None:
    for table in ("quarantine", "record_flags", "record_versions", "source_records",
                  "batches", "sources"):
        op.drop_table(table)
