"""Keep the sources of a person's agreed golden values with the person.

golden_values held a row for every value of every field of every person: at
1,000,000 persons some fourteen million rows, most of them for fields on which all
of the person's records agree, and writing them was the largest part of writing the
golden records. Such a field now names its source in golden_provenance (one row per
person, JSON {field: [source, record_id, record_date, support]}); golden_values keeps
the contested fields, those whose records hold more than one value
(store/provenance.py). This moves an existing register's agreed fields there.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# A chosen value with no other value of its field beside it.
_AGREED = ("v.chosen = 1 AND NOT EXISTS (SELECT 1 FROM golden_values o "
           "WHERE o.person_id = v.person_id AND o.field = v.field AND o.chosen = 0)")


def upgrade() -> None:
    op.create_table(
        "golden_provenance",
        sa.Column("person_id", sa.String(20), primary_key=True),
        sa.Column("fields", sa.Text, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        agreed = ("CAST(json_object_agg(v.field, json_build_array(v.source, v.record_id, "
                  "v.record_date, v.support)) AS TEXT)")
    else:
        agreed = ("json_group_object(v.field, json_array(v.source, v.record_id, "
                  "v.record_date, v.support))")
    op.execute(f"""
        INSERT INTO golden_provenance (person_id, fields)
        SELECT g.person_id, coalesce(a.fields, '{{}}') FROM golden_records g
        LEFT JOIN (SELECT v.person_id, {agreed} AS fields FROM golden_values v
                   WHERE {_AGREED} GROUP BY v.person_id) a ON a.person_id = g.person_id
    """)
    op.execute("DELETE FROM golden_values WHERE chosen = 1 AND NOT EXISTS (SELECT 1 FROM "
               "golden_values o WHERE o.person_id = golden_values.person_id "
               "AND o.field = golden_values.field AND o.chosen = 0)")


def downgrade() -> None:
    bind = op.get_bind()
    columns = [c["name"] for c in sa.inspect(bind).get_columns("golden_records")]
    value = " ".join(f"WHEN '{c}' THEN CAST(g.{c} AS TEXT)" for c in columns)
    if bind.dialect.name == "postgresql":
        each = "json_each(CAST(a.fields AS json)) j"
        part = "(j.value ->> {})".format
        record_date, support = f"CAST({part(2)} AS DATE)", f"CAST({part(3)} AS INTEGER)"
    else:
        each = "json_each(a.fields) j"
        part = "json_extract(j.value, '$[{}]')".format
        record_date, support = part(2), part(3)
    op.execute(f"""
        INSERT INTO golden_values (person_id, field, value, source, record_id, record_date,
                                   support, chosen, conflict)
        SELECT a.person_id, j.key, CASE j.key {value} END, {part(0)}, {part(1)},
               {record_date}, {support}, 1, 0
        FROM golden_provenance a JOIN golden_records g ON g.person_id = a.person_id, {each}
    """)
    op.drop_table("golden_provenance")
