"""The rules of the law: one per ground, each a status, a condition and maybe a date.

The law file gives the parameters; these objects say what the parameters mean. A
person's status is decided by precedence over every rule that applies

    not_subject > exempt > needs_clarification > deferred > eligible

and every applying ground is kept. Within a status the first listed rule wins;
among deferments an open-ended one wins over a dated one, and of dated ones the
latest end wins, so the status's ``until`` is when the deferment really ends. A
person no rule covers is never eligible: ``needs_clarification`` (``unclassified``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from muster.eligibility.dates import add_months
from muster.eligibility.dialect import add_months_sql, text_sql
from muster.eligibility.expr import (
    AgeAtLeast,
    And,
    AtLeast,
    Context,
    Expr,
    Facts,
    Flag,
    Missing,
    Not,
    OlderThanMonths,
    OneOf,
    OnOrAfterAsOf,
    OnOrBeforeAsOf,
    Or,
    Present,
    WithinMonths,
    age_above,
)
from muster.store.provenance import agreed_source_sql
from muster.store.schema import IN_REVIEW_GROUND  # the ground that holds a person in review

STATUSES = ("not_subject", "exempt", "needs_clarification", "deferred",
            "eligible_conscript", "eligible_reserve")
ELIGIBLE = ("eligible_conscript", "eligible_reserve")
UNCLASSIFIED = "unclassified"
# Identity facts whose disagreement among sources must be settled by an officer.
IDENTITY_FIELDS = ("birth_date", "sex")
# The fields whose chosen value a newer record of the person can contest (NEWER_EXAM_GROUND
# and NEWER_DEFERMENT_GROUND, below), and how a record dates its value of each: an
# examination by its own date, the rest by the record's.
NEWER_VALUE_DATES = {"fitness_category": "coalesce({r}.fitness_date, {r}.record_date)",
                     "dependents": "{r}.record_date", "occupation": "{r}.record_date",
                     "student_until": "{r}.record_date"}
# The derived fact of each: the value of the newest record newer than the chosen
# value's, if any ("newer_dependents").
NEWER = "newer_"
NEWER_CATEGORY = NEWER + "fitness_category"
# Facts the evaluation derives from the register rather than reads from the golden
# record: (0/1) an unsettled identity conflict, records still in review, another file,
# a value about a ground that could not be read; and the newer values.
DERIVED_FLAGS = ("identity_conflict", "identity_review", "other_file", "unreadable_value",
                 *(NEWER + f for f in NEWER_VALUE_DATES))
# The ground that holds a person who would be eligible while another file that may be
# theirs carries one of KEEPING_OFF (other_files.py): facts about the human that a file
# of their own may lack. Grounds that follow from birth date and sex alone are not.
OTHER_FILE_GROUND = "possible_other_file"
KEEPING_OFF = ("deceased", "unfit", "limited_fitness", "dependents",
               "protected_occupation", "student", "temporarily_unfit")
# The ground that holds a person while a record of theirs has a value about one of
# KEEPING_OFF that ingest could not read (a death date of 31.02, a fitness category
# outside the codes, "two" dependents): the value is left out of the golden record,
# and without this ground the man it may keep off the call-up would be eligible.
UNREADABLE_GROUND = "unreadable_value"
# The ground that holds a person while a record of theirs holds a fitness category from
# an examination newer than the one their golden record chose by the trust order (a
# clinic's "unfit" after the ministry's "fit"), and that category would keep them off.
NEWER_EXAM_GROUND = "newer_examination"
# The same for a deferment: a record newer than the chosen value's says the man supports
# dependents, works in a protected occupation or studies, and the chosen value does not
# (a tax office's two children after the civil registry's none, with civil first in
# the trust order).
NEWER_DEFERMENT_GROUND = "newer_deferment"
# The records whose person is still an open question: in an open pair of the review
# list (uncertain, ambiguous, identifier collision), or in an officer's decision that no
# resolution run has applied yet. Until it is settled, some of the person's records (a
# deferment, an exemption) may be in another person's file, or another's in theirs.
_IN_REVIEW = (("review_pairs", "status = 'open'"), ("review_decisions", "applied_run IS NULL"))
# All of them at once, for evaluating the register.
RECORDS_IN_REVIEW_SQL = " UNION ".join(
    f"SELECT source_{side} AS source, record_id_{side} AS record_id FROM {table} WHERE {open_}"
    for table, open_ in _IN_REVIEW for side in "lr")


def record_in_review_sql(source: str, record_id: str) -> str:
    """Whether the record (SQL expressions ``source``, ``record_id``) is in review, for a
    few records: each side of a pair is indexed, where the whole list (tens of
    thousands of pairs at 1,000,000 persons) took 260 ms to gather for one person."""
    return " OR ".join(
        f"EXISTS (SELECT 1 FROM {table} WHERE source_{side} = {source} "
        f"AND record_id_{side} = {record_id} AND {open_})"
        for table, open_ in _IN_REVIEW for side in "lr")


@dataclass(frozen=True)
class DateOf:
    """A date a rule attaches to its result: ``field`` + ``parameter`` months (or years)."""

    field: str
    parameter: str | None = None
    years: bool = False

    def _months(self, ctx: Context) -> int:
        if self.parameter is None:
            return 0
        n = int(ctx.value(self.parameter))
        return 12 * n if self.years else n

    def sql(self, ctx: Context) -> str:
        months = self._months(ctx)
        return add_months_sql(self.field, months, ctx.dialect) if months else self.field

    def compute(self, facts: Facts, ctx: Context) -> date | None:
        value = facts.get(self.field)
        return None if value is None else add_months(value, self._months(ctx))

    def describe(self) -> str:
        if self.parameter is None:
            return self.field
        return f"{self.field} + {self.parameter} {'years' if self.years else 'months'}"


@dataclass(frozen=True)
class Rule:
    ground: str
    status: str
    when: Expr
    summary: str
    date: DateOf | None = None  # deferred: the end; not_subject: when the person becomes subject

    def applies(self, facts: Facts, ctx: Context) -> bool:
        return self.when.test(facts, ctx) is True

    def fields(self) -> tuple[str, ...]:
        dated = (self.date.field,) if self.date else ()
        return tuple(dict.fromkeys(self.when.fields() + dated))


# What grants each deferment that a single field's value decides, by that field (the
# deferments' rules below read the same conditions).
DEFERMENT_VALUES: dict[str, Callable[[str], Expr]] = {
    "dependents": lambda field: AtLeast(field, "min_dependents"),
    "occupation": lambda field: OneOf(field, "protected_occupations", ignore_case=True),
    "student_until": OnOrAfterAsOf,
}
NO_SERVICE = And(Missing("service_end"), Missing("military_rank"))
SERVED = Or(Present("service_end"), Present("military_rank"))
MAN = OneOf("sex", "subject_sexes")

RULES: tuple[Rule, ...] = (
    Rule("deceased", "not_subject", OnOrBeforeAsOf("death_date"), "died on or before the date"),
    Rule("sex", "not_subject", And(Present("sex"), Not(MAN)),
         "a sex not subject to registration"),
    Rule("under_age", "not_subject", Not(AgeAtLeast("registration_age")),
         "younger than the registration age", DateOf("birth_date", "registration_age", True)),
    Rule("unfit", "exempt", OneOf("fitness_category", "unfit_fitness"), "unfit for service"),
    Rule("limited_fitness", "exempt",
         And(OneOf("fitness_category", "limited_fitness"), NO_SERVICE),
         "limited fitness and no service"),
    Rule("over_age", "exempt",
         And(MAN, Or(And(NO_SERVICE, age_above("conscription_max_age")),
                     And(SERVED, age_above("reserve_max_age")))),
         "older than the upper age of his category"),
    Rule("sex_unknown", "needs_clarification", Missing("sex"), "no sex recorded"),
    Rule("birth_date_unknown", "needs_clarification", Missing("birth_date"),
         "no birth date recorded"),
    Rule("conflicting_identity", "needs_clarification",
         Flag("identity_conflict", "sources disagree on birth_date or sex and no "
              "officer-verified value settles it"),
         "conflicting birth dates or sex among the sources"),
    Rule(IN_REVIEW_GROUND, "needs_clarification",
         Flag("identity_review", "a record of the person is in an open pair of the review "
              "list, or in an officer's decision on a pair that no resolution run has "
              "applied yet"),
         "whether some records are this person's is still in review"),
    Rule(OTHER_FILE_GROUND, "needs_clarification",
         Flag("other_file", "the person would be eligible, and another file with their "
              "birth date (or none, in their region), their sex (or none) and similar "
              "names carries a ground that keeps a person off the call-up (death, "
              "unfitness, a deferment); no officer has said they are different people"),
         "another file that may be theirs keeps them off the call-up"),
    Rule(UNREADABLE_GROUND, "needs_clarification",
         Flag("unreadable_value", "a record of the person has a value about a ground that "
              "keeps people off the call-up (a death date, a fitness category or date, "
              "dependents, studies, service) that could not be read, and no "
              "officer-verified value of that field settles it"),
         "a record says something about their grounds that could not be read"),
    Rule(NEWER_EXAM_GROUND, "needs_clarification",
         Or(*(OneOf(NEWER_CATEGORY, p)
              for p in ("unfit_fitness", "limited_fitness", "temporary_unfitness"))),
         "a newer examination in another record found them unfit or of limited fitness"),
    Rule(NEWER_DEFERMENT_GROUND, "needs_clarification",
         Or(*(And(grants(NEWER + field), Or(Missing(field), Not(grants(field))))
              for field, grants in DEFERMENT_VALUES.items())),
         "a record newer than the chosen one says they support dependents, work in a "
         "protected occupation or study"),
    Rule("fitness_unknown", "needs_clarification", Missing("fitness_category"),
         "no fitness category"),
    Rule("fitness_outdated", "needs_clarification",
         And(Present("fitness_category"),
             Or(Missing("fitness_date"), OlderThanMonths("fitness_date", "fitness_valid_months"))),
         "the fitness examination is not current"),
    Rule("fitness_reexam_due", "needs_clarification",
         And(OneOf("fitness_category", "temporary_unfitness"),
             OlderThanMonths("fitness_date", "temporary_unfitness_months")),
         "temporary unfitness whose deferment has ended: re-examination due"),
    Rule("dependents", "deferred", DEFERMENT_VALUES["dependents"]("dependents"),
         "supports dependents"),
    Rule("protected_occupation", "deferred", DEFERMENT_VALUES["occupation"]("occupation"),
         "works in a protected occupation"),
    Rule("student", "deferred", DEFERMENT_VALUES["student_until"]("student_until"),
         "full-time student", DateOf("student_until")),
    Rule("temporarily_unfit", "deferred",
         And(OneOf("fitness_category", "temporary_unfitness"),
             WithinMonths("fitness_date", "temporary_unfitness_months")),
         "temporarily unfit", DateOf("fitness_date", "temporary_unfitness_months")),
    Rule("conscription", "eligible_conscript",
         And(MAN, AgeAtLeast("registration_age"), Not(age_above("conscription_max_age")),
             NO_SERVICE, OneOf("fitness_category", "conscription_fitness")),
         "of conscription age, no service, fit"),
    Rule("reserve", "eligible_reserve",
         And(MAN, SERVED, AgeAtLeast("registration_age"), Not(age_above("reserve_max_age")),
             OneOf("fitness_category", "reserve_fitness")),
         "served or ranked, of reserve age, fit"),
)

GROUNDS = (*(r.ground for r in RULES), UNCLASSIFIED)


def rules_by_status() -> list[tuple[str, list[Rule]]]:
    return [(s, [r for r in RULES if r.status == s]) for s in STATUSES]


def fact_fields() -> tuple[str, ...]:
    """Every golden field some rule reads (or dates a result from)."""
    fields = dict.fromkeys(f for r in RULES for f in r.fields())
    for flag in DERIVED_FLAGS:
        fields.pop(flag, None)
    return tuple(fields)


@dataclass(frozen=True)
class Decision:
    status: str
    ground: str
    grounds: tuple[str, ...]
    until: date | None  # deferred: the last day of the deferment (None: open-ended)
    subject_from: date | None  # not_subject by age: the day the person becomes subject


def grounds_of(bits: int) -> frozenset[str]:
    """The grounds a flag word holds: bit i is set when ``RULES[i]`` applies."""
    return frozenset(r.ground for i, r in enumerate(RULES) if bits >> i & 1)


def decide_grounds(applied: frozenset[str] | set[str]) -> tuple[str, str | None, tuple[str, ...]]:
    """(status, winning ground, every ground) from the applying grounds alone.

    The winning ground is None only when two or more dated deferments apply and no
    open-ended one does: then the one that ends last wins, which the dates decide.
    """
    grounds = tuple(r.ground for r in RULES if r.ground in applied)
    for status, rules in rules_by_status():
        hits = [r for r in rules if r.ground in applied]
        if not hits:
            continue
        if status != "deferred":
            return status, hits[0].ground, grounds
        open_ended = [r for r in hits if r.date is None]
        if open_ended:
            return status, open_ended[0].ground, grounds
        return status, hits[0].ground if len(hits) == 1 else None, grounds
    return "needs_clarification", UNCLASSIFIED, (UNCLASSIFIED,)


def decide(applied: dict[str, date | None]) -> Decision:
    """The decision from the applying grounds (ground -> its date), as the SQL decides."""
    status, ground, grounds = decide_grounds(set(applied))
    if status == "deferred" and ground is None:
        dated = [r.ground for r in RULES if r.status == "deferred" and r.ground in applied]
        ground = dated[0]
        for other in dated[1:]:  # the latest end wins; on a tie the first listed
            if applied[other] > applied[ground]:  # type: ignore[operator]
                ground = other
    subject_from = next((applied[r.ground] for r in RULES if r.status == "not_subject"
                         and r.date and r.ground in applied), None)
    assert ground is not None
    until = applied.get(ground) if status == "deferred" else None
    return Decision(status, ground, grounds, until, subject_from)


# The fields the grounds of KEEPING_OFF read: a value of one that could not be read holds
# the person (UNREADABLE_GROUND).
HOLDING_FIELDS = tuple(dict.fromkeys(
    f for r in RULES if r.ground in KEEPING_OFF for f in r.fields()))


def newer_values_sql() -> str:
    """Store SQL: (person_id, field, source, record_id, value, dated) of the person's
    values of NEWER_VALUE_DATES' fields, not chosen, from a record newer than the chosen
    value's (dated as survivorship dates them; an undated one is never newer, and an
    undated chosen examination is fitness_outdated anyway). Such a value lost to the
    trust order only; an officer-verified value, dated the day of the decision, settles
    the records before it."""
    def dated(r: str) -> str:
        cases = " ".join(f"WHEN {text_sql(f)} THEN {d.format(r=r)}"
                         for f, d in NEWER_VALUE_DATES.items())
        return f"CASE v.field {cases} END"

    fields = ", ".join(text_sql(f) for f in NEWER_VALUE_DATES)
    return ("SELECT v.person_id, v.field, v.source, v.record_id, v.value, "
            f"{dated('r')} AS dated "
            "FROM golden_values v "
            "JOIN golden_values c ON c.person_id = v.person_id AND c.field = v.field "
            "AND c.chosen = 1 "
            "JOIN source_records r ON r.source = v.source AND r.record_id = v.record_id "
            "JOIN source_records cr ON cr.source = c.source AND cr.record_id = c.record_id "
            f"WHERE v.field IN ({fields}) AND v.chosen = 0 AND {dated('r')} > {dated('cr')}")


def newest_newer_values_sql() -> str:
    """Store SQL: (person_id, newer_<field> for each of NEWER_VALUE_DATES) of the newest
    value of newer_values_sql per person and field (on a tie, the greatest), as text."""
    columns = ", ".join(f"max(CASE WHEN field = {text_sql(f)} THEN value END) AS {NEWER}{f}"
                        for f in NEWER_VALUE_DATES)
    return (f"SELECT person_id, {columns} FROM (SELECT n.person_id, n.field, n.value, "
            "row_number() OVER (PARTITION BY n.person_id, n.field "
            "ORDER BY n.dated DESC, n.value DESC) AS k "
            f"FROM ({newer_values_sql()}) n) newest WHERE k = 1 GROUP BY person_id")


# The newer values' fields that are not text (golden_values holds every value as text):
# their SQL type and how Python reads them. Text compared with a number is no number
# (SQLite calls any text greater).
NEWER_VALUE_TYPES: dict[str, tuple[str, Callable[[str], Any]]] = {
    "dependents": ("INTEGER", int), "student_until": ("DATE", date.fromisoformat)}


def newer_facts_sql(alias: str, dialect: str) -> str:
    """The newer facts of newest_newer_values_sql (as ``alias``), each read as the type
    of the field it contests (NEWER_VALUE_TYPES)."""
    def typed(field: str) -> str:
        column = f"{alias}.{NEWER}{field}"
        sql_type = NEWER_VALUE_TYPES[field][0] if field in NEWER_VALUE_TYPES else None
        if sql_type is None or (sql_type == "DATE" and dialect == "sqlite"):
            return column  # SQLite keeps dates as ISO text, which orders as dates do
        return f"CAST({column} AS {sql_type})"

    return ", ".join(f"{typed(f)} AS {NEWER}{f}" for f in NEWER_VALUE_DATES)


def newer_fact(field: str, value: str) -> Any:
    """A value of newer_values_sql as the rules read its field (NEWER_VALUE_TYPES)."""
    return NEWER_VALUE_TYPES[field][1](value) if field in NEWER_VALUE_TYPES else value


def unreadable_values_sql(officer: str | None, dialect: str) -> str:
    """Store SQL: (person_id, source, record_id, field, problem, raw_value) of the values
    of HOLDING_FIELDS that ingest flagged (written, but not read), unless the person's
    golden value of that field is an officer-verified one (a contested field's in
    golden_values, an agreed one's in golden_provenance: store/provenance.py)."""
    fields = ", ".join(text_sql(f) for f in HOLDING_FIELDS)
    officer_sql = text_sql(officer) if officer else ""
    settled = ("" if not officer else
               " AND NOT EXISTS (SELECT 1 FROM golden_values s WHERE s.person_id = p.person_id "
               f"AND s.field = f.field AND s.chosen = 1 AND s.source = {officer_sql})"
               " AND NOT EXISTS (SELECT 1 FROM golden_provenance a "
               "WHERE a.person_id = p.person_id "
               f"AND {agreed_source_sql(dialect, 'a.fields', 'f.field')} = {officer_sql})")
    return ("SELECT p.person_id, f.source, f.record_id, f.field, f.problem, f.raw_value "
            "FROM record_flags f JOIN person_records p "
            "ON p.source = f.source AND p.record_id = f.record_id "
            f"WHERE f.field IN ({fields}){settled}")
