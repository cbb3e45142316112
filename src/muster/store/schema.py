"""The register's tables, as SQLAlchemy Core metadata (migrations create them)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from muster.limits import NAME_LENGTH

metadata = MetaData()

# Canonical fields of the data contract, with the SQL type each is stored as.
TEXT_FIELDS = (
    "family_name", "given_name", "middle_name", "birth_place", "sex", "national_id",
    "passport_no", "tax_id", "region", "address", "phone", "email", "fitness_category",
    "employer", "occupation", "military_rank", "military_specialty",
)
DATE_FIELDS = ("birth_date", "record_date", "fitness_date", "death_date", "student_until",
               "service_end")
INTEGER_FIELDS = ("dependents",)
# The values a coded field holds in the register: a source's value map turns its own
# codes into these (at ingest), and the law names them (eligibility).
CODED_FIELDS = {"sex": ("M", "F"), "fitness_category": ("A", "B", "C", "D", "E")}
# full_name is not stored: it is split into the three name fields at ingest.
CANONICAL_FIELDS = (
    "family_name", "given_name", "middle_name", "full_name", "birth_date", "birth_place",
    "sex", "national_id", "passport_no", "tax_id", "region", "address", "phone", "email",
    "record_date", "fitness_category", "fitness_date", "death_date", "dependents",
    "student_until", "employer", "occupation", "military_rank", "military_specialty",
    "service_end",
)
# Transliteration-insensitive comparison keys, computed at ingest for linkage.
NAME_KEYS = ("family_key", "given_key", "middle_key")
STORED_FIELDS = TEXT_FIELDS + DATE_FIELDS + INTEGER_FIELDS


def _canonical_columns() -> list[Column[object]]:
    columns: list[Column[object]] = []
    for name in TEXT_FIELDS:
        columns.append(Column(name, Text))
    for name in DATE_FIELDS:
        columns.append(Column(name, Date))
    for name in INTEGER_FIELDS:
        columns.append(Column(name, Integer))
    for name in NAME_KEYS:
        columns.append(Column(name, Text))
    return columns


sources = Table(
    "sources", metadata,
    Column("name", String(NAME_LENGTH), primary_key=True),
    Column("agency", Text),
    Column("declaration", Text, nullable=False),  # JSON of the declaration as added
    Column("added_at", DateTime(timezone=True), nullable=False),
)

batches = Table(
    "batches", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(NAME_LENGTH), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("file_size", BigInteger, nullable=False),
    Column("archived_as", Text),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("rows_read", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("repeated", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("flagged", Integer, nullable=False),
    Column("new", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    UniqueConstraint("source", "file_sha256", name="uq_batches_source_file"),
)

source_records = Table(
    "source_records", metadata,
    Column("source", String(NAME_LENGTH), primary_key=True),
    Column("record_id", Text, primary_key=True),
    Column("batch_id", Integer, nullable=False),  # the batch that wrote this version
    Column("first_batch_id", Integer, nullable=False),
    Column("line", Integer, nullable=False),
    Column("row_hash", String(32), nullable=False),
    Column("raw", Text, nullable=False),  # the row as the source wrote it
    Column("flags", Integer, nullable=False),  # number of field problems
    *_canonical_columns(),
)

record_versions = Table(
    "record_versions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(NAME_LENGTH), nullable=False, index=True),
    Column("record_id", Text, nullable=False),
    Column("batch_id", Integer, nullable=False),
    Column("superseded_by_batch_id", Integer, nullable=False),
    Column("line", Integer, nullable=False),
    Column("row_hash", String(32), nullable=False),
    Column("raw", Text, nullable=False),
)

record_flags = Table(
    "record_flags", metadata,
    Column("source", String(NAME_LENGTH), nullable=False, index=True),
    Column("record_id", Text, nullable=False),
    Column("field", String(40), nullable=False),
    Column("problem", String(40), nullable=False),
    Column("raw_value", Text),
    # A person's records' flags: what an explanation of their eligibility reads.
    Index("ix_record_flags_record", "source", "record_id"),
)

quarantine = Table(
    "quarantine", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(NAME_LENGTH), nullable=False, index=True),
    Column("batch_id", Integer, nullable=False),
    Column("file", Text, nullable=False),
    Column("line", Integer, nullable=False),
    Column("record_id", Text),
    Column("reason", Text, nullable=False),
    Column("raw", Text),
)


# --- Resolution: persons, how records were linked, the review list, history ---------

resolve_runs = Table(
    "resolve_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("engine", String(20), nullable=False),
    Column("mode", String(20), nullable=False),  # full | incremental
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("last_batch", Integer, nullable=False),  # newest batch it saw
    Column("records", Integer, nullable=False),
    Column("persons", Integer, nullable=False),
    Column("links", Integer, nullable=False),
    Column("review", Integer, nullable=False),
    Column("collisions", Integer, nullable=False),
    Column("model", Text, nullable=False),  # the trained Splink model (JSON), for explain
)

persons = Table(
    "persons", metadata,
    Column("person_id", String(20), primary_key=True),
    Column("status", String(10), nullable=False),  # active | retired
    Column("created_run", Integer, nullable=False),
    Column("retired_run", Integer),
    Column("successor", String(20)),  # for a retired person: the person they merged into
)

person_records = Table(
    "person_records", metadata,
    Column("source", String(NAME_LENGTH), primary_key=True),
    Column("record_id", Text, primary_key=True),
    Column("person_id", String(20), nullable=False, index=True),
    Column("run_id", Integer, nullable=False),
)

# One row per pair of records, keyed by the pair: a link is found from its left
# record through the key. On SQLite the table is its key's B-tree (WITHOUT ROWID),
# where a rowid table needed an index beside it on the left record: at 1,000,000
# persons that index was 263 MB, sorted in every full run.
link_edges = Table(
    "link_edges", metadata,
    Column("run_id", Integer, nullable=False),
    Column("source_l", String(NAME_LENGTH), primary_key=True),
    Column("record_id_l", Text, primary_key=True),
    Column("source_r", String(NAME_LENGTH), primary_key=True),
    Column("record_id_r", Text, primary_key=True),
    Column("rule", Text, nullable=False),  # identifier name(s), comma-separated, or "match"
    Column("match_weight", Float),
    Column("outcome", String(10), nullable=False),  # linked | refused | review
    Column("reason", Text),
    Column("contributions", Text),  # JSON: comparison -> [level, weight]
    sqlite_with_rowid=False,
)

# A link between two records of one person (linked, supports) is found from its left
# record; only links across persons are looked up from their right one. Indexing just
# those (a few percent of the rows) saves sorting ten million keys in a full run.
# Queries spell the condition out literally, as here: SQLite uses a partial index only
# for a query whose WHERE clause contains the index's condition as written.
CROSS_PERSON = "outcome IN ('refused', 'review')"
Index("ix_link_edges_r_across", link_edges.c.source_r, link_edges.c.record_id_r,
      sqlite_where=text(CROSS_PERSON), postgresql_where=text(CROSS_PERSON))

review_pairs = Table(
    "review_pairs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, nullable=False),
    Column("kind", String(30), nullable=False),  # uncertain | ambiguous | identifier_collision
    Column("source_l", String(NAME_LENGTH), nullable=False),
    Column("record_id_l", Text, nullable=False),
    Column("source_r", String(NAME_LENGTH), nullable=False),
    Column("record_id_r", Text, nullable=False),
    Column("match_weight", Float),
    Column("detail", Text, nullable=False),
    Column("status", String(10), nullable=False),  # open | decided
    # The person of each record and their golden region, kept by resolution
    # (resolve.write): the queue finds an officer's pairs, and those of persons held
    # in review, without joining every open pair to two persons and their golden
    # records (1.1 s for an officer at 1,000,000 persons).
    Column("person_l", String(20)),
    Column("person_r", String(20)),
    Column("region_l", Text),
    Column("region_r", Text),
    # Whether a person's records are in review (eligibility holds them), by either side.
    Index("ix_review_pairs_l", "source_l", "record_id_l"),
    Index("ix_review_pairs_r", "source_r", "record_id_r"),
)

person_events = Table(
    "person_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(20), nullable=False),  # created | merged | split
    Column("person_id", String(20), nullable=False, index=True),
    Column("old_ids", Text, nullable=False),  # JSON list
    Column("new_ids", Text, nullable=False),  # JSON list
    Column("detail", Text, nullable=False),
)

# Where each golden value came from (store/provenance.py): a field whose records agree
# names its source in golden_provenance; a field whose records disagree keeps every
# value in golden_values, the chosen one and the others.
golden_values = Table(
    "golden_values", metadata,
    Column("person_id", String(20), nullable=False, index=True),
    Column("field", String(40), nullable=False),
    Column("value", Text, nullable=False),
    Column("source", String(NAME_LENGTH), nullable=False),
    Column("record_id", Text, nullable=False),
    Column("record_date", Date),
    Column("support", Integer, nullable=False),  # records of the person agreeing on it
    Column("chosen", Integer, nullable=False),  # 1: the golden value; 0: a kept alternative
    Column("conflict", Integer, nullable=False),  # 1: the field has disagreeing values
)

golden_records = Table(
    "golden_records", metadata,
    Column("person_id", String(20), primary_key=True),
    Column("records", Integer, nullable=False),
    Column("conflicts", Integer, nullable=False),
    *_canonical_columns(),
)

golden_provenance = Table(
    "golden_provenance", metadata,
    Column("person_id", String(20), primary_key=True),
    # JSON {field: [source, record_id, record_date, support]} of the agreed fields
    Column("fields", Text, nullable=False),
)


# Looking persons up one at a time (the service, migration 0006): search ORs the name
# keys and the identifiers, so each needs its own index; merges and splits are the few
# history events that name former ids.
for _column in ("family_key", "given_key", "middle_key", "birth_date", "national_id",
                "tax_id", "passport_no"):
    Index(f"ix_golden_records_{_column}", golden_records.c[_column])
# The dashboard counts persons per region, and an officer's counts are those of their
# regions only: without it, both read every golden record (1.2 s at 1,000,000 persons
# on SQLite; migration 0013).
Index("ix_golden_records_region", golden_records.c.region)
Index("ix_person_events_renames", person_events.c.id,
      sqlite_where=person_events.c.old_ids != "[]",
      postgresql_where=person_events.c.old_ids != "[]")


# --- Eligibility: the law applied to every person on a date (issue 4) ------------------

# Eligibility reads the conflicting golden values on every run; they are few.
Index("ix_golden_values_conflicts", golden_values.c.person_id, golden_values.c.field,
      sqlite_where=golden_values.c.conflict == 1, postgresql_where=golden_values.c.conflict == 1)

eligibility_runs = Table(
    "eligibility_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("as_of", Date, nullable=False, index=True),
    Column("law_name", String(NAME_LENGTH), nullable=False),
    Column("law_version", String(NAME_LENGTH), nullable=False),
    Column("law_sha256", String(64), nullable=False),
    Column("law_text", Text, nullable=False),  # the law file as applied, for later audit
    Column("profile", String(NAME_LENGTH), nullable=False),
    Column("resolve_run", Integer, nullable=False),  # the golden records it read
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("persons", Integer, nullable=False),
    Column("superseded_by", Integer),  # a later run for the same date replaced it
)

eligibility_results = Table(
    "eligibility_results", metadata,
    Column("run_id", Integer, primary_key=True),
    Column("person_id", String(20), primary_key=True),
    Column("region", Text),
    Column("status", String(30), nullable=False),
    Column("ground", String(40), nullable=False),  # the winning ground
    Column("grounds", Text, nullable=False),  # every ground that applied, comma-separated
    Column("until", Date),  # deferred: the deferment's last day (empty: open-ended)
    Column("subject_from", Date),  # not subject by age: the day the person becomes subject
)

# The ground that holds a person whose records are in review (eligibility.rules). The
# review queue puts the pairs of those persons first, on every view: indexed, they are
# a few thousand entries instead of a read of the run's million results. Spelt out
# literally in queries, as CROSS_PERSON is.
IN_REVIEW_GROUND = "identity_in_review"
IN_REVIEW = f"ground = '{IN_REVIEW_GROUND}'"
Index("ix_eligibility_results_in_review", eligibility_results.c.run_id,
      eligibility_results.c.person_id,
      sqlite_where=text(IN_REVIEW), postgresql_where=text(IN_REVIEW))

# The dashboard's statuses per region of the newest evaluation, counted from the index
# alone (migration 0013).
Index("ix_eligibility_results_region_status", eligibility_results.c.run_id,
      eligibility_results.c.region, eligibility_results.c.status)


# --- Call-up, notices and casework (issue 5) -------------------------------------------

callup_plans = Table(
    "callup_plans", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("as_of", Date, nullable=False),
    Column("category", String(20), nullable=False),  # conscript | reserve
    Column("eligibility_run", Integer, nullable=False),  # the evaluation it read
    Column("law_name", String(NAME_LENGTH), nullable=False),
    Column("law_version", String(NAME_LENGTH), nullable=False),
    Column("seed", Text, nullable=False),  # lowercase hex
    Column("quotas", Text, nullable=False),  # JSON: region -> quota
    Column("candidates", Integer, nullable=False),
    Column("selected", Integer, nullable=False),
    Column("shortfall", Text, nullable=False),  # JSON: region -> places left unfilled
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("digest", String(64), nullable=False),  # sha256 of the plan's canonical text
)

callup_candidates = Table(
    "callup_candidates", metadata,
    Column("plan_id", Integer, primary_key=True),
    Column("person_id", String(20), primary_key=True),
    Column("region", Text, nullable=False),
)

callup_selection = Table(
    "callup_selection", metadata,
    Column("plan_id", Integer, primary_key=True),
    Column("region", Text, primary_key=True),
    Column("rank", Integer, primary_key=True),
    Column("person_id", String(20), nullable=False),
)

notices = Table(
    "notices", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plan_id", Integer, nullable=False),
    Column("person_id", String(20), nullable=False, index=True),
    Column("region", Text, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # issued | sent | delivered | ...
    Column("file", Text, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("plan_id", "person_id", name="uq_notices_plan_person"),
)

notice_events = Table(
    "notice_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notice_id", Integer, nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("from_status", String(20)),
    Column("to_status", String(20), nullable=False),
    Column("evidence", Text),  # delivery: the evidence recorded (receipt number, signature)
    Column("reason", Text),
)

cases = Table(
    "cases", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person_id", String(20), nullable=False, index=True),
    Column("kind", String(20), nullable=False),  # clarification | correction | claim | appeal
    Column("status", String(20), nullable=False),  # open | resolved | approved | ...
    Column("reason", Text, nullable=False),  # why the case was opened
    Column("detail", Text, nullable=False),  # JSON: proposed values, ground, evidence
    Column("plan_id", Integer),  # an appeal: the plan whose selection it contests
    Column("opened_by", Text, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", Text),
    Column("decided_at", DateTime(timezone=True)),
    Column("decision_reason", Text),
    Index("ix_cases_status_kind", "status", "kind"),
)

case_events = Table(
    "case_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, nullable=False, index=True),
    Column("person_id", String(20), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(20), nullable=False),  # opened | decided | values_verified
    Column("detail", Text, nullable=False),
)

# Which person an officer-verified source record is about: resolution links it to
# that person's records (a must-link, "verified by officer").
record_pins = Table(
    "record_pins", metadata,
    Column("source", String(NAME_LENGTH), primary_key=True),
    Column("record_id", Text, primary_key=True),
    Column("person_id", String(20), nullable=False, index=True),
    Column("case_id", Integer, nullable=False),
)

# An officer's answer to a review pair: the same person, or different persons. The
# newest decision on a pair holds; every resolution run after it honours it (a "same"
# pair is linked unless the records cannot be one person; a "different" pair is a
# cannot-link). Every decision is kept: who decided what, when and why.
review_decisions = Table(
    "review_decisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_l", String(NAME_LENGTH), nullable=False),
    Column("record_id_l", Text, nullable=False),
    Column("source_r", String(NAME_LENGTH), nullable=False),
    Column("record_id_r", Text, nullable=False),
    Column("decision", String(10), nullable=False),  # same | different
    Column("actor", String(NAME_LENGTH), nullable=False),
    Column("reason", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("applied_run", Integer),  # the first resolution run that honoured it
    Index("ix_review_decisions_pair", "source_l", "record_id_l", "source_r", "record_id_r"),
    Index("ix_review_decisions_r", "source_r", "record_id_r"),
)


# --- The service: accounts, API tokens and the tamper-evident audit log (issue 6) -------

accounts = Table(
    "accounts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(NAME_LENGTH), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),  # Argon2id, PHC string
    Column("role", String(20), nullable=False),  # administrator | analyst | officer | citizen
    Column("regions", Text, nullable=False),  # officer: JSON list of region codes; else []
    Column("person_id", String(20)),  # citizen: the one person they are
    Column("disabled", Integer, nullable=False),  # 1: may no longer log in or use tokens
    Column("created_at", DateTime(timezone=True), nullable=False),
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", Integer, nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),  # never the token itself
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Failed logins within the throttle's window, shared by every worker of the service.
login_failures = Table(
    "login_failures", metadata,
    Column("username", String(NAME_LENGTH), nullable=False, index=True),
    Column("failed_at", Float, nullable=False),  # seconds since the epoch
)

# Each entry's hash covers its content and the previous entry's hash; audit_head holds
# the newest (seq, hash), so a deleted last entry is caught as well.
audit_log = Table(
    "audit_log", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("role", String(20), nullable=False),
    Column("action", String(40), nullable=False),
    Column("person_id", String(20), index=True),
    Column("purpose", Text),
    Column("detail", Text, nullable=False),  # JSON
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)
