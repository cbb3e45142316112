"""What the API returns: one pydantic model per response, which is also its OpenAPI schema."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from muster.service.models_work import CaseOut, NoticeOut, Timestamp


class Problem(BaseModel):
    """An error, as RFC 9457 application/problem+json."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    hint: str | None = None


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class Me(BaseModel):
    username: str
    role: str
    regions: list[str]
    person_id: str | None


class PersonSummary(BaseModel):
    person_id: str
    family_name: str | None
    given_name: str | None
    middle_name: str | None
    birth_date: date | None
    region: str | None
    records: int
    conflicts: int


class SearchResult(BaseModel):
    persons: list[PersonSummary]
    limit: int


class FieldValue(BaseModel):
    """One value a source holds for a field of the person (provenance)."""

    field: str
    value: str
    source: str
    record_id: str
    record_date: date | None
    support: int
    chosen: bool
    conflict: bool


class EligibilityResult(BaseModel):
    as_of: date
    law: str
    law_sha256: str
    evaluated_at: Timestamp
    status: str
    ground: str
    grounds: list[str]
    until: date | None
    subject_from: date | None


class Person(BaseModel):
    person_id: str
    status: str
    successor: str | None
    golden: dict[str, Any]
    provenance: list[FieldValue]
    conflicts: dict[str, list[FieldValue]]
    records: list[dict[str, Any]]
    links: list[dict[str, Any]]
    history: list[dict[str, Any]]
    eligibility: list[EligibilityResult]
    other_files: list[str] = Field(default_factory=list, description=(
        "Files that may be this person's and hold them (ground possible_other_file): "
        "compare them and answer with POST /api/v1/persons/{person_id}/other-files/"
        "{other_id}/decision. Always empty for a citizen."))
    cases: list[CaseOut]  # newest first
    notices: list[NoticeOut]  # newest first


class AuditEntry(BaseModel):
    seq: int
    at: Timestamp
    actor: str
    role: str
    action: str
    person_id: str | None
    purpose: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    total: int
    limit: int
    offset: int


class AuditHead(BaseModel):
    """The audit log's newest entry, to note outside the database (an anchor)."""

    seq: int = Field(description="Its sequence number; 0 while the log is empty.")
    hash: str = Field(description="Its SHA-256, hex; 64 zeros while the log is empty.")
    at: Timestamp | None = Field(description="When it was written.")


class RegionStats(BaseModel):
    region: str | None
    persons: int
    statuses: dict[str, int]


class Stats(BaseModel):
    """Counts only: what a central analyst may see."""

    eligibility_as_of: date | None
    regions: list[RegionStats]
