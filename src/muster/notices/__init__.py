"""Notices: one PDF per selected person, and the tracked life of each notice.

    lifecycle.py  the statuses, the legal moves, and the one function that moves
    render.py     the profile's HTML template (Jinja2) to PDF (WeasyPrint)
    issue.py      issuing a plan's notices; status, lists and history

See docs/callup.md ("The life of a notice").
"""

from muster.notices.issue import (
    IssueReport,
    NoticeStatus,
    issue_notices,
    list_notices,
    notice_history,
    plan_status,
)
from muster.notices.lifecycle import ACTIVE, FINAL, STATUSES, TRANSITIONS, transition
from muster.notices.render import NoticeContext, Renderer, notice_settings

__all__ = [
    "ACTIVE", "FINAL", "STATUSES", "TRANSITIONS", "IssueReport", "NoticeContext",
    "NoticeStatus", "Renderer", "issue_notices", "list_notices", "notice_history",
    "notice_settings", "plan_status", "transition",
]
