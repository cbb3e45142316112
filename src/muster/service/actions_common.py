"""What the service's actions share: audit entries per person, and library errors
that are the request's fault answered as 400."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from muster.errors import BadRequest, MusterError
from muster.service import audit
from muster.service.accounts import Account
from muster.service.state import Service

# Decisions append to the registration office's extract in the workspace and resolve
# again: one at a time per process, so two decisions never interleave their writes.
DECISIONS = threading.Lock()

# Why an officer touches a case of this kind: the purpose its audit entries carry.
PURPOSE_OF_KIND = {"clarification": "clarification", "correction": "correction",
                   "deferment_claim": "claim", "appeal": "appeal"}


def audit_each(svc: Service, account: Account, action: str, person_ids: Iterable[str | None],
               purpose: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """One entry per person (in order, once each), or one about nobody if there is none:
    the read itself is always on record."""
    people = list(dict.fromkeys(person_ids)) or [None]
    with svc.store.engine.begin() as conn:
        for person_id in people:
            audit.record(conn, actor=account.username, role=account.role, action=action,
                         person_id=person_id, purpose=purpose, detail=detail)


@contextmanager
def as_bad_request() -> Iterator[None]:
    """The stage packages raise a plain MusterError for a wrong request (no reason given,
    an unknown kind or ground): through HTTP that is a 400, not a server error."""
    try:
        yield
    except MusterError as exc:
        if type(exc) is MusterError:
            raise BadRequest(exc.message, hint=exc.hint) from exc
        raise
