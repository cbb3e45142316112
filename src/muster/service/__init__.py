"""The service: REST API over the register, accounts and roles, the audit log (issue 6)."""

from muster.service.app import create_app, service_secret

__all__ = ["create_app", "service_secret"]
