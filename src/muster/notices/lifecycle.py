"""The life of a notice, and the only function that moves it.

    issued ──▶ sent ──▶ delivered ──▶ reported
       │         │         │  ├─────▶ deferred
       │         │         │  └─────▶ appealed ──▶ reported | deferred | withdrawn
       └─────────┴─────────┴────────▶ withdrawn

``delivered`` needs recorded delivery evidence (a receipt, a signature, a registered
mail number): a notice is never deemed delivered because time has passed, and
nothing in muster acts on a notice that was not delivered. reported, deferred and
withdrawn are final. Every move is an event (who, when, from, to, evidence, why).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from muster.errors import ConflictError, MusterError, NotFound
from muster.store import Store
from muster.store.schema import notice_events, notices

STATUSES = ("issued", "sent", "delivered", "appealed", "reported", "deferred", "withdrawn")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "issued": ("sent", "withdrawn"),
    "sent": ("delivered", "withdrawn"),
    "delivered": ("reported", "deferred", "appealed", "withdrawn"),
    "appealed": ("reported", "deferred", "withdrawn"),
    "reported": (),
    "deferred": (),
    "withdrawn": (),
}
FINAL = tuple(s for s, nxt in TRANSITIONS.items() if not nxt)
ACTIVE = tuple(s for s in STATUSES if s not in FINAL)


def check_transition(notice_id: int, current: str, to: str, evidence: str | None) -> None:
    if to not in STATUSES:
        raise MusterError(f"{to!r} is not a notice status.",
                          hint=f"Statuses: {', '.join(STATUSES)}.")
    allowed = TRANSITIONS[current]
    if to not in allowed:
        if allowed:
            hint = f"From {current} a notice can become: {', '.join(allowed)}."
        else:
            hint = f"{current} is final: nothing follows it."
        raise ConflictError(f"Notice {notice_id} is {current}; it cannot become {to}.",
                            hint=hint)
    if to == "delivered" and not (evidence and evidence.strip()):
        raise ConflictError(
            f"Notice {notice_id} cannot be marked delivered without evidence of delivery.",
            hint='Record it with --evidence "..." (a receipt or registered-mail number, a '
            "signature). A notice is never deemed delivered by time passing.")


def transition_in(conn: sa.Connection, notice_id: int, to: str, actor: str,
                  evidence: str | None = None, reason: str | None = None) -> str:
    """Move a notice inside the caller's transaction; returns the status it left."""
    row = conn.execute(sa.select(notices.c.status).where(notices.c.id == notice_id)).first()
    if row is None:
        raise NotFound(f"There is no notice {notice_id}.",
                       hint="List a plan's notices with `muster notices list PLAN_ID`.")
    current = str(row.status)
    check_transition(notice_id, current, to, evidence)
    now = datetime.now(UTC)
    moved = conn.execute(notices.update().where(notices.c.id == notice_id,
                                                notices.c.status == current).values(
        status=to, updated_at=now))
    if moved.rowcount != 1:
        raise ConflictError(f"Notice {notice_id} changed meanwhile; try again.")
    conn.execute(notice_events.insert().values(
        notice_id=notice_id, at=now, actor=actor, from_status=current, to_status=to,
        evidence=evidence.strip() if evidence else None, reason=reason))
    return current


def transition(store: Store, notice_id: int, to: str, actor: str,
               evidence: str | None = None, reason: str | None = None) -> str:
    """Move a notice to ``to`` if the life cycle allows it; returns the status it left."""
    with store.engine.begin() as conn:
        return transition_in(conn, notice_id, to, actor, evidence, reason)
