"""What every request of a running service shares."""

from __future__ import annotations

from dataclasses import dataclass

from muster.profile import Profile
from muster.service.auth import LoginThrottle, Sessions
from muster.store import Store
from muster.workspace import Workspace


@dataclass
class Service:
    store: Store
    profile: Profile
    workspace: Workspace  # where officer-verified values are kept as a source
    sessions: Sessions
    throttle: LoginThrottle
    cookie_secure: bool = False  # set when served over HTTPS (behind a proxy)
