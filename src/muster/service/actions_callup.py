"""Plans, their verification and notices through the service.

Plans are made on the command line (`muster callup plan`); here they are read and
verified. Administrators see everything; officers see every region's counts but
only their own regions' selections and notices; analysts see counts only (no
person id); citizens see their own notices only and no plan (403).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from muster import callup
from muster.callup import Plan
from muster.errors import ConflictError, NotFound
from muster.notices import transition
from muster.service import access
from muster.service.access import CASEWORKERS, PERSON_SIDE, PLAN_READERS
from muster.service.accounts import ANALYST, Account
from muster.service.actions_common import as_bad_request, audit_each
from muster.service.state import Service
from muster.service.work_queries import notice, notice_statuses, person_notices


@dataclass(frozen=True)
class RegionLine:
    region: str
    quota: int
    candidates: int
    selected: int
    shortfall: int


@dataclass(frozen=True)
class Selected:
    region: str
    rank: int
    person_id: str
    notice_status: str | None  # None: no notice issued (yet, or not callable)


@dataclass(frozen=True)
class PlanDetail:
    plan: Plan
    regions: tuple[RegionLine, ...]  # every quota region: counts are no person's data
    notices: dict[str, int]  # notice status -> notices, in the regions the account sees
    selection: tuple[Selected, ...] | None  # a page of it; None: counts only (analyst)
    selection_total: int  # selected persons the account may see (all, for counts only)


@dataclass(frozen=True)
class PlanCheck:
    plan: Plan
    ok: bool
    digest: str  # recomputed
    differences: tuple[str, ...]
    not_callable: tuple[tuple[str, str, int, str], ...] | None  # (person, region, rank,
    # why) in the account's regions; None: counts only (analyst)
    not_callable_count: int  # in the regions the account sees


@dataclass(frozen=True)
class NoticeView:
    id: int
    plan_id: int
    person_id: str
    region: str
    rank: int
    status: str
    issued_at: datetime
    updated_at: datetime
    events: tuple[dict[str, Any], ...]  # at, actor, from_status, to_status, evidence, reason


def notice_view(row: dict[str, Any]) -> NoticeView:
    return NoticeView(
        id=int(row["id"]), plan_id=int(row["plan_id"]), person_id=row["person_id"],
        region=row["region"], rank=int(row["rank"]), status=row["status"],
        issued_at=row["issued_at"], updated_at=row["updated_at"],
        events=tuple({k: e[k] for k in ("at", "actor", "from_status", "to_status",
                                        "evidence", "reason")} for e in row["events"]))


def _no_notice(notice_id: int) -> NotFound:
    return NotFound(f"No notice {notice_id} that you may see.",
                    hint="A person's notices: GET /api/v1/persons/{person_id}/notices.")


def _scoped_notice(svc: Service, account: Account, notice_id: int) -> dict[str, Any]:
    row = notice(svc.store, notice_id)
    try:
        if row is None:
            raise _no_notice(notice_id)
        access.require_in_scope(svc.store, account, row["person_id"])
    except NotFound:
        raise _no_notice(notice_id) from None
    return row


def plans(svc: Service, account: Account) -> list[Plan]:
    """Every saved plan's header (counts only). Administrator, analyst, officer; citizen
    403. No person data, so no audit entry."""
    access.require_role(account, PLAN_READERS, "see call-up plans")
    return callup.list_plans(svc.store)


def plan_detail(svc: Service, account: Account, plan_id: int, limit: int = 100,
                offset: int = 0) -> PlanDetail:
    """A plan: quotas, candidates, selected and shortfall per region, notice counts, and a
    page of the selection (officers: their regions only; analysts: none). Writes one
    ``plan.read`` entry per person shown."""
    access.require_role(account, PLAN_READERS, "see call-up plans")
    plan, candidates, selection = callup.load_plan(svc.store, plan_id)
    regions = access.regions_of(account)
    in_region: dict[str, int] = {}
    for region in candidates.column("region").to_pylist():
        in_region[region] = in_region.get(region, 0) + 1
    picked: dict[str, int] = {}
    rows = selection.to_pylist()
    for r in rows:
        picked[r["region"]] = picked.get(r["region"], 0) + 1
    lines = tuple(RegionLine(region, quota, in_region.get(region, 0), picked.get(region, 0),
                             plan.shortfall.get(region, 0))
                  for region, quota in plan.quotas.items())
    seen = [r for r in rows if regions is None or r["region"] in regions]
    page = [] if account.role == ANALYST else seen[offset:offset + limit]
    counts, status_of = notice_statuses(svc.store, plan_id, regions,
                                        [r["person_id"] for r in page])
    shown = None if account.role == ANALYST else tuple(
        Selected(r["region"], int(r["rank"]), r["person_id"], status_of.get(r["person_id"]))
        for r in page)
    if shown is not None:  # counts alone are no person's data
        audit_each(svc, account, "plan.read", [s.person_id for s in shown], "callup",
                   {"plan_id": plan_id, "offset": offset, "shown": len(shown)})
    return PlanDetail(plan, lines, counts, shown, len(seen))


def verify_plan(svc: Service, account: Account, plan_id: int) -> PlanCheck:
    """Recompute the plan from scratch (callup.verify_plan): digest, counts, lottery, and
    who of the selection may not be called now (in the account's regions). Administrator,
    analyst (counts only), officer. Writes ``plan.verify`` (one per person listed)."""
    access.require_role(account, PLAN_READERS, "verify call-up plans")
    check = callup.verify_plan(svc.store, plan_id)
    regions = access.regions_of(account)
    mine = tuple(n for n in check.not_callable if regions is None or n[1] in regions)
    shown = None if account.role == ANALYST else mine
    audit_each(svc, account, "plan.verify", [n[0] for n in shown or ()], "callup",
               {"plan_id": plan_id, "ok": check.ok})
    return PlanCheck(check.plan, check.ok, check.digest, check.differences, shown, len(mine))


def notices_for_person(svc: Service, account: Account, person_id: str) -> list[NoticeView]:
    """A person's notices with their events, newest first. Citizen: themselves; officer:
    in region; administrator: any; analyst 403. Writes ``notice.list``."""
    access.require_role(account, PERSON_SIDE, "see notices")
    access.require_in_scope(svc.store, account, person_id)
    rows = [notice_view(r) for r in person_notices(svc.store, person_id)]
    audit_each(svc, account, "notice.list", [person_id], "callup", {"shown": len(rows)})
    return rows


def notice_pdf(svc: Service, account: Account, notice_id: int) -> bytes:
    """The notice's PDF exactly as issued: the stored file, checked against the SHA-256
    recorded when it was issued (409 if it was changed or is gone; never re-rendered,
    so what a person reads is what was sent). Scope as for the person. Writes
    ``notice.read``."""
    access.require_role(account, PERSON_SIDE, "read notices")
    row = _scoped_notice(svc, account, notice_id)
    path = Path(row["file"])
    data = path.read_bytes() if path.is_file() else None
    if data is None or hashlib.sha256(data).hexdigest() != row["file_sha256"]:
        what = "is missing" if data is None else "was changed after it was issued"
        raise ConflictError(f"The PDF of notice {notice_id} {what}.",
                            hint="Ask the registration office; the notice's record and "
                                 "history are intact (GET .../notices).")
    audit_each(svc, account, "notice.read", [row["person_id"]], "callup",
               {"notice_id": notice_id})
    return data


def record_notice_event(svc: Service, account: Account, notice_id: int, to: str,
                        evidence: str | None = None, reason: str | None = None) -> NoticeView:
    """Move a notice along its life (sent, delivered with evidence, reported, ...); an
    officer in region or administrator. Writes ``notice.event``."""
    access.require_role(account, CASEWORKERS, "record what happened to a notice")
    row = _scoped_notice(svc, account, notice_id)
    with as_bad_request():
        before = transition(svc.store, notice_id, to, account.username, evidence, reason)
    audit_each(svc, account, "notice.event", [row["person_id"]], "callup",
               {"notice_id": notice_id, "from": before, "to": to})
    moved = notice(svc.store, notice_id)
    assert moved is not None
    return notice_view(moved)
