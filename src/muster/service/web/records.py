"""A person's record as the person page and the portal show it, built from the same
service calls as the REST API (each writes its audit entry)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from muster.casework.cases import OUTCOMES, Case
from muster.resolve.golden import GOLDEN_FIELDS
from muster.service import actions
from muster.service.accounts import Account
from muster.service.reads import PersonRead, read_person
from muster.service.state import Service
from muster.service.web.charts import weight_bars
from muster.service.web.contexts import (
    CaseLine,
    Conflict,
    EligibilityLine,
    GoldenField,
    HistoryItem,
    LinkExplanation,
    NoticeLine,
    PersonRecord,
    SourceRecord,
    SourceValue,
)


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def case_line(case: Case) -> CaseLine:
    detail = ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v}"
                       for k, v in sorted(case.detail.items()))
    return CaseLine(id=case.id, person_id=case.person_id, kind=case.kind, status=case.status,
                    reason=case.reason,
                    detail=detail, opened_by=case.opened_by, opened_at=case.opened_at,
                    decided_by=case.decided_by, decision_reason=case.decision_reason,
                    outcomes=list(OUTCOMES[case.kind]) if case.status == "open" else [])


def _golden(read: PersonRead) -> tuple[list[GoldenField], list[Conflict]]:
    chosen = {v["field"]: v for v in read.view.values if v["chosen"]}
    golden = [GoldenField(field=f, value=_text(read.view.golden[f]),
                          source=chosen[f]["source"] if f in chosen else None,
                          record_id=chosen[f]["record_id"] if f in chosen else None,
                          conflict=bool(chosen[f]["conflict"]) if f in chosen else False)
              for f in GOLDEN_FIELDS if read.view.golden.get(f) is not None]
    conflicts: dict[str, list[SourceValue]] = {}
    for v in read.view.values:
        if v["conflict"]:
            conflicts.setdefault(v["field"], []).append(SourceValue(
                value=v["value"], source=v["source"], record_id=v["record_id"],
                support=int(v["support"]), chosen=bool(v["chosen"])))
    return golden, [Conflict(field=f, values=vs) for f, vs in conflicts.items()]


def _record(r: dict[str, Any]) -> SourceRecord:
    fields = [(f, _text(r[f])) for f in (*GOLDEN_FIELDS, "record_date")
              if r.get(f) is not None]
    return SourceRecord(source=r["source"], record_id=r["record_id"], line=r.get("line"),
                        fields=fields)


def _link(e: dict[str, Any]) -> LinkExplanation:
    return LinkExplanation(
        left=f"{e['source_l']}:{e['record_id_l']}", right=f"{e['source_r']}:{e['record_id_r']}",
        rule=e["rule"], outcome=e["outcome"], reason=e.get("reason"),
        match_weight=None if e.get("match_weight") is None else round(e["match_weight"], 2),
        bars=weight_bars(e.get("contributions")))


def person_record(svc: Service, account: Account, person_id: str,
                  purpose: str | None) -> PersonRecord:
    """Everything about the person the account may see; refused before anything is read."""
    read = read_person(svc, account, person_id, purpose)
    golden, conflicts = _golden(read)
    cases = actions.cases_for_person(svc, account, person_id)
    notices = actions.notices_for_person(svc, account, person_id)
    view = read.view
    return PersonRecord(
        person_id=view.person_id, status=view.status, successor=view.successor,
        golden=golden, conflicts=conflicts, records=[_record(r) for r in view.records],
        links=[_link(e) for e in view.links],
        history=[HistoryItem(at=h["at"], kind=h["kind"], detail=str(h["detail"]))
                 for h in view.history],
        eligibility=[EligibilityLine(
            as_of=r["as_of"], law=f"{r['law_name']} {r['law_version']}", status=r["status"],
            ground=r["ground"], grounds=[g for g in r["grounds"].split(",") if g],
            until=r["until"], subject_from=r["subject_from"]) for r in read.eligibility],
        other_files=read.other_files,
        cases=[case_line(c) for c in cases],
        notices=[NoticeLine(id=n.id, plan_id=n.plan_id, status=n.status,
                            issued_at=n.issued_at) for n in notices],
    )
