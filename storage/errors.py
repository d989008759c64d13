"""Storage errors: the only exceptions adapters let out of storage/.

Adapters catch their driver's exceptions and raise these, so services and resolvers
never depend on an engine (as httpx maps httpcore's errors into its own hierarchy).
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every storage failure."""


class NotFound(StorageError):
    """The addressed row or object does not exist."""


class Conflict(StorageError):
    """A uniqueness claim lost: `field` names what was taken (e.g. "username")."""

    def __init__(self, field: str, message: str | None = None) -> None:
        super().__init__(message or f"{field} is already taken")
        self.field = field


class Unavailable(StorageError):
    """The engine could not be reached or did not answer in time."""
