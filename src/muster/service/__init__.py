"""The service: REST API over the register, accounts and roles, the audit log (issue 6).

The FastAPI application is imported on first use, not with the package: the command
line imports light modules such as ``muster.service.accounts`` and must not pay for
FastAPI at every start (PEP 562 module ``__getattr__``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from muster.service.app import create_app, service_secret

__all__ = ["create_app", "service_secret"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from muster.service import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
