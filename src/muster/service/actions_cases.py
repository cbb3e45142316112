"""Casework through the service: the queues, opening and deciding cases, the review list.

Who may do what (access.py): an officer acts on the persons of their regions, an
administrator on anyone; a citizen proposes corrections, files claims and appeals
for themselves only and never decides; an analyst does no casework (403).
"""

from __future__ import annotations

from dataclasses import dataclass

from muster.casework import cases
from muster.casework import decide as case_decisions
from muster.casework.cases import OUTCOMES, Case
from muster.casework.decide import Decided
from muster.casework.review_queue import open_review_pair, review_page
from muster.eligibility.explain import other_files_holding
from muster.errors import BadRequest, ConflictError, Forbidden, NotFound
from muster.resolve.decisions import PairDecision, decide_pair
from muster.service import access
from muster.service.access import CASEWORKERS, PERSON_SIDE
from muster.service.accounts import Account
from muster.service.actions_common import (
    DECISIONS,
    PURPOSE_OF_KIND,
    as_bad_request,
    audit_each,
)
from muster.service.state import Service
from muster.service.work_queries import first_record

STATUSES = ("open", "all", *sorted({o for outcomes in OUTCOMES.values() for o in outcomes}))


@dataclass(frozen=True)
class ReviewPair:
    """Two source records the register did not link on its own, and their persons."""

    id: int
    kind: str  # uncertain | ambiguous | identifier_collision
    source_l: str
    record_id_l: str
    person_l: str | None
    source_r: str
    record_id_r: str
    person_r: str | None
    match_weight: float | None
    detail: str
    holds_decision: bool  # the newest evaluation holds a person of the pair for it
    pairs_between: int  # open pairs between the two persons (this one included)


def _no_case(case_id: int) -> NotFound:
    return NotFound(f"No case {case_id} that you may see.",
                    hint="List the cases you may see with GET /api/v1/cases.")


def _scoped_case(svc: Service, account: Account, case_id: int) -> Case:
    """The case, if its person is the account's to see; otherwise the same 404 as for a
    case that does not exist."""
    try:
        case = cases.get_case(svc.store, case_id)
        access.require_in_scope(svc.store, account, case.person_id)
    except NotFound:
        raise _no_case(case_id) from None
    return case


def _opened(svc: Service, account: Account, case: Case) -> Case:
    audit_each(svc, account, "case.open", [case.person_id], PURPOSE_OF_KIND[case.kind],
               {"case_id": case.id, "kind": case.kind})
    return case


def queue(svc: Service, account: Account, kind: str | None = None, status: str = "open",
          limit: int = 50, offset: int = 0) -> tuple[list[Case], int]:
    """A work queue: cases of one kind (or all) and status ("open", a decision, or "all"),
    oldest first, and how many there are. An officer sees the cases of persons in their
    regions, an administrator all; others 403. One ``case.list`` entry per person shown."""
    access.require_role(account, CASEWORKERS, "see the work queues")
    if status not in STATUSES:
        raise BadRequest(f"{status!r} is not a case status.",
                         hint=f"Use one of {', '.join(STATUSES)}.")
    regions = access.regions_of(account)
    with as_bad_request():
        rows = cases.list_cases(svc.store, kind, status, limit=limit, regions=regions,
                                   offset=offset)
        total = cases.count_cases(svc.store, kind, status, regions=regions)
    audit_each(svc, account, "case.list", [c.person_id for c in rows], "casework",
               {"kind": kind, "status": status, "offset": offset, "shown": len(rows)})
    return rows, total


def case_for(svc: Service, account: Account, case_id: int) -> Case:
    """One case with its events. Officer: in region; citizen: their own; administrator:
    any; else 404 (analyst 403). Writes ``case.read``."""
    access.require_role(account, PERSON_SIDE, "read a case")
    case = _scoped_case(svc, account, case_id)
    audit_each(svc, account, "case.read", [case.person_id], PURPOSE_OF_KIND[case.kind],
               {"case_id": case.id})
    return case


