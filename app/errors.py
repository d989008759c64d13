"""Errors a user can cause. Each carries a stable `extensions.code`; anything else is masked."""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    code = "BAD_USER_INPUT"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.extensions: dict[str, Any] = {"code": self.code, **details}


class BadInput(UserError):
    code = "BAD_USER_INPUT"


class Unauthenticated(UserError):
    code = "UNAUTHENTICATED"


class Forbidden(UserError):
    code = "FORBIDDEN"


class NotFoundError(UserError):
    code = "NOT_FOUND"


class RateLimited(UserError):
    code = "RATE_LIMITED"


class ServiceUnavailable(UserError):
    code = "UNAVAILABLE"


def error_body(message: str, code: str) -> dict[str, Any]:
    """A GraphQL-shaped answer to a request refused before any operation ran (HTTP 4xx)."""
    return {"errors": [{"message": message, "extensions": {"code": code}}]}
