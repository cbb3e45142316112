"""What each page shows, as one typed model per page and role.

A template sees only its model (and the layout: who is logged in, the form token),
so what a role may see is decided here, by which fields a model has: the
analyst's dashboard has counts and no field that could hold a person. Tests walk
these models to hold them to it.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict


class Page(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NavLink(Page):
    href: str
    label: str
    current: bool = False


class Layout(Page):
    """Around every page: the account (not a person's data) and the form token."""

    title: str
    username: str | None
    role: str | None
    csrf: str
    nav: list[NavLink]


class Bar(Page):
    """One bar of a chart, already laid out: ``x`` and ``width`` in percent."""

    label: str
    value: float
    x: float
    width: float
    positive: bool


# --- Login and errors ----------------------------------------------------------------

class LoginPage(Page):
    next: str
    username: str = ""
    error: str | None = None


class ErrorPage(Page):
    status: int
    title: str
    detail: str
    hint: str | None = None


# --- Dashboards (aggregates: no person) ------------------------------------------------

class IdentifierValidity(Page):
    field: str
    present: int  # records with a valid value
    invalid: int  # records whose value failed its check


class SourceCounts(Page):
    source: str
    agency: str | None
    rows: int
    quarantined: int
    flagged: int
    identifiers: list[IdentifierValidity]


class ResolutionCounts(Page):
    persons: int
    merges: int
    review_open: int
    with_conflicts: int


class StatusSegment(Page):
    status: str
    count: int
    percent: float


class RegionChart(Page):
    region: str
    persons: int
    segments: list[StatusSegment]


class Aggregates(Page):
    sources: list[SourceCounts]
    resolution: ResolutionCounts
    eligibility_as_of: date | None
    regions: list[RegionChart]
    statuses: list[str]  # the legend, in chart order


class AnalystDashboard(Aggregates):
    """A central analyst: counts only."""


class QueueCount(Page):
    kind: str
    open: int


class StaffDashboard(Aggregates):
    """An officer (their regions' eligibility and queues) or an administrator (all)."""

    scope: list[str] | None  # the officer's regions; None: all
    queues: list[QueueCount]


# --- Persons -----------------------------------------------------------------------------

class PersonRow(Page):
    person_id: str
    family_name: str | None
    given_name: str | None
    middle_name: str | None
    birth_date: date | None
    region: str | None
    records: int
    conflicts: int


class SearchPage(Page):
    name: str
    birth_date: str
    id: str
    searched: bool
    results: list[PersonRow]
    limit: int
    purposes: list[str]
    needs_purpose: bool
    problem: str | None = None  # why the search was not made, and what to give instead


class PurposePage(Page):
    person_id: str
    purposes: list[str]


class GoldenField(Page):
    field: str
    value: str
    source: str | None
    record_id: str | None
    conflict: bool


class SourceValue(Page):
    value: str
    source: str
    record_id: str
    support: int
    chosen: bool


class Conflict(Page):
    field: str
    values: list[SourceValue]


class SourceRecord(Page):
    source: str
    record_id: str
    line: int | None
    fields: list[tuple[str, str]]


class LinkExplanation(Page):
    left: str
    right: str
    rule: str
    outcome: str
    match_weight: float | None
    reason: str | None
    bars: list[Bar]


class HistoryItem(Page):
    at: datetime
    kind: str
    detail: str


class EligibilityLine(Page):
    as_of: date
    law: str
    status: str
    ground: str
    grounds: list[str]
    until: date | None
    subject_from: date | None


class CaseLine(Page):
    id: int
    person_id: str
    kind: str
    status: str
    reason: str
    detail: str
    opened_by: str
    opened_at: datetime
    decided_by: str | None
    decision_reason: str | None
    outcomes: list[str]


class NoticeLine(Page):
    id: int
    plan_id: int
    status: str
    issued_at: datetime


class PersonRecord(Page):
    """A person's data as an officer, an administrator or the citizen sees it."""

    person_id: str
    status: str
    successor: str | None
    golden: list[GoldenField]
    conflicts: list[Conflict]
    records: list[SourceRecord]
    links: list[LinkExplanation]
    history: list[HistoryItem]
    eligibility: list[EligibilityLine]
    other_files: list[str]  # files that may be theirs and hold them; never for a citizen
    cases: list[CaseLine]
    notices: list[NoticeLine]


class PersonPage(Page):
    record: PersonRecord
    purpose: str | None
    verifiable: list[str]  # fields an officer may record verified values for


# --- Work queues and plans ----------------------------------------------------------------

class ReviewLine(Page):
    id: int
    kind: str
    left: str
    person_left: str | None
    right: str
    person_right: str | None
    match_weight: float | None
    detail: str
    holds_decision: bool  # a person of the pair is held from a call-up decision by it
    pairs_between: int  # open pairs of records between the two persons, this one included


class CaseQueue(Page):
    kind: str
    cases: list[CaseLine]
    total: int


class QueuesPage(Page):
    review: list[ReviewLine]
    review_total: int
    queues: list[CaseQueue]
    verifiable: list[str]


class PlanSummary(Page):
    id: int
    as_of: date
    category: str
    law: str
    selected: int
    candidates: int


class PlansPage(Page):
    plans: list[PlanSummary]


class PlanRegion(Page):
    region: str
    quota: int
    candidates: int
    selected: int
    shortfall: int


class SelectedLine(Page):
    region: str
    rank: int
    person_id: str
    notice_status: str | None


class PlanCheckView(Page):
    ok: bool
    digest: str
    differences: list[str]
    not_callable: list[tuple[str, str, int, str]] | None
    not_callable_count: int


class PlanPage(Page):
    plan: PlanSummary
    seed: str
    digest: str
    created_by: str
    created_at: datetime
    regions: list[PlanRegion]
    notices: dict[str, int]
    selection: list[SelectedLine] | None  # None: counts only (analyst)
    selection_total: int
    check: PlanCheckView | None


# --- The citizen's portal -------------------------------------------------------------------

class RuleLine(Page):
    ground: str
    status: str
    summary: str
    applies: bool
    condition: str
    facts: list[str]


class RulesApplied(Page):
    as_of: date
    law: str
    status: str
    ground: str
    rules: list[RuleLine]


class AccessEntry(Page):
    at: datetime
    actor: str
    role: str
    action: str
    purpose: str | None


class Portal(Page):
    record: PersonRecord
    rules: RulesApplied | None
    accesses: list[AccessEntry]
    correctable: list[str]
    grounds: list[str]
    appealable: list[int]  # plans the citizen was selected in
