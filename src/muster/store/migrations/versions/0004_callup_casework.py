"""Call-up plans (candidates, selection), notices with their events, casework
(cases, case events) and the pins of officer-verified records to persons.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callup_plans",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("eligibility_run", sa.Integer, nullable=False),
        sa.Column("law_name", sa.String(100), nullable=False),
        sa.Column("law_version", sa.String(100), nullable=False),
        sa.Column("seed", sa.Text, nullable=False),
        sa.Column("quotas", sa.Text, nullable=False),
        sa.Column("candidates", sa.Integer, nullable=False),
        sa.Column("selected", sa.Integer, nullable=False),
        sa.Column("shortfall", sa.Text, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
    )
    op.create_table(
        "callup_candidates",
        sa.Column("plan_id", sa.Integer, primary_key=True),
        sa.Column("person_id", sa.String(20), primary_key=True),
        sa.Column("region", sa.Text, nullable=False),
    )
    op.create_table(
        "callup_selection",
        sa.Column("plan_id", sa.Integer, primary_key=True),
        sa.Column("region", sa.Text, primary_key=True),
        sa.Column("rank", sa.Integer, primary_key=True),
        sa.Column("person_id", sa.String(20), nullable=False),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("plan_id", sa.Integer, nullable=False),
        sa.Column("person_id", sa.String(20), nullable=False),
        sa.Column("region", sa.Text, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("plan_id", "person_id", name="uq_notices_plan_person"),
    )
    op.create_index("ix_notices_person_id", "notices", ["person_id"])
    op.create_table(
        "notice_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("notice_id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("from_status", sa.String(20)),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("evidence", sa.Text),
        sa.Column("reason", sa.Text),
    )
    op.create_index("ix_notice_events_notice_id", "notice_events", ["notice_id"])
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("plan_id", sa.Integer),
        sa.Column("opened_by", sa.Text, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Text),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decision_reason", sa.Text),
    )
    op.create_index("ix_cases_person_id", "cases", ["person_id"])
    op.create_index("ix_cases_status_kind", "cases", ["status", "kind"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("person_id", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])
    op.create_table(
        "record_pins",
        sa.Column("source", sa.String(100), primary_key=True),
        sa.Column("record_id", sa.Text, primary_key=True),
        sa.Column("person_id", sa.String(20), nullable=False),
        sa.Column("case_id", sa.Integer, nullable=False),
    )
    op.create_index("ix_record_pins_person_id", "record_pins", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_record_pins_person_id", "record_pins")
    op.drop_table("record_pins")
    op.drop_index("ix_case_events_case_id", "case_events")
    op.drop_table("case_events")
    op.drop_index("ix_cases_status_kind", "cases")
    op.drop_index("ix_cases_person_id", "cases")
    op.drop_table("cases")
    op.drop_index("ix_notice_events_notice_id", "notice_events")
    op.drop_table("notice_events")
    op.drop_index("ix_notices_person_id", "notices")
    op.drop_table("notices")
    op.drop_table("callup_selection")
    op.drop_table("callup_candidates")
    op.drop_table("callup_plans")