def cases_for_person(svc: Service, account: Account, person_id: str) -> list[Case]:
    """Every case of a person, newest first (scope as for reading the person; an officer
    needs no purpose here: the cases are the work). Writes ``case.list``."""
    access.require_role(account, PERSON_SIDE, "read a person's cases")
    access.require_in_scope(svc.store, account, person_id)
    rows = cases.list_cases(svc.store, status="all", person_id=person_id)[::-1]
    audit_each(svc, account, "case.list", [person_id], "casework", {"shown": len(rows)})
    return rows


def open_clarification(svc: Service, account: Account, person_id: str, reason: str) -> Case:
    """An officer (in region) or administrator asks for a person's data to be clarified.
    Writes ``case.open``."""
    access.require_role(account, CASEWORKERS, "ask for a clarification")
    access.require_in_scope(svc.store, account, person_id)
    with as_bad_request():
        case = cases.open_case(svc.store, person_id, "clarification", reason, {},
                                  account.username)
    return _opened(svc, account, case)


def record_verified(svc: Service, account: Account, case_id: int, values: dict[str, str],
                    reason: str) -> Decided:
    """Record the values an officer verified and so resolve an open clarification.

    The values enter as the registration office's source record (casework.verified,
    kept in the workspace), win survivorship and show that source as provenance; the
    person is resolved and decided again at once. Only a clarification takes values
    this way (409 otherwise: decide a correction, claim or appeal with ``decide``).
    Officer in region or administrator. Writes ``case.decide``."""
    access.require_role(account, CASEWORKERS, "record verified values")
    case = _scoped_case(svc, account, case_id)
    if case.kind != "clarification":
        raise ConflictError(
            f"Case {case_id} is a {case.kind}: verified values settle a clarification.",
            hint=f"Decide it with POST /api/v1/cases/{case_id}/decision "
                 f"({' or '.join(OUTCOMES[case.kind])}, with values where they apply).")
    if not values:
        raise BadRequest("No values given: record the values you verified.",
                         hint='Example: {"values": {"birth_date": "1999-03-10"}}')
    return decide(svc, account, case_id, "resolved", reason, values)


def propose_correction(svc: Service, account: Account, person_id: str,
                       values: dict[str, str], reason: str) -> Case:
    """A citizen (for themselves) or an officer (in region) or administrator proposes
    corrected values; a correction case opens. Writes ``case.open``."""
    access.require_role(account, PERSON_SIDE, "propose a correction")
    access.require_in_scope(svc.store, account, person_id)
    with as_bad_request():
        case = case_decisions.propose_correction(svc.store, svc.profile, person_id, values, reason,
                                           account.username)
    return _opened(svc, account, case)


def file_claim(svc: Service, account: Account, person_id: str, ground: str, evidence: str,
               reason: str) -> Case:
    """A deferment claim on a ground of the law, with a reference to its evidence
    (citizen for themselves, officer in region, administrator). Writes ``case.open``."""
    access.require_role(account, PERSON_SIDE, "file a deferment claim")
    access.require_in_scope(svc.store, account, person_id)
    with as_bad_request():
        case = case_decisions.claim_deferment(svc.store, person_id, ground, evidence, reason,
                                        account.username)
    return _opened(svc, account, case)


def file_appeal(svc: Service, account: Account, person_id: str, plan_id: int,
                reason: str) -> Case:
    """An appeal against the person's selection in a plan (citizen for themselves,
    officer in region, administrator); a delivered notice becomes "appealed".
    Writes ``case.open``."""
    access.require_role(account, PERSON_SIDE, "lodge an appeal")
    access.require_in_scope(svc.store, account, person_id)
    with as_bad_request():
        case = case_decisions.lodge_appeal(svc.store, person_id, plan_id, reason, account.username)
    return _opened(svc, account, case)


def decide(svc: Service, account: Account, case_id: int, outcome: str, reason: str,
           values: dict[str, str] | None = None) -> Decided:
    """An officer's (in region) or administrator's decision on an open case, with its
    effects: verified values recorded, notices withdrawn or deferred, eligibility decided
    again. A citizen or analyst may never decide (403). Writes ``case.decide``."""
    access.require_role(account, CASEWORKERS, "decide a case")
    case = _scoped_case(svc, account, case_id)
    with DECISIONS, as_bad_request():
        decided = case_decisions.decide_case(svc.workspace, svc.store, svc.profile, case.id,
                                       outcome, reason, account.username, values or {})
    audit_each(svc, account, "case.decide", [case.person_id], PURPOSE_OF_KIND[case.kind],
               {"case_id": case.id, "kind": case.kind, "outcome": outcome,
                "values": sorted(values or {}),
                "record": ":".join(decided.record) if decided.record else None})
    return decided


