"""The one exception tree of muster.

    MusterError                 anything muster reports to a user
    ├── ConfigError             muster.toml, a profile or a source declaration is wrong
    ├── WorkspaceError          no workspace where one is needed, or one that cannot be used
    ├── SourceError             an extract cannot be read as declared (file, encoding, shape)
    ├── StoreError              the database cannot be reached or is in the wrong state
    ├── NotFound                a named thing (source, batch, person) does not exist
    ├── ConflictError           the request contradicts the thing's state (an illegal notice
    │                           transition, a case already decided)
    ├── BadRequest              a request lacks a parameter or gives a wrong one
    ├── Unauthorized            no valid credentials (wrong password, expired session)
    ├── Forbidden               the account's role may not do this at all
    └── TooManyRequests         too many failed logins for one account; wait and retry

Every message says what happened, shows the offending value and says what to do.
A class that reaches HTTP carries its status.
"""

from __future__ import annotations


class MusterError(Exception):
    """Base of every error muster reports; its message is meant for the user."""

    status = 500

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\nHint: {self.hint}" if self.hint else self.message


class ConfigError(MusterError):
    status = 400

    def __init__(self, message: str, *, problems: list[str] | None = None, hint: str | None = None):
        # All problems are reported at once so a user fixes a declaration in one pass.
        self.problems = problems or []
        if self.problems:
            message = message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message, hint=hint)


class WorkspaceError(MusterError):
    status = 400


class SourceError(MusterError):
    status = 422


class StoreError(MusterError):
    status = 503


class NotFound(MusterError):
    status = 404


class ConflictError(MusterError):
    status = 409


class BadRequest(MusterError):
    status = 400


class Unauthorized(MusterError):
    status = 401


class Forbidden(MusterError):
    status = 403


class TooManyRequests(MusterError):
    status = 429

    def __init__(self, message: str, *, retry_after: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after
