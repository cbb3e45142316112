"""The service layer for casework, plans, notices and the review list (issue 6).

The REST API (api_work.py) and the web pages call these functions, never the
library directly: each one checks what the account may do (access.py), calls one
library function, writes the audit entry and returns library objects. Refused
requests write nothing.

    actions_cases.py    the case queues, opening and deciding cases, the review list
    actions_callup.py   plans, their verification, notices and their PDFs

Every function takes ``(svc, account, ...)``. Errors are MusterError subclasses:
403 (Forbidden) for a role that may never do this, 404 (NotFound) for a person,
case or notice outside the account's scope (as for one that does not exist), 400
for a wrong request, 409 for one that contradicts the state (a case already decided).
"""

from muster.service.actions_callup import (
    NoticeView,
    PlanCheck,
    PlanDetail,
    RegionLine,
    Selected,
    notice_pdf,
    notices_for_person,
    plan_detail,
    plans,
    record_notice_event,
    verify_plan,
)
from muster.service.actions_cases import (
    ReviewPair,
    case_for,
    cases_for_person,
    decide,
    decide_other_file,
    decide_review_pair,
    file_appeal,
    file_claim,
    open_clarification,
    propose_correction,
    queue,
    record_verified,
    review_pairs,
)

__all__ = [
    "NoticeView", "PlanCheck", "PlanDetail", "RegionLine", "ReviewPair", "Selected",
    "case_for", "cases_for_person", "decide", "decide_other_file", "decide_review_pair",
    "file_appeal", "file_claim", "notice_pdf",
    "notices_for_person", "open_clarification", "plan_detail", "plans",
    "propose_correction", "queue", "record_notice_event", "record_verified",
    "review_pairs", "verify_plan",
]