def review_pairs(svc: Service, account: Account, kind: str | None = None, limit: int = 50,
                 offset: int = 0, every_pair: bool = False) -> tuple[list[ReviewPair], int]:
    """Open review pairs, one per two persons unless ``every_pair`` (review_page), those
    holding a call-up decision first, then the strongest, and how many there are. An
    officer sees pairs with a record of a person in their regions, an administrator
    all; others 403. One ``review.read`` entry per person shown."""
    access.require_role(account, CASEWORKERS, "see the review list")
    rows, total = review_page(svc.store, kind, access.regions_of(account), limit, offset,
                              every_pair=every_pair)
    pairs = [ReviewPair(
        id=int(r["id"]), kind=r["kind"], source_l=r["source_l"], record_id_l=r["record_id_l"],
        person_l=r["person_l"], source_r=r["source_r"], record_id_r=r["record_id_r"],
        person_r=r["person_r"], match_weight=r["match_weight"], detail=r["detail"],
        holds_decision=bool(r["holds"]), pairs_between=int(r["pairs_between"]))
        for r in rows]
    audit_each(svc, account, "review.read",
               [p for pair in pairs for p in (pair.person_l, pair.person_r) if p],
               "data_quality", {"kind": kind, "offset": offset, "shown": len(pairs)})
    return pairs, total


def decide_review_pair(svc: Service, account: Account, pair_id: int, decision: str,
                       reason: str) -> PairDecision:
    """Answer an open review pair: the same person, or different persons (applied by the
    next resolution run). An officer decides pairs whose persons are all in their
    regions; a pair reaching into another region is for an administrator (403). A pair
    the account may not see, or already answered, is 404."""
    access.require_role(account, CASEWORKERS, "decide review pairs")
    regions = access.regions_of(account)
    pair = open_review_pair(svc.store, pair_id, regions)
    if pair is None:
        raise NotFound(f"No open review pair {pair_id} that you may see.",
                       hint="List them with GET /api/v1/review.")
    if regions is not None and not {pair["region_l"], pair["region_r"]} <= set(regions):
        raise Forbidden("This pair joins a person of another region.",
                        hint="An administrator, or an officer of both regions, decides it.")
    with as_bad_request():
        decided = decide_pair(svc.store, (pair["source_l"], pair["record_id_l"]),
                              (pair["source_r"], pair["record_id_r"]), decision,
                              account.username, reason)
    audit_each(svc, account, "review.decide", (pair["person_l"], pair["person_r"]),
               "data_quality", {"pair": pair_id, "decision": decision})
    return decided


def decide_other_file(svc: Service, account: Account, person_id: str, other_id: str,
                      decision: str, reason: str) -> PairDecision:
    """Answer whether another file that holds a person (eligibility.other_files) is theirs,
    on a record of each: "same" joins the files at the next resolution run, "different"
    keeps them apart and lifts the hold. As with review pairs, an officer decides within
    their regions: the person outside them is 404, another file outside them 403. A
    file that does not hold the person is 404."""
    access.require_role(account, CASEWORKERS, "decide whether two files are one person")
    access.require_in_scope(svc.store, account, person_id)
    with svc.store.engine.connect() as conn:
        if other_id not in other_files_holding(conn, person_id):
            raise NotFound(f"{other_id} is not a file that holds {person_id}.",
                           hint=f"See other_files in GET /api/v1/persons/{person_id}.")
        _, region = access.person_region(conn, other_id)
        mine, theirs = (first_record(conn, p) for p in (person_id, other_id))
    regions = access.regions_of(account)
    if regions is not None and region not in regions:
        raise Forbidden("The other file is a person of another region.",
                        hint="An administrator, or an officer of both regions, decides it.")
    with as_bad_request():
        decided = decide_pair(svc.store, mine, theirs, decision, account.username, reason)
    audit_each(svc, account, "review.decide", (person_id, other_id), "data_quality",
               {"other_file": other_id, "decision": decision})
    return decided
